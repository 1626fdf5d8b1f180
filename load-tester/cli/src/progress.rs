//! The live progress line on stderr: rewritten in place on a terminal, one line every five
//! seconds in a CI log.

use std::io::Write;

use lt_protocol::{BreakerState, ErrorSample, Lifecycle, LifecycleState, Tick};

const LOG_EVERY_SECONDS: u64 = 5;
const BAR_WIDTH: usize = 20;

/// Prints progress as ticks arrive.
#[derive(Debug)]
pub struct Progress {
    tty: bool,
    line_open: bool,
    errors_shown: u32,
    /// Kinds of warning already printed (each once per run).
    warned: Vec<&'static str>,
}

impl Progress {
    pub fn new(tty: bool) -> Self {
        Progress {
            tty,
            line_open: false,
            errors_shown: 0,
            warned: Vec::new(),
        }
    }

    pub fn tick(&mut self, tick: &Tick) {
        for (kind, message) in crate::accuracy::warnings(tick) {
            if !self.warned.contains(&kind) {
                self.warned.push(kind);
                self.close_line();
                eprintln!("warning: {message}");
            }
        }
        if !self.tty && !tick.second.is_multiple_of(LOG_EVERY_SECONDS) {
            return;
        }
        let line = format_line(tick);
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
            self.line_open = true;
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    pub fn lifecycle(&mut self, lifecycle: &Lifecycle) {
        if lifecycle.state == LifecycleState::Stopping {
            self.close_line();
            eprintln!(
                "stopping: {}",
                lifecycle.reason.as_deref().unwrap_or("asked to stop")
            );
        }
    }

    /// The first few error samples, so a failing run explains itself in a CI log.
    pub fn error(&mut self, sample: &ErrorSample) {
        if sample.class.is_none() || self.errors_shown >= 5 {
            return;
        }
        self.errors_shown += 1;
        self.close_line();
        eprintln!(
            "error: {}: {}{}",
            sample.endpoint,
            sample.message,
            sample
                .trace_id
                .as_deref()
                .map(|t| format!(" (trace {t})"))
                .unwrap_or_default()
        );
        if self.errors_shown == 5 {
            eprintln!("(further errors are counted in the summary)");
        }
    }

    pub fn finish(&mut self) {
        self.close_line();
    }

    fn close_line(&mut self) {
        if self.line_open {
            eprintln!();
            self.line_open = false;
        }
    }
}

fn format_line(tick: &Tick) -> String {
    let total = tick.elapsed_s + tick.remaining_s;
    let done = if total > 0.0 {
        (tick.elapsed_s / total).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let filled = (done * BAR_WIDTH as f64).round() as usize;
    let bar = format!("{}{}", "#".repeat(filled), "-".repeat(BAR_WIDTH - filled));
    let error_rate = if tick.requests > 0 {
        100.0 * tick.failures as f64 / tick.requests as f64
    } else {
        0.0
    };
    let open: Vec<&str> = tick
        .endpoints
        .iter()
        .filter(|e| e.breaker != BreakerState::Closed)
        .map(|e| e.name.as_str())
        .collect();
    let mut line = format!(
        "[{bar}] {} / {}  {:.0} req/s  p95 {:.1} ms  errors {:.1}% ({} total)  users {}/{}",
        clock(tick.elapsed_s),
        clock(total),
        tick.rps,
        tick.latency.p95,
        error_rate,
        tick.total_failures,
        tick.active_users,
        tick.target_users,
    );
    if !open.is_empty() {
        line.push_str(&format!("  breaker open: {}", open.join(", ")));
    }
    if let Some(r) = tick.load_reduction.filter(|r| r.parked_users > 0) {
        line.push_str(&format!("  parked {}", r.parked_users));
    }
    if tick.users_in_backoff > 0 {
        line.push_str(&format!("  backoff {}", tick.users_in_backoff));
    }
    line.push_str(&crate::accuracy::progress_suffix(tick));
    line
}

fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}
