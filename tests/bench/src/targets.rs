//! The promises the figures are held against, and the "targets" section of `lt-bench all`: one
//! line per promise, "met" or "missed by X" from the figure measured in the same run, or "not
//! measured" with the reason. Judging never fails the command.

/// Which side of the bound a figure must stay on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    AtLeast(f64),
    AtMost(f64),
}

/// "met" or "missed by X<unit>" for `value` against `bound`.
pub fn verdict(value: f64, bound: Bound, unit: &str) -> String {
    let missed = match bound {
        Bound::AtLeast(b) => b - value,
        Bound::AtMost(b) => value - b,
    };
    if missed <= 0.0 {
        "met".into()
    } else {
        format!("missed by {}{unit}", short(missed.max(0.001)))
    }
}

/// A number with three decimals below 1, two below 10, one below 100, none above.
pub fn short(value: f64) -> String {
    if value.abs() < 1.0 {
        format!("{value:.3}")
    } else if value.abs() < 10.0 {
        format!("{value:.2}")
    } else if value.abs() < 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

/// The figures measured by `all`; `None` where a benchmark did not give one.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// load-tester with protections on over bare Goose (defaults), 32 connections.
    pub on_vs_goose_32: Option<f64>,
    /// load-tester with protections on over wrk, 32 connections.
    pub on_vs_wrk_32: Option<f64>,
    /// Emergency stop: the longest time to silence at the target, ms.
    pub stop_silence_ms: Option<f64>,
    /// KiB per user at 10,000 users.
    pub kib_per_user_10k: Option<f64>,
    /// Seconds from start to the first request at 10,000 users.
    pub first_request_10k_s: Option<f64>,
    /// Largest deviation of the soak's RSS from its mean after warm-up, percent.
    pub soak_deviation_pct: Option<f64>,
    pub store_tx_per_session_s: Option<f64>,
    pub api_p99_ms: Option<f64>,
    pub sse_p99_ms: Option<f64>,
}

/// One promise: its text, the figure, the bound and the unit of the figure.
struct Promise {
    text: &'static str,
    value: Option<f64>,
    bound: Bound,
    unit: &'static str,
}

/// The "targets" section's lines (markdown list items).
pub fn lines(f: &Figures) -> Vec<String> {
    let promises = [
        Promise {
            text: "load-tester (protections on) ≥ 0.95× bare Goose at 32 connections",
            value: f.on_vs_goose_32,
            bound: Bound::AtLeast(0.95),
            unit: "×",
        },
        Promise {
            text: "load-tester (protections on) ≥ 0.60× wrk at 32 connections",
            value: f.on_vs_wrk_32,
            bound: Bound::AtLeast(0.60),
            unit: "×",
        },
        Promise {
            text: "emergency stop ≤ 200 ms to silence at the target",
            value: f.stop_silence_ms,
            bound: Bound::AtMost(200.0),
            unit: " ms",
        },
        Promise {
            text: "≤ 10 KiB per idle user at 10,000 users",
            value: f.kib_per_user_10k,
            bound: Bound::AtMost(10.0),
            unit: " KiB",
        },
        Promise {
            text: "first request within 2 s at 10,000 users",
            value: f.first_request_10k_s,
            bound: Bound::AtMost(2.0),
            unit: " s",
        },
        Promise {
            text: "worker RSS within ±5 % of its mean after warm-up (soak)",
            value: f.soak_deviation_pct,
            bound: Bound::AtMost(5.0),
            unit: " %",
        },
        Promise {
            text: "≤ 1 SQLite write transaction per second per session",
            value: f.store_tx_per_session_s,
            bound: Bound::AtMost(1.0),
            unit: "",
        },
        Promise {
            text: "control API p99 ≤ 20 ms",
            value: f.api_p99_ms,
            bound: Bound::AtMost(20.0),
            unit: " ms",
        },
        Promise {
            text: "SSE tick delay ≤ 1.2 s (p99)",
            value: f.sse_p99_ms,
            bound: Bound::AtMost(1200.0),
            unit: " ms",
        },
    ];
    promises
        .iter()
        .map(|p| match p.value {
            Some(v) => format!(
                "- {}: {}{}: **{}**",
                p.text,
                short(v),
                p.unit,
                verdict(v, p.bound, p.unit)
            ),
            None => format!("- {}: not measured in this run", p.text),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(verdict(0.97, Bound::AtLeast(0.95), "×"), "met");
        assert_eq!(verdict(0.95, Bound::AtLeast(0.95), "×"), "met");
        assert_eq!(verdict(0.90, Bound::AtLeast(0.95), "×"), "missed by 0.050×");
        assert_eq!(
            verdict(0.9499, Bound::AtLeast(0.95), "×"),
            "missed by 0.001×"
        );
        assert_eq!(
            verdict(250.0, Bound::AtMost(200.0), " ms"),
            "missed by 50.0 ms"
        );
        assert_eq!(verdict(-3.0, Bound::AtMost(200.0), " ms"), "met");
        assert_eq!(short(1234.4), "1234");
    }

    #[test]
    fn every_promise_has_a_line() {
        let none = lines(&Figures::default());
        assert_eq!(none.len(), 9);
        assert!(none.iter().all(|l| l.ends_with("not measured in this run")));
        let f = Figures {
            sse_p99_ms: Some(1500.0),
            kib_per_user_10k: Some(4.2),
            ..Figures::default()
        };
        let l = lines(&f);
        assert_eq!(
            l[3],
            "- ≤ 10 KiB per idle user at 10,000 users: 4.20 KiB: **met**"
        );
        assert_eq!(
            l[8],
            "- SSE tick delay ≤ 1.2 s (p99): 1500 ms: **missed by 300 ms**"
        );
    }
}
