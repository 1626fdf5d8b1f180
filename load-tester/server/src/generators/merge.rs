//! Merging generators' seconds into one ordinary [`Tick`], exactly: counters add up, histograms
//! add bucket by bucket (HdrHistogram), and every percentile is read from a merged histogram,
//! never averaged. The merged tick is what one generator with every user would have sent, so the
//! store, the SSE stream, the panel, the reports and `/metrics` take it as they take any tick.
//!
//! A second is closed when every live generator has sent it, or [`CLOSE_AFTER`] after its first
//! part arrived. A part that arrives after its second was closed is late: it still counts in the
//! totals (nothing is lost) and in [`Merger::late_ticks`].

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use lt_protocol::reduction::Reduction;
use lt_protocol::window::SecondCounts;
use lt_protocol::{
    BreakerState, EndpointTick, EndpointTotals, FailureCounts, FlowTick, FlowTotals,
    GeneratorStats, JourneyTotals, LatencyHistogram, ReductionState, RowSecond, RowTotals,
    RunTotals, Tick,
};
use lt_scenario::LoadReduction;

/// How long a second waits for its slowest generator.
pub const CLOSE_AFTER: Duration = Duration::from_secs(2);
const BUDGET_WINDOW_SECONDS: u64 = 60;

/// A second some generators have sent.
#[derive(Debug)]
struct Pending {
    parts: Vec<Option<Tick>>,
    first_seen: Instant,
}

/// Merges the seconds of `count` generators.
#[derive(Debug)]
pub struct Merger {
    live: Vec<bool>,
    pending: BTreeMap<u64, Pending>,
    /// The last second closed.
    closed: u64,
    /// The session's totals since the start, over every generator: what the final report is
    /// made from.
    pub totals: RunTotals,
    /// The most users active at once over every generator (merged seconds).
    pub peak_active_users: u32,
    /// Failures per closed second, for the error budget.
    budget: VecDeque<(u64, u64)>,
    /// Parts that came after their second was closed.
    pub late_ticks: u64,
    /// `protection.load_reduction`, judged on merged seconds.
    reduction: Option<Reduction>,
}

impl Merger {
    /// A merger of `count` generators' seconds; with `reduction`, load reduction is judged on
    /// the merged seconds (each merged tick says how many users are parked in all).
    pub fn new(count: u32, reduction: Option<LoadReduction>) -> Merger {
        Merger {
            live: vec![true; count as usize],
            pending: BTreeMap::new(),
            closed: 0,
            totals: RunTotals::default(),
            peak_active_users: 0,
            budget: VecDeque::new(),
            late_ticks: 0,
            reduction: reduction.map(Reduction::new),
        }
    }

    /// Takes generator `index`'s tick; returns the seconds this closes, in order.
    pub fn add(&mut self, index: u32, tick: Tick, now: Instant) -> Vec<Tick> {
        let i = index as usize;
        if i >= self.live.len() {
            return Vec::new();
        }
        if tick.second <= self.closed {
            self.late_ticks += 1;
            add_to_totals(&mut self.totals, &tick, &Decoded::of(&tick));
            return Vec::new();
        }
        let count = self.live.len();
        let pending = self.pending.entry(tick.second).or_insert_with(|| Pending {
            parts: vec![None; count],
            first_seen: now,
        });
        pending.parts[i] = Some(tick);
        self.close_ready(now)
    }

    /// Generator `index` sends no more: seconds waiting only for it close now.
    pub fn lose(&mut self, index: u32, now: Instant) -> Vec<Tick> {
        if let Some(live) = self.live.get_mut(index as usize) {
            *live = false;
        }
        self.close_ready(now)
    }

    /// Seconds whose slowest generator is overdue close now.
    pub fn tick_clock(&mut self, now: Instant) -> Vec<Tick> {
        self.close_ready(now)
    }

    /// Everything still pending, closed (the run is over).
    pub fn flush(&mut self) -> Vec<Tick> {
        let mut out = Vec::new();
        while let Some((second, pending)) = self.pending.pop_first() {
            out.push(self.close(second, pending));
        }
        out
    }

    /// Failures over the last 60 closed seconds.
    pub fn errors_last_minute(&self) -> u64 {
        self.budget.iter().map(|(_, f)| f).sum()
    }

    fn close_ready(&mut self, now: Instant) -> Vec<Tick> {
        let mut out = Vec::new();
        while let Some((&second, pending)) = self.pending.first_key_value() {
            let complete = pending
                .parts
                .iter()
                .zip(&self.live)
                .all(|(part, live)| part.is_some() || !live);
            if !complete && now.duration_since(pending.first_seen) < CLOSE_AFTER {
                break;
            }
            let Some((_, pending)) = self.pending.pop_first() else {
                break;
            };
            out.push(self.close(second, pending));
        }
        out
    }

    fn close(&mut self, second: u64, pending: Pending) -> Tick {
        self.closed = self.closed.max(second);
        let parts: Vec<Tick> = pending.parts.into_iter().flatten().collect();
        let mut merged = merge_second(&mut self.totals, &parts);
        self.peak_active_users = self.peak_active_users.max(merged.active_users);
        let failures = merged.failures;
        self.budget.push_back((second, failures));
        while self
            .budget
            .front()
            .is_some_and(|(s, _)| *s + BUDGET_WINDOW_SECONDS <= second)
        {
            self.budget.pop_front();
        }
        merged.errors_last_minute = self.errors_last_minute();
        if let Some(reduction) = &mut self.reduction {
            let counts = SecondCounts {
                requests: merged.requests,
                failures: merged.failures,
            };
            let parked = reduction.on_second(second, counts, merged.target_users);
            merged.load_reduction = Some(ReductionState {
                parked_users: parked,
                window_error_rate: reduction.window_error_rate(),
            });
        }
        merged
    }
}

/// A part's second histograms, decoded (empty histograms where a part carried none).
struct Decoded {
    rows: Vec<LatencyHistogram>,
    flows: Vec<LatencyHistogram>,
    lag: Option<LatencyHistogram>,
    /// With `latency.correction`: each row's corrected latencies.
    corrected: Option<Vec<LatencyHistogram>>,
}

impl Decoded {
    fn of(tick: &Tick) -> Decoded {
        let read = |text: Option<&String>| {
            text.and_then(|t| match LatencyHistogram::decode(t) {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(second = tick.second, "{e}");
                    None
                }
            })
            .unwrap_or_default()
        };
        let whole = tick.histograms.as_ref();
        let rows_n = tick.endpoints.len();
        Decoded {
            rows: (0..rows_n)
                .map(|i| read(whole.and_then(|h| h.endpoints.get(i))))
                .collect(),
            flows: (0..tick.flows.len())
                .map(|i| read(whole.and_then(|h| h.flows.get(i))))
                .collect(),
            lag: tick
                .schedule_lag
                .is_some()
                .then(|| read(whole.and_then(|h| h.schedule_lag.as_ref()))),
            corrected: tick.corrected_latency.is_some().then(|| {
                (0..rows_n)
                    .map(|i| read(whole.and_then(|h| h.corrected.get(i))))
                    .collect()
            }),
        }
    }
}

/// Adds one part's second into the totals.
fn add_to_totals(totals: &mut RunTotals, tick: &Tick, part: &Decoded) {
    if totals.rows.len() < tick.endpoints.len() {
        totals
            .rows
            .resize_with(tick.endpoints.len(), RowTotals::default);
    }
    if totals.flows.len() < tick.flows.len() {
        totals
            .flows
            .resize_with(tick.flows.len(), JourneyTotals::default);
    }
    for (i, (e, h)) in tick.endpoints.iter().zip(&part.rows).enumerate() {
        let second = RowSecond {
            requests: e.requests,
            failures: &e.failures,
            short_circuited: e.short_circuited,
            dropped: e.dropped,
            latency: h,
            corrected: part.corrected.as_ref().and_then(|c| c.get(i)),
        };
        totals.add_row(i, second);
    }
    for ((t, f), h) in totals.flows.iter_mut().zip(&tick.flows).zip(&part.flows) {
        t.add(f.started, f.completed, f.failed, h);
    }
    if let Some(lag) = &part.lag {
        totals.schedule_lag.merge(lag);
    }
}

/// One second of every generator, as one tick; adds it to `totals`.
fn merge_second(totals: &mut RunTotals, parts: &[Tick]) -> Tick {
    let Some(first) = parts.first() else {
        unreachable!("a pending second has at least one part")
    };
    let rows_n = first.endpoints.len();
    let flows_n = first.flows.len();
    let mut rows = vec![LatencyHistogram::new(); rows_n];
    let mut journeys = vec![LatencyHistogram::new(); flows_n];
    let mut lag: Option<LatencyHistogram> = None;
    let mut corrected: Option<Vec<LatencyHistogram>> = None;
    let mut endpoints: Vec<EndpointTick> = first
        .endpoints
        .iter()
        .map(|e| EndpointTick {
            name: e.name.clone(),
            requests: 0,
            failures: FailureCounts::default(),
            short_circuited: 0,
            latency: Default::default(),
            weight: e.weight,
            breaker: BreakerState::Closed,
            totals: EndpointTotals::default(),
            dropped: 0,
            corrected_latency: None,
        })
        .collect();
    let mut flows: Vec<FlowTick> = first
        .flows
        .iter()
        .map(|f| FlowTick {
            name: f.name.clone(),
            started: 0,
            completed: 0,
            failed: 0,
            journey: Default::default(),
            weight: f.weight,
            totals: FlowTotals::default(),
        })
        .collect();
    let mut config = first.config.clone();
    config.users = 0;
    config.arrival_rate = None;
    let mut merged = Tick {
        second: first.second,
        at_ms: 0,
        elapsed_s: 0.0,
        remaining_s: f64::MAX,
        active_users: 0,
        target_users: 0,
        requests: 0,
        failures: 0,
        short_circuited: 0,
        rps: 0.0,
        latency: Default::default(),
        total_requests: 0,
        total_failures: 0,
        total_latency: Default::default(),
        errors_last_minute: 0,
        load_reduction: None,
        users_in_backoff: 0,
        endpoints: Vec::new(),
        flows: Vec::new(),
        config,
        dropped: 0,
        total_dropped: 0,
        schedule_lag: None,
        corrected_latency: None,
        total_corrected_latency: None,
        generator: None,
        histograms: None,
    };
    for part in parts {
        let decoded = Decoded::of(part);
        add_to_totals(totals, part, &decoded);
        merged.at_ms = merged.at_ms.max(part.at_ms);
        merged.elapsed_s = merged.elapsed_s.max(part.elapsed_s);
        merged.remaining_s = merged.remaining_s.min(part.remaining_s);
        merged.active_users += part.active_users;
        merged.target_users += part.target_users;
        merged.requests += part.requests;
        merged.failures += part.failures;
        merged.short_circuited += part.short_circuited;
        merged.rps += part.rps;
        merged.users_in_backoff += part.users_in_backoff;
        merged.dropped += part.dropped;
        merged.config.users += part.config.users;
        if let Some(rate) = part.config.arrival_rate {
            *merged.config.arrival_rate.get_or_insert(0.0) += rate;
        }
        if let Some(g) = &part.generator {
            merged.generator = Some(worst(merged.generator.take(), g));
        }
        for (i, (e, h)) in part
            .endpoints
            .iter()
            .zip(&decoded.rows)
            .enumerate()
            .take(rows_n)
        {
            let m = &mut endpoints[i];
            m.requests += e.requests;
            m.failures.merge(&e.failures);
            m.short_circuited += e.short_circuited;
            m.dropped += e.dropped;
            m.breaker = worse(m.breaker, e.breaker);
            rows[i].merge(h);
        }
        for (i, (f, h)) in part
            .flows
            .iter()
            .zip(&decoded.flows)
            .enumerate()
            .take(flows_n)
        {
            let m = &mut flows[i];
            m.started += f.started;
            m.completed += f.completed;
            m.failed += f.failed;
            journeys[i].merge(h);
        }
        if let Some(l) = &decoded.lag {
            lag.get_or_insert_with(LatencyHistogram::new).merge(l);
        }
        if let Some(part_corrected) = &decoded.corrected {
            let sum = corrected.get_or_insert_with(|| vec![LatencyHistogram::new(); rows_n]);
            for (s, h) in sum.iter_mut().zip(part_corrected) {
                s.merge(h);
            }
        }
    }
    let mut second_all = LatencyHistogram::new();
    let mut second_corrected = corrected.as_ref().map(|_| LatencyHistogram::new());
    for (i, ((m, h), t)) in endpoints
        .iter_mut()
        .zip(&rows)
        .zip(&totals.rows)
        .enumerate()
    {
        second_all.merge(h);
        m.latency = h.latency();
        m.totals = t.tick_totals();
        if let (Some(sum), Some(c)) = (second_corrected.as_mut(), corrected.as_ref()) {
            sum.merge(&c[i]);
            m.corrected_latency = Some(c[i].latency());
        }
    }
    for ((m, h), t) in flows.iter_mut().zip(&journeys).zip(&totals.flows) {
        m.journey = h.latency();
        m.totals = t.tick_totals();
    }
    merged.corrected_latency = second_corrected.as_ref().map(LatencyHistogram::latency);
    merged.total_corrected_latency = totals.corrected.as_ref().map(LatencyHistogram::latency);
    merged.latency = second_all.latency();
    merged.total_requests = totals.requests();
    merged.total_failures = totals.failures();
    merged.total_dropped = totals.dropped();
    merged.total_latency = totals.all.latency();
    merged.schedule_lag = lag.map(|l| l.latency());
    if merged.remaining_s == f64::MAX {
        merged.remaining_s = 0.0;
    }
    merged.endpoints = endpoints;
    merged.flows = flows;
    merged
}

/// The breaker state that says more: open over half-open over closed.
fn worse(a: BreakerState, b: BreakerState) -> BreakerState {
    let rank = |s| match s {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => 1,
        BreakerState::Open => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// The generators' figures as the busiest one's (CPU, memory, timer lag), every core counted,
/// and the first warning.
fn worst(acc: Option<GeneratorStats>, g: &GeneratorStats) -> GeneratorStats {
    match acc {
        None => g.clone(),
        Some(a) => GeneratorStats {
            cpu_percent: a.cpu_percent.max(g.cpu_percent),
            cores: a.cores + g.cores,
            memory_bytes: a.memory_bytes.max(g.memory_bytes),
            timer_lag_ms: a.timer_lag_ms.max(g.timer_lag_ms),
            saturated: a.saturated.or_else(|| g.saturated.clone()),
            limited: a.limited.or_else(|| g.limited.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lt_protocol::{LiveConfig, TickHistograms};

    /// A generator's tick for `second` with one endpoint whose requests took `micros`.
    fn part(second: u64, micros: &[u64], failures: u64) -> Tick {
        let mut h = LatencyHistogram::new();
        for &m in micros {
            h.record(m);
        }
        Tick {
            second,
            at_ms: 1_000 * second,
            elapsed_s: second as f64,
            remaining_s: 10.0,
            active_users: 2,
            target_users: 2,
            requests: micros.len() as u64,
            failures,
            short_circuited: 0,
            rps: micros.len() as f64,
            latency: h.latency(),
            total_requests: 0,
            total_failures: 0,
            total_latency: Default::default(),
            errors_last_minute: 0,
            load_reduction: None,
            users_in_backoff: 0,
            endpoints: vec![EndpointTick {
                name: "a".into(),
                requests: micros.len() as u64,
                failures: FailureCounts {
                    status_5xx: failures,
                    ..Default::default()
                },
                short_circuited: 0,
                latency: h.latency(),
                weight: 1.0,
                breaker: BreakerState::Closed,
                totals: Default::default(),
                dropped: 0,
                corrected_latency: None,
            }],
            flows: Vec::new(),
            config: LiveConfig {
                users: 2,
                weights: [("a".to_string(), 1.0)].into(),
                think_time: Default::default(),
                arrival_rate: Some(5.0),
            },
            dropped: 0,
            total_dropped: 0,
            schedule_lag: None,
            corrected_latency: None,
            total_corrected_latency: None,
            generator: None,
            histograms: Some(TickHistograms {
                endpoints: vec![h.encode()],
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_merged_second_is_one_histogram_of_every_sample() {
        let now = Instant::now();
        let mut m = Merger::new(3, None);
        let samples: [&[u64]; 3] = [&[1_000, 2_000, 90_000], &[5_000], &[3_000, 250_000]];
        assert!(m.add(0, part(1, samples[0], 1), now).is_empty());
        assert!(m.add(2, part(1, samples[2], 0), now).is_empty());
        let closed = m.add(1, part(1, samples[1], 2), now);
        assert_eq!(closed.len(), 1);
        let t = &closed[0];
        let mut one = LatencyHistogram::new();
        for &s in samples.iter().flat_map(|s| s.iter()) {
            one.record(s);
        }
        assert_eq!(t.requests, 6);
        assert_eq!(t.failures, 3);
        assert_eq!(t.latency, one.latency());
        assert_eq!(t.endpoints[0].latency, one.latency());
        assert_eq!(t.total_latency, one.latency());
        assert_eq!(t.endpoints[0].totals.timed, 6);
        assert_eq!(t.endpoints[0].totals.failures.status_5xx, 3);
        assert_eq!(t.config.users, 6);
        assert_eq!(t.config.arrival_rate, Some(15.0));
        assert_eq!(t.active_users, 6);
        assert_eq!(t.errors_last_minute, 3);
        assert!(t.histograms.is_none());
    }

    #[test]
    fn a_slow_or_lost_generator_holds_a_second_back_only_so_long() {
        let now = Instant::now();
        let mut m = Merger::new(2, None);
        assert!(m.add(0, part(1, &[1_000], 0), now).is_empty());
        assert!(m.add(0, part(2, &[1_000], 0), now).is_empty());
        // Overdue: both seconds close with what they have, in order.
        let closed = m.tick_clock(now + CLOSE_AFTER);
        assert_eq!(closed.iter().map(|t| t.second).collect::<Vec<_>>(), [1, 2]);
        // The late part counts in the totals, and as late.
        assert!(m.add(1, part(1, &[7_000], 0), now).is_empty());
        assert_eq!(m.late_ticks, 1);
        assert_eq!(m.totals.rows[0].requests, 3);
        assert_eq!(m.totals.all.count(), 3);
        // A lost generator is not waited for.
        assert!(m.add(0, part(3, &[1_000], 0), now).is_empty());
        assert_eq!(m.lose(1, now).len(), 1);
        assert_eq!(m.add(0, part(4, &[1_000], 0), now).len(), 1);
    }

    #[test]
    fn corrected_latencies_merge_like_the_measured_ones() {
        let now = Instant::now();
        let mut m = Merger::new(2, None);
        let with_corrected = |second, micros: &[u64], corrected: &[u64]| {
            let mut tick = part(second, micros, 0);
            let mut h = LatencyHistogram::new();
            for &c in corrected {
                h.record(c);
            }
            tick.corrected_latency = Some(h.latency());
            if let Some(whole) = tick.histograms.as_mut() {
                whole.corrected = vec![h.encode()];
            }
            tick
        };
        assert!(
            m.add(0, with_corrected(1, &[1_000], &[1_000, 400_000]), now)
                .is_empty()
        );
        let closed = m.add(
            1,
            with_corrected(1, &[2_000], &[2_000, 9_000, 800_000]),
            now,
        );
        let mut one = LatencyHistogram::new();
        for c in [1_000, 400_000, 2_000, 9_000, 800_000] {
            one.record(c);
        }
        let t = &closed[0];
        assert_eq!(t.corrected_latency, Some(one.latency()));
        assert_eq!(t.total_corrected_latency, Some(one.latency()));
        assert_eq!(t.endpoints[0].corrected_latency, Some(one.latency()));
        assert_eq!(t.endpoints[0].totals.corrected_latency, Some(one.latency()));
        assert_eq!(m.totals.corrected.as_ref().map(|h| h.count()), Some(5));
    }

    #[test]
    fn load_reduction_is_one_decision_on_the_merged_seconds() {
        let now = Instant::now();
        let reduction = LoadReduction {
            error_rate: 0.5,
            window: Duration::from_secs(2),
            reduce_by: 0.5,
            min_users: 2,
            restore_every: Duration::from_secs(60),
        };
        let mut m = Merger::new(2, Some(reduction));
        // One generator fails every request, the other none: 3 of 5 failed together, over the
        // limit, though the second generator alone is not.
        m.add(0, part(1, &[1_000, 1_000, 1_000], 3), now);
        let closed = m.add(1, part(1, &[1_000, 1_000], 0), now);
        let state = closed[0].load_reduction.unwrap();
        // Four users in all (two each): half of them parked.
        assert_eq!(state.parked_users, 2);
    }
}
