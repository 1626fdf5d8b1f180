//! The `/metrics` families that say how true the figures are: open-model arrivals dropped, and
//! the generator's own CPU, memory, timer lag and saturation (each worker's, from its last tick).

use std::fmt::Write;

use lt_protocol::Tick;

/// Writes the families for `ticks` (labels and last tick of each session).
pub fn write<'a>(
    out: &mut String,
    ticks: impl Iterator<Item = (&'a String, &'a Tick)> + Clone,
    family: fn(&mut String, &str, &str, &str),
    escape: fn(&str) -> String,
) {
    family(
        out,
        "lt_dropped_arrivals_total",
        "counter",
        "Open model: arrivals that found no free user within arrival_max_wait and were not sent, per session and endpoint (attributed by weight).",
    );
    for (labels, tick) in ticks.clone() {
        for e in &tick.endpoints {
            let _ = writeln!(
                out,
                "lt_dropped_arrivals_total{{{labels},endpoint=\"{}\"}} {}",
                escape(&e.name),
                e.totals.dropped
            );
        }
    }
    type Figure = fn(&lt_protocol::GeneratorStats) -> f64;
    let figures: [(&str, &str, Figure); 4] = [
        (
            "lt_generator_cpu_cores",
            "CPU the session's generator process used over the last second, in cores.",
            |g| g.cpu_percent / 100.0,
        ),
        (
            "lt_generator_memory_bytes",
            "Resident memory of the session's generator process.",
            |g| g.memory_bytes as f64,
        ),
        (
            "lt_generator_timer_lag_seconds",
            "How late the generator's timers fired at worst over the last second.",
            |g| g.timer_lag_ms / 1000.0,
        ),
        (
            "lt_generator_saturated",
            "1 while the generator is saturated (CPU or timers): results may be distorted by the generator itself.",
            |g| f64::from(u8::from(g.saturated.is_some())),
        ),
    ];
    for (name, help, figure) in figures {
        family(out, name, "gauge", help);
        for (labels, tick) in ticks.clone() {
            if let Some(g) = &tick.generator {
                let _ = writeln!(out, "{name}{{{labels}}} {}", figure(g));
            }
        }
    }
}
