//! The CPU burn of `/chaos/load`: OS threads that spin for `intensity` of every 10 ms slice
//! until the fault ends, competing with the runtime's worker threads for the cores, so the
//! other routes answer more slowly.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const SLICE: Duration = Duration::from_millis(10);

/// The cores this process may use (the bound of `threads`).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Starts `threads` burning threads that stop at `deadline` or when `cancel` turns true.
pub fn spawn(
    threads: usize,
    intensity: f64,
    deadline: Instant,
    cancel: &Arc<AtomicBool>,
) -> std::io::Result<()> {
    for i in 0..threads {
        let flag = cancel.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("chaos-load-{i}"))
            .spawn(move || burn(intensity, deadline, &flag));
        if let Err(e) = spawned {
            cancel.store(true, Ordering::Relaxed);
            return Err(e);
        }
    }
    Ok(())
}

fn burn(intensity: f64, deadline: Instant, cancel: &AtomicBool) {
    let busy = SLICE.mul_f64(intensity.clamp(0.0, 1.0));
    let idle = SLICE.saturating_sub(busy);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while !cancel.load(Ordering::Relaxed) && Instant::now() < deadline {
        let until = Instant::now() + busy;
        while Instant::now() < until {
            for _ in 0..1000 {
                // xorshift: cheap work the optimiser cannot drop.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
            black_box(x);
        }
        if !idle.is_zero() {
            std::thread::sleep(idle);
        }
    }
}
