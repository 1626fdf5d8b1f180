//! Failures grouped by kind (endpoint, class, status and message kind: `lt_protocol::ErrorKey`),
//! with the first message and the trace ids of the first few, and the rate-limited stream of
//! error samples.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use lt_protocol::{ErrorGroup, FailureClass, message_kind};

/// Trace ids kept per group.
const TRACE_IDS_PER_GROUP: usize = 5;
/// Distinct groups kept; further kinds are counted in an overflow group.
const MAX_GROUPS: usize = 1000;
/// Samples sent to watchers per second, over all endpoints.
pub const SAMPLES_PER_SECOND: u32 = 20;

/// `lt_protocol::ErrorKey` with the endpoint by its index: what makes two failures the same
/// kind.
type GroupKey = (usize, FailureClass, Option<u16>, String);

#[derive(Debug)]
struct Group {
    message: String,
    count: u64,
    trace_ids: Vec<String>,
}

/// Grouped failures of a run.
#[derive(Debug, Default)]
pub struct ErrorGroups {
    groups: Mutex<HashMap<GroupKey, Group>>,
    samples_left: AtomicU32,
}

impl ErrorGroups {
    /// Counts one failure.
    pub fn record(
        &self,
        endpoint: usize,
        class: FailureClass,
        status: Option<u16>,
        message: &str,
        trace_id: Option<String>,
    ) {
        let kind = message_kind(message);
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let key = (endpoint, class, status, kind);
        // Past the cap, new kinds are counted together per endpoint and class.
        let key = if groups.len() >= MAX_GROUPS && !groups.contains_key(&key) {
            (endpoint, class, None, String::new())
        } else {
            key
        };
        let group = groups.entry(key).or_insert_with(|| Group {
            message: message.to_string(),
            count: 0,
            trace_ids: Vec::new(),
        });
        group.count += 1;
        if let Some(id) = trace_id
            && group.trace_ids.len() < TRACE_IDS_PER_GROUP
        {
            group.trace_ids.push(id);
        }
    }

    /// Whether another sample may be sent this second (and takes it).
    pub fn take_sample(&self) -> bool {
        self.samples_left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Refills the per-second sample allowance.
    pub fn refill_samples(&self) {
        self.samples_left
            .store(SAMPLES_PER_SECOND, Ordering::Release);
    }

    /// The groups, most frequent first, with endpoint names resolved.
    pub fn snapshot(&self, names: &[String]) -> Vec<ErrorGroup> {
        let groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<ErrorGroup> = groups
            .iter()
            .map(|((endpoint, class, status, kind), g)| ErrorGroup {
                endpoint: names.get(*endpoint).cloned().unwrap_or_default(),
                class: *class,
                status: *status,
                message: g.message.clone(),
                kind: kind.clone(),
                count: g.count,
                trace_ids: g.trace_ids.clone(),
            })
            .collect();
        out.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.endpoint.cmp(&b.endpoint))
        });
        out
    }
}
