//! Segments of a session split across generators (see `docs/distributed.md`): generator `i` of
//! `n` owns `[i/n, (i+1)/n)` of every quantity, cut by one rule (floor at the segment's ends), so
//! the parts add up to the whole exactly and never overlap. Pure arithmetic: [`Scenario::part`]
//! cuts a scenario's load, and [`Place`] says where a generator's users sit in the whole.

use crate::{Ramp, Scenario};

/// Generator `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    index: u32,
    count: u32,
}

impl Segment {
    /// Generator `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u32, count: u32) -> Option<Segment> {
        (index < count).then_some(Segment { index, count })
    }

    /// The whole session: one generator.
    pub fn whole() -> Segment {
        Segment { index: 0, count: 1 }
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// Where this segment starts in a whole of `total` units: `floor(index · total / count)`.
    pub fn start_of(&self, total: u32) -> u32 {
        cut(self.index, self.count, total)
    }

    /// This segment's share of `total` units (users, max users, a stage's users): the units from
    /// [`Segment::start_of`] up to the next segment's start.
    pub fn share_of(&self, total: u32) -> u32 {
        cut(self.index + 1, self.count, total) - self.start_of(total)
    }

    /// This segment's share of a rate (requests or arrivals per second): an even split.
    pub fn rate_of(&self, rate: f64) -> f64 {
        rate / f64::from(self.count)
    }

    /// Whether this segment takes row `row` of a data file read in `shared` mode: rows are
    /// striped, `index, index + count, …`, so each row is still taken once per pass.
    pub fn takes_row(&self, row: u64) -> bool {
        row % u64::from(self.count) == u64::from(self.index)
    }
}

/// Where a generator's users sit in the whole session: its user `u` is the session's user
/// `first_user + u`, so user ids and per-user data rows stay disjoint across generators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub segment: Segment,
    /// The session's index of this generator's first user.
    pub first_user: u32,
    /// The session's `max_users` (users walk the user-id list in steps of it).
    pub whole_max_users: u32,
}

impl Place {
    /// The whole session in one generator.
    pub fn whole(max_users: u32) -> Place {
        Place {
            segment: Segment::whole(),
            first_user: 0,
            whole_max_users: max_users,
        }
    }

    /// The session's index of this generator's user `user`.
    pub fn global_user(&self, user: usize) -> usize {
        self.first_user as usize + user
    }
}

impl Scenario {
    /// This scenario's part for `segment`: users, `max_users` and stages by the floor rule, the
    /// arrival rate, the `rate` cap and a ramp's users per second evenly; everything else (weights,
    /// think time, thresholds, protections) unchanged. With it, where its users sit.
    pub fn part(&self, segment: Segment) -> (Scenario, Place) {
        let mut part = self.clone();
        let load = &mut part.load;
        let whole_max_users = load.max_users;
        load.users = segment.share_of(load.users);
        load.max_users = segment.share_of(load.max_users);
        for stage in &mut load.stages {
            stage.users = segment.share_of(stage.users);
        }
        load.arrival_rate = load.arrival_rate.map(|r| segment.rate_of(r));
        load.rate = load.rate.map(|r| segment.rate_of(r));
        if let Ramp::Rate(r) = load.ramp {
            load.ramp = Ramp::Rate(segment.rate_of(r));
        }
        let place = Place {
            segment,
            first_user: segment.start_of(whole_max_users),
            whole_max_users,
        };
        (part, place)
    }
}

/// `floor(i · total / count)`, without overflow.
fn cut(i: u32, count: u32, total: u32) -> u32 {
    (u64::from(i) * u64::from(total) / u64::from(count)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ten_users_over_three_generators() {
        let shares: Vec<(u32, u32)> = (0..3)
            .map(|i| Segment::new(i, 3).unwrap())
            .map(|s| (s.start_of(10), s.share_of(10)))
            .collect();
        assert_eq!(shares, [(0, 3), (3, 3), (6, 4)]);
        assert_eq!(Segment::new(3, 3), None);
        assert_eq!(Segment::whole().share_of(7), 7);
        let s = Segment::new(1, 4).unwrap();
        assert_eq!(s.rate_of(200.0), 50.0);
        assert!(s.takes_row(1) && s.takes_row(5) && !s.takes_row(4));
    }

    proptest! {
        /// The parts cover the whole exactly, in order, without overlap, for any split.
        #[test]
        fn shares_add_up_and_never_overlap(total in 0u32..1_000_000, count in 1u32..200) {
            let mut next = 0;
            for i in 0..count {
                let s = Segment::new(i, count).unwrap();
                prop_assert_eq!(s.start_of(total), next);
                next += s.share_of(total);
            }
            prop_assert_eq!(next, total);
        }

        /// Every shared row belongs to exactly one segment.
        #[test]
        fn each_row_has_one_owner(row in 0u64..1_000_000, count in 1u32..200) {
            let owners = (0..count)
                .filter(|&i| Segment::new(i, count).unwrap().takes_row(row))
                .count();
            prop_assert_eq!(owners, 1);
        }
    }
}
