//! The writer thread: the only user of the write connection, and the batching rule.
//!
//! Batched writes go into a shared, bounded queue (never blocking on I/O); the first one into an
//! empty queue wakes the thread, which commits everything queued in one transaction a second
//! later. Durable writes and flushes arrive over a channel and are committed at once, together
//! with whatever is queued, before their caller gets its answer. So a steady stream of ticks costs
//! one transaction per second for all sessions together. When the last handle goes away the
//! thread commits what is left and ends.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use crate::ops::{Batched, Durable, Outcome};
use crate::{Result, StoreError};

/// Batched writes queued beyond this many push the oldest out (counted in
/// [`crate::Store::dropped_writes`]).
pub const MAX_QUEUED_WRITES: usize = 100_000;

/// How long a batched write may wait for its transaction.
const BATCH_WINDOW: Duration = Duration::from_secs(1);

/// After a failed transaction (the database locked by another process, say) the queue is
/// tried again after this long, doubling up to [`MAX_RETRY`] until a commit succeeds.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(5);

/// How long a closing store keeps trying to commit what is queued.
const LAST_COMMIT_PATIENCE: Duration = Duration::from_secs(15);

/// A message to the writer thread.
enum Msg {
    /// Commit this now (with everything queued) and answer.
    Durable(Durable, SyncSender<Result<Outcome>>),
    /// Commit everything queued and answer.
    Flush(SyncSender<Result<()>>),
    /// The queue was empty and is not any more: start the batch window.
    Wake,
}

/// The batched writes waiting for the next commit.
struct Queue {
    items: VecDeque<Batched>,
    /// When the oldest waiting item was queued.
    since: Option<Instant>,
    cap: usize,
    /// While transactions fail: when to try again, and the wait after that.
    retry: Option<(Instant, Duration)>,
}

impl Queue {
    fn new(cap: usize) -> Queue {
        Queue {
            items: VecDeque::new(),
            since: None,
            cap,
            retry: None,
        }
    }

    /// When the thread should commit next, if anything waits.
    fn due(&self) -> Option<Instant> {
        let since = self.since?;
        Some(self.retry.map_or(since + BATCH_WINDOW, |(at, _)| at))
    }

    /// Puts a batch whose transaction failed back in front of what was queued since, oldest
    /// first, and schedules the next try. Past the cap the oldest writes go; returns how many.
    fn put_back(&mut self, mut batch: VecDeque<Batched>) -> usize {
        let now = Instant::now();
        batch.append(&mut self.items);
        let over = batch.len().saturating_sub(self.cap);
        batch.drain(..over);
        self.items = batch;
        self.since.get_or_insert(now);
        let wait = self
            .retry
            .map_or(FIRST_RETRY, |(_, wait)| (wait * 2).min(MAX_RETRY));
        self.retry = Some((now + wait, wait));
        over
    }

    /// Adds `item`, dropping the oldest one if the queue is full. Returns whether the queue was
    /// empty before and whether an item was dropped.
    fn push(&mut self, item: Batched) -> (bool, bool) {
        let was_empty = self.items.is_empty();
        let dropped = self.items.len() >= self.cap && self.items.pop_front().is_some();
        self.items.push_back(item);
        if was_empty {
            self.since = Some(Instant::now());
        }
        (was_empty, dropped)
    }

    fn take(&mut self) -> VecDeque<Batched> {
        self.since = None;
        std::mem::take(&mut self.items)
    }
}

/// What the handles and the thread share.
struct Shared {
    queue: Mutex<Queue>,
    transactions: AtomicU64,
    dropped: AtomicU64,
}

impl Shared {
    /// The queue. A panic elsewhere while it was locked cannot leave it half-changed, so a
    /// poisoned lock is used as is.
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count_dropped(&self, n: usize) {
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// The handle to the writer thread. Dropping it commits what is queued and waits for the thread.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    /// `None` only while dropping.
    tx: Option<Sender<Msg>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread, which takes over `conn`.
    pub(crate) fn spawn(conn: Connection) -> Result<Writer> {
        Writer::spawn_with_cap(conn, MAX_QUEUED_WRITES)
    }

    fn spawn_with_cap(conn: Connection, cap: usize) -> Result<Writer> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::new(cap)),
            transactions: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("lt-store-writer".to_string())
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(conn, &shared, &rx)
            })
            .map_err(StoreError::Spawn)?;
        Ok(Writer {
            shared,
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues a batched write.
    pub(crate) fn enqueue(&self, item: Batched) {
        let (was_empty, dropped) = self.shared.queue().push(item);
        if dropped {
            self.shared.count_dropped(1);
        }
        if was_empty {
            // If the thread is gone nothing will commit this; the queue's cap bounds the loss.
            self.send(Msg::Wake).ok();
        }
    }

    /// Commits `op` (and everything queued) and returns its outcome.
    pub(crate) fn durable(&self, op: Durable) -> Result<Outcome> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Msg::Durable(op, reply))?;
        answer.recv().map_err(|_| StoreError::WriterGone)?
    }

    /// Commits everything queued so far.
    pub(crate) fn flush(&self) -> Result<()> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Msg::Flush(reply))?;
        answer.recv().map_err(|_| StoreError::WriterGone)?
    }

    pub(crate) fn transactions(&self) -> u64 {
        self.shared.transactions.load(Ordering::Relaxed)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    fn send(&self, msg: Msg) -> Result<()> {
        let tx = self.tx.as_ref().ok_or(StoreError::WriterGone)?;
        tx.send(msg).map_err(|_| StoreError::WriterGone)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel tells the thread to commit what is queued and end.
        drop(self.tx.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the session store's writer thread panicked");
        }
    }
}

/// The thread's loop.
fn run(mut conn: Connection, shared: &Shared, rx: &Receiver<Msg>) {
    loop {
        let deadline = shared.queue().due();
        let msg = match deadline {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
        };
        match msg {
            Ok(Msg::Wake) => {}
            Ok(Msg::Durable(op, reply)) => {
                // The caller may have given up waiting; nothing to do about that.
                reply.send(commit(&mut conn, shared, Some(op))).ok();
            }
            Ok(Msg::Flush(reply)) => {
                reply.send(commit(&mut conn, shared, None).map(drop)).ok();
            }
            Err(RecvTimeoutError::Timeout) => {
                // A failure is logged and counted in `commit`; nobody is waiting for it.
                commit(&mut conn, shared, None).ok();
            }
            Err(RecvTimeoutError::Disconnected) => {
                finish(&mut conn, shared);
                return;
            }
        }
    }
}

/// The last commit when the store closes, retried while the database refuses it, for at most
/// [`LAST_COMMIT_PATIENCE`]; what is still queued then is counted as dropped and logged.
fn finish(conn: &mut Connection, shared: &Shared) {
    let give_up = Instant::now() + LAST_COMMIT_PATIENCE;
    while commit(conn, shared, None).is_err() {
        let due = shared.queue().due().unwrap_or_else(Instant::now);
        if due > give_up {
            let left = shared.queue().take().len();
            shared.count_dropped(left);
            tracing::error!(
                left,
                "the session store closed while its database refused writes: dropped what was queued"
            );
            return;
        }
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

/// Commits everything queued, plus `op` if given, in one transaction. Each write runs in its
/// own savepoint so one bad write (a tick for an unknown session, say) is dropped alone.
fn commit(conn: &mut Connection, shared: &Shared, op: Option<Durable>) -> Result<Outcome> {
    let batch = shared.queue().take();
    if batch.is_empty() && op.is_none() {
        return Ok(Outcome::Done);
    }
    let queued = batch.len();
    // The transaction itself failed (the database is locked or busy past the busy timeout, the
    // disk is full): the queued writes go back to the queue to be tried again, not lost. A
    // durable write's caller gets the error.
    let failed_transaction = |batch: VecDeque<Batched>, source| {
        let what = match &op {
            Some(op) => op.describe(),
            None => format!("committing {queued} queued writes"),
        };
        let error = StoreError::Write { what, source };
        if queued > 0 {
            let dropped = shared.queue().put_back(batch);
            tracing::warn!(%error, queued, "session-store writes kept for a retry");
            if dropped > 0 {
                shared.count_dropped(dropped);
                tracing::error!(
                    dropped,
                    cap = MAX_QUEUED_WRITES,
                    "the session store's write queue is full while the database refuses writes: dropped its oldest writes"
                );
            }
        }
        error
    };

    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(source) => return Err(failed_transaction(batch, source)),
    };

    let mut failed = 0;
    let mut first_failure = None;
    for item in &batch {
        let applied = tx.savepoint().and_then(|sp| {
            item.apply(&sp)?;
            sp.commit()
        });
        if let Err(e) = applied {
            failed += 1;
            first_failure.get_or_insert_with(|| format!("{}: {e}", item.describe()));
        }
    }
    if let Some(first) = first_failure {
        shared.count_dropped(failed);
        tracing::error!(failed, queued, %first, "dropped queued session-store writes");
    }

    let outcome = match &op {
        None => Ok(Outcome::Done),
        Some(op) => match tx.savepoint() {
            Err(source) => Err(StoreError::Write {
                what: op.describe(),
                source,
            }),
            Ok(sp) => op.apply(&sp).and_then(|outcome| {
                sp.commit().map_err(|source| StoreError::Write {
                    what: op.describe(),
                    source,
                })?;
                Ok(outcome)
            }),
        },
    };

    if let Err(source) = tx.commit() {
        return Err(failed_transaction(batch, source));
    }
    shared.transactions.fetch_add(1, Ordering::Relaxed);
    shared.queue().retry = None;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoredEvent;

    fn event(id: u64) -> Batched {
        Batched::Event(StoredEvent {
            id,
            session_id: "s".to_string(),
            kind: "tick".to_string(),
            at_ms: id,
            data: "{}".to_string(),
        })
    }

    #[test]
    fn a_full_queue_drops_its_oldest_item() {
        let mut q = Queue::new(3);
        assert_eq!(q.push(event(1)), (true, false));
        assert!(q.since.is_some());
        assert_eq!(q.push(event(2)), (false, false));
        assert_eq!(q.push(event(3)), (false, false));
        assert_eq!(q.push(event(4)), (false, true));
        let ids: Vec<u64> = q
            .take()
            .into_iter()
            .map(|b| match b {
                Batched::Event(e) => e.id,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(ids, [2, 3, 4]);
        assert!(q.since.is_none());
    }

    #[test]
    fn overflow_is_counted_in_dropped_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut conn = crate::schema::connect(&path).unwrap();
        crate::schema::migrate(&mut conn, &path).unwrap();
        let writer = Writer::spawn_with_cap(conn, 2).unwrap();
        // Queued faster than the one-second window can commit them.
        for id in 1..=5 {
            writer.enqueue(event(id));
        }
        writer.flush().unwrap();
        assert!(writer.dropped() >= 1, "dropped {}", writer.dropped());
    }
}
