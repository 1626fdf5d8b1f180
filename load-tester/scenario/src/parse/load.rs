//! The `load` section: users, ramp, duration, think time, rates and stages, and the checks that
//! tie them together (ramp shorter than the run, stages within it, `max_users` above `users`).

use std::time::Duration;

use super::limits;
use super::reader::{Item, Map, Pos, Reader, describe, items};
use crate::duration::format_duration;
use crate::{DEFAULT_DURATION, DEFAULT_USERS, Load, Overrides, Ramp, Stage, ThinkTime};

const FIELDS: &[&str] = &[
    "users",
    "max_users",
    "ramp_up",
    "increase_rate",
    "duration",
    "think_time",
    "arrival_rate",
    "rate",
    "stages",
    "generators",
    limits::FIELDS[0],
    limits::FIELDS[1],
    limits::FIELDS[2],
];

/// Reads the `load` section (absent: all defaults), with the overrides put over it; problems of
/// an override with the file go to `or`.
pub(crate) fn read(
    r: &mut Reader,
    or: &mut Reader,
    item: Option<Item<'_>>,
    o: &Overrides,
) -> Option<Load> {
    let errors_before = r.count();
    let map = match item.filter(|i| !i.is_null()) {
        Some(i) => Some(r.map(&i, FIELDS)?),
        None => None,
    };
    let field = |name: &str| map.as_ref().and_then(|m| m.value(name));

    let users = match (o.users, field("users")) {
        (Some(u), _) => Some(u),
        (None, Some(i)) => r.u32_min(&i, 1),
        (None, None) => Some(DEFAULT_USERS),
    };
    let max_users_item = field("max_users");
    let max_users = match &max_users_item {
        Some(i) => r.u32_min(i, 1).map(Some),
        None => Some(None),
    };
    let ramp = match o.ramp_up {
        Some(d) => Some(ramp_of(d)),
        None => read_ramp(r, map.as_ref()),
    };
    let file_duration = match field("duration") {
        Some(i) => r.positive_duration(&i),
        None => Some(DEFAULT_DURATION),
    };
    let duration = o.duration.or(file_duration);
    let think_time = match (o.think_time, field("think_time")) {
        (Some(t), _) => Some(t),
        (None, Some(i)) => read_think_time(r, &i),
        (None, None) => Some(ThinkTime::default()),
    };
    let arrival_rate = match (o.arrival_rate, field("arrival_rate")) {
        (Some(a), _) => Some(Some(a)),
        (None, Some(i)) => r.positive(&i).map(Some),
        (None, None) => Some(None),
    };
    let rate = match field("rate") {
        Some(i) => r.positive(&i).map(Some),
        None => Some(None),
    };
    let arrival_max_wait = limits::arrival_max_wait(r, map.as_ref());
    let limits = limits::read(r, map.as_ref());
    let generators_item = field("generators");
    let generators = match (o.generators, &generators_item) {
        (Some(g), _) => Some(g),
        (None, Some(i)) => r
            .int_in(i, 1, i128::from(crate::MAX_GENERATORS))
            .and_then(|g| u32::try_from(g).ok()),
        (None, None) => Some(1),
    };
    let stages_item = field("stages");
    let stages = match &stages_item {
        Some(i) => read_stages(r, i),
        None => Some(Vec::new()),
    };

    // Cross-field checks, on the values that could be read.
    let (users, max_users, ramp, duration, stages, generators) =
        (users?, max_users?, ramp?, duration?, stages?, generators?);
    // A shorter run asked for on the command line or over the API keeps the file's shape: its
    // ramp and stages shrink with it (unless the ramp was given too), and the load says so.
    let mut load = Load {
        users,
        max_users: 0,
        ramp,
        duration,
        think_time: ThinkTime::default(),
        arrival_rate: None,
        rate: None,
        stages,
        scaled: None,
        arrival_max_wait: crate::DEFAULT_ARRIVAL_MAX_WAIT,
        limits: crate::GeneratorLimits::default(),
        generators,
    };
    if o.duration.is_some()
        && o.ramp_up.is_none()
        && let Some(file_duration) = file_duration
    {
        fit_profile(&mut load, file_duration);
    }
    let Load {
        ramp,
        stages,
        scaled,
        ..
    } = load;
    let largest_stage = stages.iter().map(|s| s.users).max().unwrap_or(0);
    let max_users = match (max_users, &max_users_item) {
        (Some(m), Some(i)) => {
            if o.users.is_some_and(|u| u > m) {
                // An override may ask for more users than the file planned for.
                m.max(users)
            } else {
                if m < users {
                    r.error_at(
                        i,
                        format!(
                            "max_users ({}) is less than users (`{users}`)",
                            describe(i.node)
                        ),
                    );
                }
                m
            }
        }
        _ => users.max(largest_stage),
    };
    if let Some(i) = &stages_item
        && let marked_yaml::Node::Sequence(seq) = i.node
    {
        for (stage, stage_item) in stages.iter().zip(items(seq, &i.path)) {
            if stage.users > max_users
                && let Some(m) = node_map(&stage_item)
                && let Some(u) = m.value("users")
            {
                r.error_at(
                    &u,
                    format!(
                        "users (`{}`) is above max_users (`{max_users}`)",
                        stage.users
                    ),
                );
            }
        }
        let total = stages
            .iter()
            .fold(Duration::ZERO, |sum, s| sum.saturating_add(s.duration));
        if total > duration {
            r.error_at(
                i,
                format!(
                    "the stages add up to {}, longer than duration (`{}`)",
                    format_duration(total),
                    format_duration(duration)
                ),
            );
        }
    }
    // Each generator runs at least one user: its share of max_users.
    if generators > max_users
        && o.generators.is_none()
        && let Some(i) = &generators_item
    {
        r.error_at(
            i,
            format!(
                "generators (`{generators}`) is more than max_users (`{max_users}`): every \
                 generator needs at least one user"
            ),
        );
    }
    if let Some(problem) = ramp_problem(ramp, users, duration) {
        let ramp_item = field("ramp_up").or_else(|| field("increase_rate"));
        match ramp_item {
            _ if o.ramp_up.is_some() => {
                or.error(Pos { line: 0, column: 0 }, "overrides.ramp_up", problem);
                return None;
            }
            Some(i) => r.error_at(&i, problem),
            None => {}
        }
    }
    if r.count() > errors_before {
        return None;
    }
    Some(Load {
        users,
        max_users,
        ramp,
        duration,
        think_time: think_time?,
        arrival_rate: arrival_rate?,
        rate: rate?,
        stages,
        scaled,
        arrival_max_wait: arrival_max_wait?,
        limits: limits?,
        generators,
    })
}

/// The ramp a `ramp_up` override asks for.
pub(crate) fn ramp_of(ramp_up: Duration) -> Ramp {
    if ramp_up.is_zero() {
        Ramp::Immediate
    } else {
        Ramp::Over(ramp_up)
    }
}

/// When `load.duration` (an override) is shorter than the file's and the ramp or the stages no
/// longer fit in it, scales them by the same factor so the run keeps its shape, and says so in
/// `load.scaled`.
pub(crate) fn fit_profile(load: &mut Load, file_duration: Duration) {
    let stages_total = load
        .stages
        .iter()
        .fold(Duration::ZERO, |sum, s| sum.saturating_add(s.duration));
    let fits = ramp_problem(load.ramp, load.users, load.duration).is_none()
        && stages_total <= load.duration;
    if fits || file_duration.is_zero() || load.duration >= file_duration {
        return;
    }
    let factor = load.duration.as_secs_f64() / file_duration.as_secs_f64();
    let mut said = Vec::new();
    let scale = |d: Duration| Duration::from_millis((d.as_millis() as f64 * factor).round() as u64);
    match load.ramp {
        Ramp::Over(d) => {
            let new = scale(d);
            said.push(format!(
                "ramp_up {} → {}",
                format_duration(d),
                format_duration(new)
            ));
            load.ramp = ramp_of(new);
        }
        Ramp::Rate(rate) => {
            let new = rate / factor;
            said.push(format!("increase_rate {rate} → {new:.3} users/s"));
            load.ramp = Ramp::Rate(new);
        }
        Ramp::Immediate => {}
    }
    if !load.stages.is_empty() {
        let old: Vec<String> = load
            .stages
            .iter()
            .map(|s| format_duration(s.duration))
            .collect();
        for stage in &mut load.stages {
            stage.duration = scale(stage.duration).max(Duration::from_millis(1));
        }
        let new: Vec<String> = load
            .stages
            .iter()
            .map(|s| format_duration(s.duration))
            .collect();
        said.push(format!("stages {} → {}", old.join(" + "), new.join(" + ")));
    }
    load.scaled = Some(format!(
        "duration {} → {} scaled the profile by {:.3}: {}",
        format_duration(file_duration),
        format_duration(load.duration),
        factor,
        said.join("; ")
    ));
}

/// Why a ramp does not fit in the run, if it does not.
pub(crate) fn ramp_problem(ramp: Ramp, users: u32, duration: Duration) -> Option<String> {
    let limit = format_duration(duration);
    match ramp {
        Ramp::Immediate => None,
        Ramp::Over(d) if d >= duration => Some(format!(
            "ramp_up (`{}`) must be shorter than duration (`{limit}`)",
            format_duration(d)
        )),
        Ramp::Over(_) => None,
        Ramp::Rate(rate) => {
            let seconds = f64::from(users) / rate;
            if !seconds.is_finite() || seconds >= duration.as_secs_f64() {
                let takes = if seconds.is_finite() && seconds < 1e9 {
                    format_duration(Duration::from_secs_f64(seconds))
                } else {
                    "forever".to_string()
                };
                Some(format!(
                    "starting {users} users at {rate} per second takes {takes}, which is not shorter than duration (`{limit}`)"
                ))
            } else {
                None
            }
        }
    }
}

/// `ramp_up` or `increase_rate`, not both; neither is [`Ramp::Immediate`].
fn read_ramp(r: &mut Reader, map: Option<&Map<'_>>) -> Option<Ramp> {
    let Some(map) = map else {
        return Some(Ramp::Immediate);
    };
    match (map.value("ramp_up"), map.value("increase_rate")) {
        (Some(a), Some(b)) => {
            let later = if b.pos > a.pos { b } else { a };
            r.error_at(&later, "set either `ramp_up` or `increase_rate`, not both");
            None
        }
        (Some(i), None) => {
            let d = r.duration(&i)?;
            Some(if d.is_zero() {
                Ramp::Immediate
            } else {
                Ramp::Over(d)
            })
        }
        (None, Some(i)) => r.positive(&i).map(Ramp::Rate),
        (None, None) => Some(Ramp::Immediate),
    }
}

/// `{ min, max }` (either defaults), or one duration for both.
pub(crate) fn read_think_time(r: &mut Reader, item: &Item<'_>) -> Option<ThinkTime> {
    if !matches!(item.node, marked_yaml::Node::Mapping(_)) {
        let d = r.duration(item)?;
        return Some(ThinkTime { min: d, max: d });
    }
    let map = r.map(item, &["min", "max"])?;
    let min_item = map.value("min");
    let max_item = map.value("max");
    let min = match &min_item {
        Some(i) => r.duration(i),
        None => Some(ThinkTime::default().min),
    };
    let max = match &max_item {
        Some(i) => r.duration(i),
        None => Some(ThinkTime::default().max),
    };
    let (min, max) = (min?, max?);
    if min > max {
        let (min_text, max_text) = (format_duration(min), format_duration(max));
        match (&min_item, &max_item) {
            (Some(i), Some(_)) => r.error_at(
                i,
                format!("min (`{min_text}`) is greater than max (`{max_text}`)"),
            ),
            (Some(i), None) => r.error_at(
                i,
                format!(
                    "min (`{min_text}`) is greater than the default max (`{max_text}`); set max too"
                ),
            ),
            (None, Some(i)) => r.error_at(
                i,
                format!(
                    "max (`{max_text}`) is less than the default min (`{min_text}`); set min too"
                ),
            ),
            (None, None) => {}
        }
        return None;
    }
    Some(ThinkTime { min, max })
}

fn read_stages(r: &mut Reader, item: &Item<'_>) -> Option<Vec<Stage>> {
    let seq = r.seq(item)?;
    let mut stages = Some(Vec::with_capacity(seq.len()));
    for stage_item in seq {
        let stage = read_stage(r, &stage_item);
        stages = stages.zip(stage).map(|(mut v, s)| {
            v.push(s);
            v
        });
    }
    stages
}

fn read_stage(r: &mut Reader, item: &Item<'_>) -> Option<Stage> {
    let map = r.map(item, &["users", "duration"])?;
    let users = match map.value("users") {
        Some(i) => r.u32_min(&i, 1),
        None => {
            r.error(map.pos, &map.path, "missing required field `users`");
            None
        }
    };
    let duration = match map.value("duration") {
        Some(i) => r.positive_duration(&i),
        None => {
            r.error(map.pos, &map.path, "missing required field `duration`");
            None
        }
    };
    Some(Stage {
        users: users?,
        duration: duration?,
    })
}

/// The item as a mapping, without reporting anything (already reported when read).
fn node_map<'n>(item: &Item<'n>) -> Option<Map<'n>> {
    match item.node {
        marked_yaml::Node::Mapping(node) => Some(Map {
            node,
            pos: item.pos,
            path: item.path.clone(),
        }),
        _ => None,
    }
}
