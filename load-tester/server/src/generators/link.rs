//! The coordinator's side of one welcomed generator: its write half, what is known of it, and
//! bounded sends, so one generator that stops reading never holds up the others.

use std::time::{Duration, Instant};

use lt_protocol::{Command, Report, encode_command};
use tokio::io::AsyncWriteExt;

use super::registry::GeneratorWrite;

/// A generator that sends nothing for this long is lost (ticks are the heartbeat).
pub const LOSS_AFTER: Duration = Duration::from_secs(3);
/// How long a command line may take to go out to a generator. One that does not take it by then
/// (partitioned, or not reading) is lost: its stream may hold half a line.
const SEND_LIMIT: Duration = Duration::from_secs(2);
/// How long a welcome (with the scenario's files, up to 64 MiB) may take to go out.
const WELCOME_LIMIT: Duration = Duration::from_secs(60);

/// One generator's link once welcomed.
#[derive(Debug)]
pub struct Link {
    write: GeneratorWrite,
    /// Its connection closed.
    pub ended: bool,
    pub lost: bool,
    /// A line to it did not go out within its limit; it is lost at the next clock tick.
    stuck: bool,
    pub report: Option<Report>,
    /// When it was last heard from (or, before its first tick, when that tick is due).
    pub last_seen: Instant,
}

impl Link {
    /// A generator's link; its first tick is due at `first_tick_due`.
    pub fn new(write: GeneratorWrite, first_tick_due: Instant) -> Link {
        Link {
            write,
            ended: false,
            lost: false,
            stuck: false,
            report: None,
            last_seen: first_tick_due,
        }
    }

    /// Sends its welcome (which may carry the scenario's files).
    pub async fn welcome(&mut self, line: &str) {
        self.send_within(line, WELCOME_LIMIT).await;
    }

    /// Sends a command line.
    pub async fn send(&mut self, line: &str) {
        self.send_within(line, SEND_LIMIT).await;
    }

    /// Sends `line` unless the generator is gone; marks it stuck when the line does not go out
    /// within `limit`.
    async fn send_within(&mut self, line: &str, limit: Duration) {
        if self.ended || self.lost || self.stuck {
            return;
        }
        if tokio::time::timeout(limit, self.write.write_all(line.as_bytes()))
            .await
            .is_err()
        {
            self.stuck = true;
        }
    }

    /// Why it counts as lost at `now`, if it does (not once it ended, was lost or reported).
    pub fn loss(&self, now: Instant) -> Option<&'static str> {
        if self.ended || self.lost || self.report.is_some() {
            None
        } else if self.stuck {
            Some("it did not take the coordinator's lines")
        } else {
            (now.saturating_duration_since(self.last_seen) > LOSS_AFTER)
                .then_some("no tick for 3 s")
        }
    }
}

/// Sends `command` to every live generator at once: one that does not read cannot hold up
/// the others (an emergency stop reaches them all).
pub async fn broadcast(links: &mut [Link], command: &Command) {
    let line = encode_command(command);
    futures_util::future::join_all(links.iter_mut().map(|l| l.send(&line))).await;
}
