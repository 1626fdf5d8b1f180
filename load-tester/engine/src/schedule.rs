//! How many users the scenario asks for at a moment: the ramp, then the stages.
//!
//! The ramp brings users from one to `load.users`; each stage then moves linearly from the
//! previous level to its `users` over its `duration` (as Goose's test plans and k6's stages do);
//! after the last stage its level holds. A live "set users" replaces the schedule.

use std::time::Duration;

use lt_scenario::{Load, Ramp};

/// The users wanted `elapsed` into the run.
pub fn target_users(load: &Load, elapsed: Duration) -> u32 {
    let users = load.users;
    let ramp_time = load.ramp.time_for(users);
    if elapsed < ramp_time {
        let ramped = match load.ramp {
            Ramp::Immediate => users,
            Ramp::Over(d) => (f64::from(users) * elapsed.as_secs_f64() / d.as_secs_f64().max(1e-9))
                .floor() as u32,
            Ramp::Rate(r) => (r * elapsed.as_secs_f64()).floor() as u32,
        };
        return ramped.clamp(1, users);
    }
    let mut level = users;
    let mut stage_start = ramp_time;
    for stage in &load.stages {
        let into = elapsed.saturating_sub(stage_start);
        if into < stage.duration {
            let progress = into.as_secs_f64() / stage.duration.as_secs_f64().max(1e-9);
            let from = f64::from(level);
            let to = f64::from(stage.users);
            return (from + (to - from) * progress).round().max(1.0) as u32;
        }
        level = stage.users;
        stage_start += stage.duration;
    }
    level
}

#[cfg(test)]
mod tests {
    use super::*;
    use lt_scenario::{Stage, ThinkTime};

    fn load(ramp: Ramp, stages: Vec<Stage>) -> Load {
        Load {
            users: 10,
            max_users: 20,
            ramp,
            duration: Duration::from_secs(600),
            think_time: ThinkTime::default(),
            arrival_rate: None,
            rate: None,
            stages,
            scaled: None,
            arrival_max_wait: lt_scenario::DEFAULT_ARRIVAL_MAX_WAIT,
            limits: Default::default(),
            generators: 1,
        }
    }

    #[test]
    fn ramps_then_follows_stages() {
        let s = |secs: f64| Duration::from_secs_f64(secs);
        let l = load(
            Ramp::Over(s(10.0)),
            vec![Stage {
                users: 20,
                duration: s(10.0),
            }],
        );
        assert_eq!(target_users(&l, s(0.0)), 1);
        assert_eq!(target_users(&l, s(5.0)), 5);
        assert_eq!(target_users(&l, s(10.0)), 10);
        assert_eq!(target_users(&l, s(15.0)), 15);
        assert_eq!(target_users(&l, s(25.0)), 20);

        let r = load(Ramp::Rate(2.0), vec![]);
        assert_eq!(target_users(&r, s(1.0)), 2);
        assert_eq!(target_users(&r, s(100.0)), 10);
        assert_eq!(target_users(&load(Ramp::Immediate, vec![]), s(0.0)), 10);
    }
}
