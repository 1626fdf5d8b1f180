//! The `user_ids` section: a range or list of ids sent with each request, in a header and/or a
//! JSON body field.

use marked_yaml::Node;

use super::reader::{Item, Reader, Scalar, describe, items, scalar, shorten};
use crate::{DEFAULT_USER_ID_HEADER, UserIdSource, UserIds};

const FIELDS: &[&str] = &["from", "to", "list", "header", "json_field"];

/// Reads `user_ids`; absent, no ids are sent.
pub(crate) fn read(r: &mut Reader, item: Option<Item<'_>>) -> Option<Option<UserIds>> {
    let Some(item) = item.filter(|i| !i.is_null()) else {
        return Some(None);
    };
    if let Node::Sequence(seq) = item.node {
        let ids = list(r, &item, &items(seq, &item.path))?;
        return Some(Some(UserIds {
            ids,
            header: Some(DEFAULT_USER_ID_HEADER.to_string()),
            json_field: None,
        }));
    }
    let map = r.map(&item, FIELDS)?;
    let from = map.value("from");
    let to = map.value("to");
    let ids = match (map.value("list"), &from, &to) {
        (Some(l), None, None) => {
            let seq = r.seq(&l)?;
            list(r, &l, &seq)
        }
        (Some(l), _, _) => {
            r.error_at(&l, "set either `from`/`to` or `list`, not both");
            None
        }
        (None, Some(f), Some(t)) => {
            let (from, to) = (r.u64_min(f, 0), r.u64_min(t, 0));
            match (from, to) {
                (Some(a), Some(b)) if a > b => {
                    r.error_at(f, format!("from (`{a}`) is greater than to (`{b}`)"));
                    None
                }
                (Some(0), Some(u64::MAX)) => {
                    r.error_at(t, format!("the range 0..={} is too large", u64::MAX));
                    None
                }
                (Some(from), Some(to)) => Some(UserIdSource::Range { from, to }),
                _ => None,
            }
        }
        (None, Some(_), None) => {
            r.error(map.pos, &map.path, "missing required field `to`");
            None
        }
        (None, None, Some(_)) => {
            r.error(map.pos, &map.path, "missing required field `from`");
            None
        }
        (None, None, None) => {
            r.error(
                map.pos,
                &map.path,
                "missing the ids: set `from` and `to`, or `list`",
            );
            None
        }
    };
    let header = match map.value("header") {
        None => Some(Some(DEFAULT_USER_ID_HEADER.to_string())),
        Some(i) if matches!(i.node, Node::Scalar(s) if s.as_str().eq_ignore_ascii_case("off") || scalar(s) == Scalar::Bool(false)) => {
            Some(None)
        }
        Some(i) => r.nonempty_text(&i).and_then(|h| {
            let valid = h
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if valid {
                Some(Some(h))
            } else {
                r.error_at(&i, format!("`{}` is not a valid header name", shorten(&h)));
                None
            }
        }),
    };
    let json_field = match map.value("json_field") {
        None => Some(None),
        Some(i) => r.nonempty_text(&i).map(Some),
    };
    Some(Some(UserIds {
        ids: ids?,
        header: header?,
        json_field: json_field?,
    }))
}

fn list(r: &mut Reader, item: &Item<'_>, seq: &[Item<'_>]) -> Option<UserIdSource> {
    if seq.is_empty() {
        r.error_at(item, "the list of user ids is empty");
        return None;
    }
    let mut ids = Some(Vec::with_capacity(seq.len()));
    for id_item in seq {
        let id = match id_item.node {
            Node::Scalar(s) if scalar(s) != Scalar::Null && !s.as_str().is_empty() => {
                Some(s.as_str().to_string())
            }
            node => {
                r.error_at(
                    id_item,
                    format!("expected a user id, got {}", describe(node)),
                );
                None
            }
        };
        ids = ids.zip(id).map(|(mut v, i)| {
            v.push(i);
            v
        });
    }
    ids.map(UserIdSource::List)
}
