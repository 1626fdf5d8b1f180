//! `load-tester validate`: exit codes and positioned diagnostics, on the shipped scenarios too.

mod common;

use common::load_tester;
use lt_testkit::write_scenario;

#[tokio::test]
async fn shipped_scenarios_are_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let args: Vec<&str> = std::iter::once("validate")
        .chain(files.iter().map(String::as_str))
        .collect();
    let out = load_tester(&args).await;
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.matches(": ok (").count(), files.len());
}

#[tokio::test]
async fn every_problem_of_every_file_is_printed_with_its_position_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_scenario(
        dir.path(),
        "bad.yaml",
        "name: bad\ntarget: http://127.0.0.1:1\nload:\n  users: -3\n  think_time: { min: 5s, max: 1s }\nendpoints:\n  - name: a\n    path: /a\n    weight: 0\n",
    );
    let good = write_scenario(
        dir.path(),
        "good.yaml",
        "name: good\ntarget: http://127.0.0.1:1\nendpoints:\n  - name: a\n    path: /a\n",
    );
    let bad = bad.display().to_string();
    let good = good.display().to_string();
    let out = load_tester(&["validate", &good, &bad]).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stdout
            .contains(&format!("{good}: ok (1 endpoint, 0 thresholds)")),
        "{}",
        out.stdout
    );
    for expected in [
        format!("{bad}:4:10: load.users:"),
        format!("{bad}:5:"),
        "all endpoint weights are zero".to_string(),
    ] {
        assert!(
            out.stderr.contains(&expected),
            "missing `{expected}` in:\n{}",
            out.stderr
        );
    }
    assert!(out.stderr.contains("`-3`"), "{}", out.stderr);
}

#[tokio::test]
async fn a_missing_file_is_named() {
    let out = load_tester(&["validate", "/nonexistent/x.yaml"]).await;
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr
            .contains("/nonexistent/x.yaml: cannot read the file"),
        "{}",
        out.stderr
    );
}
