//! The top level of a scenario file: `name`, `description`, `target` and the sections, each read
//! by its own module, plus the small `tracing` section.

use std::time::Duration;

use super::reader::{Item, Map, Reader};
use super::request::Context;
use super::templates::{EnvUsed, Scope};
use super::url::{Rest, check_http_url};
use super::{
    Inputs, data, endpoints, flows, latency, load, overrides, protection, thresholds, tls, user_ids,
};
use crate::{EnvValues, Overrides, Scenario, TracingOptions};

const FIELDS: &[&str] = &[
    "name",
    "description",
    "target",
    "load",
    "data",
    "cookies",
    "endpoints",
    "flows",
    "protection",
    "thresholds",
    "user_ids",
    "tracing",
    "latency",
    "tls",
];

/// The message for a scenario without a target.
const MISSING_TARGET: &str = "missing; set it in the file, with --target or TARGET_APP_URL";

/// Reads and checks a whole scenario; `o` holds overrides that are valid on their own, and
/// problems of the overrides with this file (weights of unknown endpoints) go to `or`.
pub(crate) fn read(
    r: &mut Reader,
    or: &mut Reader,
    root: &Item<'_>,
    o: &Overrides,
    inputs: &Inputs<'_>,
) -> Option<Scenario> {
    let env = inputs.env;
    let errors_before = r.count();
    let map = r.map(root, FIELDS)?;
    let name = match map.get("name") {
        None => {
            r.error(map.pos, &map.path, "missing required field `name`");
            None
        }
        Some(i) => r.nonempty_text(&i),
    };
    let description = match map.value("description") {
        Some(i) => r.text(&i).map(Some),
        None => Some(None),
    };
    let target = match (&o.target, map.value("target")) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(i)) => r.text(&i).and_then(|t| {
            let url = crate::env::expand(t.trim(), env)
                .and_then(|t| check_http_url(t.trim(), Rest::BaseOnly));
            match url {
                Ok(url) => Some(url),
                Err(message) => {
                    r.error_at(&i, message);
                    None
                }
            }
        }),
        (None, None) => {
            let pos = map.get("target").map_or(map.pos, |i| i.pos);
            r.error(pos, "target", MISSING_TARGET);
            None
        }
    };
    let load = load::read(r, or, map.get("load"), o);
    let data = data::read(r, &map, inputs.files);
    let cookies = match map.value("cookies") {
        Some(i) => r.bool(&i),
        None => Some(false),
    };
    let scope = Scope {
        captures: &[],
        columns: data.columns(),
        data_broken: data.broken,
        env,
    };
    let mut used = EnvUsed::default();
    let endpoints = {
        let mut cx = Context {
            scope: &scope,
            used: &mut used,
        };
        endpoints::read(r, &map, o.weights.as_ref(), &mut cx)
    };
    let flows = flows::read(
        r,
        &map,
        &flows::Known {
            endpoint_names: &endpoints.names,
            endpoints: endpoints.list.as_deref(),
            weights: o.weights.as_ref(),
        },
        &scope,
        &mut used,
    );
    if endpoints.all_zero && flows.all_zero {
        let message = if flows.names.is_empty() {
            "all endpoint weights are zero; at least one must be above 0"
        } else {
            "all endpoint and flow weights are zero; at least one must be above 0"
        };
        match &endpoints.at {
            Some((pos, path)) => r.error(*pos, path, message),
            None => r.error(map.pos, "flows", message),
        }
    }
    let choices: Vec<String> = endpoints
        .names
        .iter()
        .chain(&flows.names)
        .cloned()
        .collect();
    if let Some(weights) = &o.weights
        && !choices.is_empty()
    {
        overrides::check_names(or, weights.keys(), &choices);
    }
    let protection = protection::read(r, map.get("protection"));
    // Without any names (none could be read) a rule's endpoint cannot be checked.
    let requests: Vec<String> = endpoints.names.iter().chain(&flows.rows).cloned().collect();
    let names = (!requests.is_empty()).then_some(thresholds::Names {
        requests: &requests,
        flows: &flows.names,
    });
    let thresholds = thresholds::read(r, map.get("thresholds"), names.as_ref());
    let user_ids = user_ids::read(r, map.get("user_ids"));
    let tracing = tracing(r, &map);
    let tls = tls::read(r, &map, inputs.files);
    let latency = latency::read(r, map.get("latency"));
    if let (Some(l), Some(o), Some(i)) = (&load, &latency, map.value("latency"))
        && l.arrival_rate.is_some()
        && o.correction.is_on()
    {
        r.error_at(
            &i,
            "the open model (arrival_rate) already measures from each arrival's intended send \
             time; latency.correction is for the closed model",
        );
    }
    if r.count() > errors_before {
        return None;
    }
    Some(Scenario {
        name: name?,
        description: description?,
        target: target?,
        load: load?,
        endpoints: endpoints.list?,
        flows: flows.list?,
        data: data.spec?,
        cookies: cookies?,
        protection: protection?,
        thresholds: thresholds?,
        user_ids: user_ids?,
        tracing: tracing?,
        env: EnvValues(used),
        latency: latency?,
        tls: tls?,
    })
}

/// `tracing: { enabled, slow }`, or just `true`/`false`.
fn tracing(r: &mut Reader, top: &Map<'_>) -> Option<TracingOptions> {
    let defaults = TracingOptions::default();
    let Some(item) = top.value("tracing") else {
        return Some(defaults);
    };
    if !matches!(item.node, marked_yaml::Node::Mapping(_)) {
        let enabled = r.bool(&item)?;
        return Some(TracingOptions {
            enabled,
            ..defaults
        });
    }
    let map = r.map(&item, &["enabled", "slow"])?;
    let enabled = match map.value("enabled") {
        Some(i) => r.bool(&i),
        None => Some(defaults.enabled),
    };
    let slow: Option<Duration> = match map.value("slow") {
        Some(i) => r.duration(&i),
        None => Some(defaults.slow),
    };
    Some(TracingOptions {
        enabled: enabled?,
        slow: slow?,
    })
}
