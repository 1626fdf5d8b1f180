//! The top level of a scenario file: `name`, `description`, `target` and the sections, each read
//! by its own module, plus the small `tracing` section.

use std::time::Duration;

use super::reader::{Item, Map, Reader};
use super::url::{Rest, check_http_url};
use super::{endpoints, latency, load, overrides, protection, thresholds, user_ids};
use crate::env::Env;
use crate::{Overrides, Scenario, TracingOptions};

const FIELDS: &[&str] = &[
    "name",
    "description",
    "target",
    "load",
    "endpoints",
    "protection",
    "thresholds",
    "user_ids",
    "tracing",
    "latency",
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
    env: &Env,
) -> Option<Scenario> {
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
    let endpoints = endpoints::read(r, &map, o.weights.as_ref());
    if let Some(weights) = &o.weights
        && !endpoints.names.is_empty()
    {
        overrides::check_names(or, weights.keys(), &endpoints.names);
    }
    let protection = protection::read(r, map.get("protection"));
    // Without any endpoint names (none could be read) a rule's endpoint cannot be checked.
    let names = (!endpoints.names.is_empty()).then_some(endpoints.names.as_slice());
    let thresholds = thresholds::read(r, map.get("thresholds"), names);
    let user_ids = user_ids::read(r, map.get("user_ids"));
    let tracing = tracing(r, &map);
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
        protection: protection?,
        thresholds: thresholds?,
        user_ids: user_ids?,
        tracing: tracing?,
        latency: latency?,
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
