//! The options that make figures true: `load.arrival_max_wait`, the generator's limits
//! (`load.max_memory`, `load.max_cpu`) and the closed model's `latency.correction`.

use std::time::Duration;

use lt_scenario::{LatencyCorrection, parse};

fn with(load: &str, rest: &str) -> String {
    format!(
        "name: x\ntarget: http://127.0.0.1:1\nload:\n  users: 2\n{load}endpoints:\n  - {{ name: a, path: / }}\n{rest}"
    )
}

fn problems(text: &str) -> Vec<String> {
    match parse("file.yaml", text) {
        Ok(_) => Vec::new(),
        Err(d) => d.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn defaults_and_values() {
    let s = parse("file.yaml", &with("", "")).unwrap();
    assert_eq!(s.load.arrival_max_wait, Duration::from_secs(1));
    assert!(s.load.limits.is_empty());
    assert_eq!(s.latency.correction, LatencyCorrection::None);

    let s = parse(
        "file.yaml",
        &with(
            "  arrival_rate: 50\n  arrival_max_wait: 0s\n  max_memory: 512MiB\n  max_cpu: 150%\n",
            "",
        ),
    )
    .unwrap();
    assert_eq!(s.load.arrival_max_wait, Duration::ZERO);
    assert_eq!(s.load.limits.max_memory, Some(512 * 1024 * 1024));
    assert_eq!(s.load.limits.max_cpu, Some(150.0));
    let cores = parse("file.yaml", &with("  max_cpu: 1.5\n", "")).unwrap();
    assert_eq!(cores.load.limits.max_cpu, Some(150.0));

    let s = parse(
        "file.yaml",
        &with(
            "",
            "latency:\n  correction: expected_interval\n  expected_interval: 2s\n",
        ),
    )
    .unwrap();
    assert_eq!(
        s.latency.correction,
        LatencyCorrection::ExpectedInterval {
            interval: Some(Duration::from_secs(2))
        }
    );
    let auto = parse(
        "file.yaml",
        &with(
            "",
            "latency: { correction: expected_interval, expected_interval: auto }\n",
        ),
    )
    .unwrap();
    assert_eq!(
        auto.latency.correction,
        LatencyCorrection::ExpectedInterval { interval: None }
    );
}

#[test]
fn mistakes_are_named() {
    assert_eq!(
        problems(&with("  max_memory: 12 parsecs\n", "")),
        [
            "file.yaml:5:15: load.max_memory: unknown size unit `parsecs`; use B, KB, KiB, MB, MiB, GB, GiB, TB or TiB"
        ]
    );
    assert_eq!(
        problems(&with("  max_cpu: lots\n", "")),
        [
            "file.yaml:5:12: load.max_cpu: expected a share of one core such as 150% or a number of cores such as 1.5, got `lots`"
        ]
    );
    assert_eq!(
        problems(&with("", "latency: { correction: magic }\n")),
        [
            "file.yaml:7:24: latency.correction: unknown correction `magic`; use `none` or `expected_interval`"
        ]
    );
    assert_eq!(
        problems(&with("", "latency: { expected_interval: 1s }\n")),
        [
            "file.yaml:7:31: latency.expected_interval: expected_interval is used only with `correction: expected_interval`"
        ]
    );
    let open = problems(&with(
        "  arrival_rate: 10\n",
        "latency: { correction: expected_interval }\n",
    ));
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(
        open[0].contains(
            "the open model (arrival_rate) already measures from each arrival's intended send time"
        ),
        "{open:?}"
    );
}
