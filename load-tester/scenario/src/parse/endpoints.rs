//! The `endpoints` list: each request's name and weight, and its request fields (read by
//! [`super::request`]); names unique. Whether some weight is above zero is judged with the flows.

use std::collections::{BTreeMap, HashMap};

use super::reader::{Item, Map, Reader, shorten};
use super::request::{self, Context, REQUEST_FIELDS};
use crate::Endpoint;

const FIELDS: &[&str] = &["name", "weight", "description"];

/// The largest weight; keeps the sum of all weights finite.
pub(crate) const MAX_WEIGHT: f64 = 1e9;

/// What was read: the endpoints if all are valid, every name that could be read (for checking
/// names elsewhere even when some endpoint has a problem), and whether every weight read is 0.
#[derive(Debug, Default)]
pub(crate) struct Endpoints {
    pub list: Option<Vec<Endpoint>>,
    pub names: Vec<String>,
    pub all_zero: bool,
    /// Where the list is, for a message about all weights.
    pub at: Option<(super::reader::Pos, String)>,
}

/// Reads the `endpoints` field of the top-level mapping; `weights` (from overrides) replace the
/// file's weights of the endpoints they name. Without `flows`, the list is required.
pub(crate) fn read(
    r: &mut Reader,
    top: &Map<'_>,
    weights: Option<&BTreeMap<String, f64>>,
    cx: &mut Context<'_, '_>,
) -> Endpoints {
    let has_flows = top.value("flows").is_some();
    let Some(item) = top.get("endpoints") else {
        if has_flows {
            return Endpoints {
                list: Some(Vec::new()),
                all_zero: true,
                ..Endpoints::default()
            };
        }
        r.error(
            top.pos,
            &top.path,
            "missing required field `endpoints` (or `flows`)",
        );
        return Endpoints::default();
    };
    if item.is_null() && has_flows {
        return Endpoints {
            list: Some(Vec::new()),
            all_zero: true,
            ..Endpoints::default()
        };
    }
    if item.is_null() {
        r.error_at(&item, "`endpoints` is empty; list at least one endpoint");
        return Endpoints::default();
    }
    let Some(seq) = r.seq(&item) else {
        return Endpoints::default();
    };
    if seq.is_empty() && !has_flows {
        r.error_at(&item, "`endpoints` is empty; list at least one endpoint");
        return Endpoints::default();
    }
    let mut list = Some(Vec::with_capacity(seq.len()));
    let mut names = Vec::with_capacity(seq.len());
    let mut first_line: HashMap<String, usize> = HashMap::new();
    // The weights that could be read, to tell "all zero" even when other fields are wrong.
    let mut all_zero = true;
    for endpoint_item in &seq {
        let mut weight = None;
        let endpoint = read_one(
            r,
            endpoint_item,
            weights,
            &mut first_line,
            &mut names,
            &mut weight,
            cx,
        );
        all_zero &= weight == Some(0.0);
        list = list.zip(endpoint).map(|(mut v, e)| {
            v.push(e);
            v
        });
    }
    Endpoints {
        list,
        names,
        all_zero,
        at: Some((item.pos, item.path.clone())),
    }
}

fn read_one(
    r: &mut Reader,
    item: &Item<'_>,
    weights: Option<&BTreeMap<String, f64>>,
    first_line: &mut HashMap<String, usize>,
    names: &mut Vec<String>,
    weight_read: &mut Option<f64>,
    cx: &mut Context<'_, '_>,
) -> Option<Endpoint> {
    let fields: Vec<&str> = FIELDS.iter().chain(REQUEST_FIELDS).copied().collect();
    let map = r.map(item, &fields)?;
    let name = match map.get("name") {
        None => {
            r.error(map.pos, &map.path, "missing required field `name`");
            None
        }
        Some(i) => r.nonempty_text(&i).and_then(|name| {
            if let Some(line) = first_line.get(&name) {
                r.error_at(
                    &i,
                    format!(
                        "duplicate endpoint name `{}` (first defined at line {line})",
                        shorten(&name)
                    ),
                );
                None
            } else {
                first_line.insert(name.clone(), i.pos.line);
                names.push(name.clone());
                Some(name)
            }
        }),
    };
    let override_weight = name
        .as_ref()
        .and_then(|n| weights.and_then(|w| w.get(n)).copied());
    let weight = match (override_weight, map.value("weight")) {
        (Some(w), _) => Some(w),
        (None, Some(i)) => r.number_in(&i, 0.0, false, MAX_WEIGHT, false),
        (None, None) => Some(1.0),
    };
    *weight_read = weight;
    request::read(r, &map, name, weight, cx)
}
