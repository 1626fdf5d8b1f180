//! Store calls that wait (a durable write waits for its commit, a read for SQLite) made from
//! async code: the runtime is told first, so the thread's other tasks move elsewhere and the API
//! and SSE keep answering while the store is slow or locked.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `f`, which may block, without stalling the async runtime it is called from.
pub fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}
