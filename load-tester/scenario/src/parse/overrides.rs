//! Values put over the file's (from the CLI or the API): checked on their own and reported against
//! the source `overrides`, applied to a validated scenario, and live weight updates.

use std::collections::BTreeMap;

use super::endpoints::MAX_WEIGHT;
use super::load::ramp_problem;
use super::reader::{Pos, Reader, shorten};
use super::suggest;
use super::url::{Rest, check_http_url};
use crate::duration::format_duration;
use crate::{Diagnostic, Diagnostics, Overrides, Scenario};

/// The source name of override problems.
pub(crate) const SOURCE: &str = "overrides";

const NOWHERE: Pos = Pos { line: 0, column: 0 };

/// The overrides that are valid on their own; problems with the others are recorded in `r`.
pub(crate) fn check(r: &mut Reader, o: &Overrides) -> Overrides {
    let mut valid = Overrides::default();
    if let Some(target) = &o.target {
        match check_http_url(target.trim(), Rest::BaseOnly) {
            Ok(url) => valid.target = Some(url),
            Err(message) => r.error(NOWHERE, "overrides.target", message),
        }
    }
    match o.users {
        Some(0) => r.error(
            NOWHERE,
            "overrides.users",
            "users must be at least 1, got `0`",
        ),
        users => valid.users = users,
    }
    match o.duration {
        Some(d) if d.is_zero() => r.error(
            NOWHERE,
            "overrides.duration",
            "duration must be longer than 0, got `0s`",
        ),
        duration => valid.duration = duration,
    }
    valid.ramp_up = o.ramp_up;
    match o.think_time {
        Some(t) if t.min > t.max => r.error(
            NOWHERE,
            "overrides.think_time",
            format!(
                "min (`{}`) is greater than max (`{}`)",
                format_duration(t.min),
                format_duration(t.max)
            ),
        ),
        think_time => valid.think_time = think_time,
    }
    match o.arrival_rate {
        Some(a) if !(a.is_finite() && a > 0.0) => r.error(
            NOWHERE,
            "overrides.arrival_rate",
            format!("arrival_rate must be a number above 0, got `{a}`"),
        ),
        arrival_rate => valid.arrival_rate = arrival_rate,
    }
    match o.generators {
        Some(g) if !(1..=crate::MAX_GENERATORS).contains(&g) => r.error(
            NOWHERE,
            "overrides.generators",
            format!(
                "generators must be from 1 to {}, got `{g}`",
                crate::MAX_GENERATORS
            ),
        ),
        generators => valid.generators = generators,
    }
    if let Some(weights) = &o.weights {
        let mut ok = BTreeMap::new();
        for (name, &weight) in weights {
            match weight_problem(name, weight) {
                Some(message) => r.error(NOWHERE, &format!("overrides.weights.{name}"), message),
                None => {
                    ok.insert(name.clone(), weight);
                }
            }
        }
        valid.weights = Some(ok);
    }
    valid
}

/// Reports override weights for endpoints the scenario does not have.
pub(crate) fn check_names<'a>(
    r: &mut Reader,
    names: impl IntoIterator<Item = &'a String>,
    endpoints: &[String],
) {
    for name in names {
        if !endpoints.contains(name) {
            r.error(
                NOWHERE,
                &format!("overrides.weights.{name}"),
                unknown_endpoint(name, endpoints),
            );
        }
    }
}

fn unknown_endpoint(name: &str, endpoints: &[String]) -> String {
    format!(
        "unknown endpoint `{}`{}",
        shorten(name),
        suggest::did_you_mean(name, endpoints.iter().map(String::as_str))
    )
}

fn weight_problem(name: &str, weight: f64) -> Option<String> {
    (!(weight.is_finite() && (0.0..=MAX_WEIGHT).contains(&weight))).then(|| {
        format!(
            "weight of `{}` must be a number from 0 to {MAX_WEIGHT}, got `{weight}`",
            shorten(name)
        )
    })
}

/// Puts overrides over a validated scenario and checks the result.
pub fn apply_overrides(s: &Scenario, o: &Overrides) -> Result<Scenario, Diagnostics> {
    let mut r = Reader::new(SOURCE);
    let valid = check(&mut r, o);
    let mut out = s.clone();
    if let Some(target) = valid.target {
        out.target = target;
    }
    if let Some(users) = valid.users {
        out.load.users = users;
        out.load.max_users = out.load.max_users.max(users);
    }
    if let Some(ramp_up) = valid.ramp_up {
        out.load.ramp = super::load::ramp_of(ramp_up);
    }
    if let Some(duration) = valid.duration {
        let file_duration = out.load.duration;
        out.load.duration = duration;
        if valid.ramp_up.is_none() {
            super::load::fit_profile(&mut out.load, file_duration);
        }
    }
    if let Some(think_time) = valid.think_time {
        out.load.think_time = think_time;
    }
    if let Some(arrival_rate) = valid.arrival_rate {
        out.load.arrival_rate = Some(arrival_rate);
    }
    if let Some(generators) = valid.generators {
        out.load.generators = generators;
    }
    if out.load.generators > out.load.max_users {
        let blame = if valid.generators.is_some() {
            "overrides.generators"
        } else {
            "overrides.users"
        };
        r.error(
            NOWHERE,
            blame,
            format!(
                "generators (`{}`) is more than max_users (`{}`): every generator needs at \
                 least one user",
                out.load.generators, out.load.max_users
            ),
        );
    }
    if let Some(weights) = &valid.weights {
        let names: Vec<String> = out.choices().iter().map(|(n, _)| n.to_string()).collect();
        check_names(&mut r, weights.keys(), &names);
        for endpoint in &mut out.endpoints {
            if let Some(&w) = weights.get(&endpoint.name) {
                endpoint.weight = w;
            }
        }
        for flow in &mut out.flows {
            if let Some(&w) = weights.get(&flow.name) {
                flow.weight = w;
            }
        }
        if out.choices().iter().all(|(_, w)| *w == 0.0) {
            r.error(
                NOWHERE,
                "overrides.weights",
                "all endpoint weights would be zero; at least one must be above 0",
            );
        }
    }
    let blame = if o.ramp_up.is_some() {
        "overrides.ramp_up"
    } else if o.duration.is_some() {
        "overrides.duration"
    } else {
        "overrides.users"
    };
    if let Some(problem) = ramp_problem(out.load.ramp, out.load.users, out.load.duration) {
        r.error(NOWHERE, blame, problem);
    }
    let stages = out
        .load
        .stages
        .iter()
        .fold(std::time::Duration::ZERO, |sum, s| {
            sum.saturating_add(s.duration)
        });
    if stages > out.load.duration {
        r.error(
            NOWHERE,
            "overrides.duration",
            format!(
                "the stages add up to {}, longer than duration (`{}`)",
                format_duration(stages),
                format_duration(out.load.duration)
            ),
        );
    }
    if r.diags.is_empty() {
        Ok(out)
    } else {
        Err(Diagnostics(r.diags))
    }
}

/// Checks a live weights update: every name must be an endpoint or a flow, every weight a finite
/// number from 0, and the weights after the update must not all be zero.
pub fn check_weights(s: &Scenario, weights: &BTreeMap<String, f64>) -> Result<(), Vec<String>> {
    check_weights_against(&s.choices(), weights)
}

/// Checks new weights against the endpoints' names and current weights, in scenario order.
pub fn check_weights_against(
    current: &[(&str, f64)],
    weights: &BTreeMap<String, f64>,
) -> Result<(), Vec<String>> {
    let names: Vec<String> = current.iter().map(|(n, _)| n.to_string()).collect();
    let mut errors = Vec::new();
    for (name, &weight) in weights {
        if !names.contains(name) {
            errors.push(format!(
                "{} (weight `{weight}`)",
                unknown_endpoint(name, &names)
            ));
        } else if let Some(message) = weight_problem(name, weight) {
            errors.push(message);
        }
    }
    if errors.is_empty()
        && !current.is_empty()
        && current
            .iter()
            .all(|(name, w)| weights.get(*name).copied().unwrap_or(*w) == 0.0)
    {
        let set: Vec<String> = weights
            .iter()
            .map(|(name, w)| format!("`{}` to {w}", shorten(name)))
            .collect();
        errors.push(format!(
            "setting {} would make all endpoint weights zero; at least one must be above 0",
            set.join(", ")
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Diagnostics of a file, in file order, then those of the overrides.
pub(crate) fn merge(mut file: Vec<Diagnostic>, overrides: Vec<Diagnostic>) -> Vec<Diagnostic> {
    file.sort_by_key(|d| (d.line, d.column));
    file.extend(overrides);
    file
}
