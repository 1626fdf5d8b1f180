//! Live events for SSE clients: numbered, kept in a ring for quick resumption, persisted to the
//! store so a client coming back with `Last-Event-ID` (even after a server restart) gets what it
//! missed while the data still exists. Slow clients are cut off, never waited for.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use lt_store::{Store, StoredEvent};
use tokio::sync::broadcast;

use crate::blocking::off_runtime;

/// Events kept in memory for resumption; older ones come from the store.
const RING: usize = 8192;
/// Events a client may fall behind before it is dropped.
const CLIENT_LAG: usize = 2048;
/// Most events replayed from the store to one reconnecting client.
const REPLAY_LIMIT: usize = 50_000;

/// The kinds of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tick,
    Lifecycle,
    Change,
    Error,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tick => "tick",
            Kind::Lifecycle => "lifecycle",
            Kind::Change => "change",
            Kind::Error => "error",
        }
    }
}

/// Hands events to SSE clients.
#[derive(Debug)]
pub struct Hub {
    store: Store,
    state: Mutex<Ring>,
    live: broadcast::Sender<Arc<StoredEvent>>,
    clients: AtomicUsize,
}

#[derive(Debug)]
struct Ring {
    next_id: u64,
    events: VecDeque<Arc<StoredEvent>>,
}

impl Hub {
    /// Numbers events after the highest one the store has.
    pub fn new(store: Store) -> Result<Hub, lt_store::StoreError> {
        let next_id = store.max_event_id()? + 1;
        let (live, _) = broadcast::channel(CLIENT_LAG);
        Ok(Hub {
            store,
            state: Mutex::new(Ring {
                next_id,
                events: VecDeque::with_capacity(RING),
            }),
            live,
            clients: AtomicUsize::new(0),
        })
    }

    /// Publishes one event of `session_id`; `data` is its JSON.
    pub fn publish(&self, session_id: &str, kind: Kind, at_ms: u64, data: String) {
        let mut ring = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let event = Arc::new(StoredEvent {
            id: ring.next_id,
            session_id: session_id.to_string(),
            kind: kind.as_str().to_string(),
            at_ms,
            data,
        });
        ring.next_id += 1;
        if ring.events.len() == RING {
            ring.events.pop_front();
        }
        ring.events.push_back(Arc::clone(&event));
        self.store.record_event(&event);
        // Sent under the lock so that live order is id order.
        let _ = self.live.send(event);
    }

    /// A subscription: what was missed after `last_id` (for `session`, or all), then live.
    /// Reads the store when the ring no longer reaches back far enough (blocking).
    pub fn subscribe(&self, last_id: Option<u64>, session: Option<&str>) -> Subscription {
        let wanted = |e: &StoredEvent| session.is_none_or(|s| e.session_id == s);
        let (live, oldest_in_ring, recent) = {
            let ring = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let oldest = ring.events.front().map(|e| e.id).unwrap_or(ring.next_id);
            let recent: Vec<Arc<StoredEvent>> = match last_id {
                Some(last) => ring
                    .events
                    .iter()
                    .filter(|e| e.id > last && wanted(e))
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            (self.live.subscribe(), oldest, recent)
        };
        let mut backlog = VecDeque::new();
        if let Some(last) = last_id
            && last + 1 < oldest_in_ring
        {
            // Older than the ring: the store has them (what its batch writer still lacks is in
            // the ring).
            match off_runtime(|| self.store.events_after(last, session, REPLAY_LIMIT)) {
                Ok(stored) => backlog.extend(
                    stored
                        .into_iter()
                        .filter(|e| e.id < oldest_in_ring)
                        .map(Arc::new),
                ),
                Err(e) => tracing::warn!("replaying events after {last}: {e}"),
            }
        }
        backlog.extend(recent);
        Subscription {
            backlog,
            live,
            session: session.map(str::to_string),
            last_sent: last_id.unwrap_or(0),
        }
    }

    /// SSE clients connected now.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    pub(crate) fn client_guard(self: &Arc<Self>) -> ClientGuard {
        self.clients.fetch_add(1, Ordering::Relaxed);
        ClientGuard(Arc::clone(self))
    }
}

/// Counts a connected client while it lives.
#[derive(Debug)]
pub struct ClientGuard(Arc<Hub>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One client's view of the hub.
#[derive(Debug)]
pub struct Subscription {
    backlog: VecDeque<Arc<StoredEvent>>,
    live: broadcast::Receiver<Arc<StoredEvent>>,
    session: Option<String>,
    last_sent: u64,
}

/// Why a subscription ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The client fell too far behind.
    TooSlow,
    /// The server is shutting down.
    Closed,
}

impl Subscription {
    /// The next event for this client.
    pub async fn next(&mut self) -> Result<Arc<StoredEvent>, Ended> {
        if let Some(event) = self.backlog.pop_front() {
            self.last_sent = event.id;
            return Ok(event);
        }
        loop {
            match self.live.recv().await {
                Ok(event) => {
                    if event.id <= self.last_sent && self.last_sent != 0 {
                        continue;
                    }
                    if let Some(s) = &self.session
                        && &event.session_id != s
                    {
                        continue;
                    }
                    self.last_sent = event.id;
                    return Ok(event);
                }
                Err(broadcast::error::RecvError::Lagged(_)) => return Err(Ended::TooSlow),
                Err(broadcast::error::RecvError::Closed) => return Err(Ended::Closed),
            }
        }
    }
}
