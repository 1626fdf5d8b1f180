//! `load-tester run FILE`: one session, headless, in this process.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use lt_engine::{Engine, RunOptions};
use lt_protocol::{EndReason, Report, WorkerEvent};
use lt_scenario::{Overrides, parse_duration};
use tokio::sync::mpsc;

use crate::args::RunArgs;
use crate::exit;
use crate::progress::Progress;
use crate::series_file::SeriesFile;
use crate::summary::print_summary;

pub fn main(args: RunArgs) -> u8 {
    let scenario = match load_scenario(&args) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("{message}");
            return exit::INVALID;
        }
    };
    crate::runtime::block_on(run(scenario, args))
}

/// Reads the file and puts `TARGET_APP_URL` and the flags over it.
fn load_scenario(args: &RunArgs) -> Result<lt_scenario::Scenario, String> {
    let name = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("{name}: cannot read the file: {e}"))?;
    let duration = match &args.duration {
        Some(text) => Some(parse_duration(text).map_err(|e| format!("--duration: {e}"))?),
        None => None,
    };
    let ramp_up = match &args.ramp_up {
        Some(text) => Some(parse_duration(text).map_err(|e| format!("--ramp-up: {e}"))?),
        None => None,
    };
    let target = args.target.clone().or_else(|| {
        std::env::var("TARGET_APP_URL")
            .ok()
            .filter(|t| !t.is_empty())
    });
    let overrides = Overrides {
        target,
        users: args.users,
        duration,
        ramp_up,
        arrival_rate: args.arrival_rate,
        ..Overrides::default()
    };
    let env = crate::runtime::process_env();
    let inputs = lt_scenario::Inputs {
        env: &env,
        files: &crate::runtime::data_beside(&args.file),
    };
    lt_scenario::parse_with(&name, &text, &overrides, &inputs).map_err(|d| d.to_string())
}

async fn run(scenario: lt_scenario::Scenario, args: RunArgs) -> u8 {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let options = RunOptions {
        session_id: args.session_id.clone().unwrap_or_default(),
        html_report: args.goose_html.clone(),
        events: Some(tx),
        ..RunOptions::default()
    };
    if let Some(template) = &args.trace_url
        && let Err(e) = lt_report::check_trace_url(template)
    {
        eprintln!("error: --trace-url: {e}");
        return exit::INVALID;
    }
    for (flag, path) in [("--html", &args.html), ("--goose-html", &args.goose_html)] {
        if let Some(path) = path
            && let Err(e) = ensure_parent(path)
        {
            eprintln!("error: {flag}: {e:#}");
            return exit::INVALID;
        }
    }
    let mut series = match args.out.as_deref().map(SeriesFile::create).transpose() {
        Ok(series) => series,
        Err(e) => {
            eprintln!("error: {e:#}");
            return exit::INVALID;
        }
    };
    let (engine, handle) = match Engine::new(scenario.clone(), options) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
    };

    let sigterm = crate::runtime::stop_on_sigterm(&handle);
    let session_id = handle.session_id().to_string();

    let show_progress = !args.quiet;
    let tty = std::io::stderr().is_terminal();
    let keep_seconds = args.html.is_some();
    let printer = tokio::spawn(async move {
        let mut progress = Progress::new(tty);
        let mut seconds = Vec::new();
        while let Some(event) = rx.recv().await {
            if let (true, WorkerEvent::Tick(tick)) = (keep_seconds, &event) {
                seconds.push(lt_report::Second::from_tick(tick));
            }
            if let (Some(file), WorkerEvent::Tick(tick)) = (&mut series, &event)
                && let Err(e) = file.write(tick)
            {
                eprintln!("error: --out: {e:#}; the series is not written any further");
                series = None;
            }
            if !show_progress {
                continue;
            }
            match event {
                WorkerEvent::Tick(tick) => progress.tick(&tick),
                WorkerEvent::Lifecycle(l) => progress.lifecycle(&l),
                WorkerEvent::Error(sample) => progress.error(&sample),
                WorkerEvent::Change(_) | WorkerEvent::Finished(_) => {}
            }
        }
        progress.finish();
        seconds
    });

    eprintln!(
        "load-tester: running `{}` against {} with {} users for {} (session {})",
        scenario.name,
        scenario.target,
        scenario.load.users,
        lt_scenario::format_duration(scenario.load.duration),
        handle.session_id()
    );
    if let Some(scaled) = &scenario.load.scaled {
        eprintln!("load-tester: {scaled}");
    }
    if scenario.tls.insecure_skip_verify {
        eprintln!("WARNING: {}", lt_protocol::INSECURE_TLS_WARNING);
    }
    let result = engine.run().await;
    // The handles hold the event channel open; the printer ends when they are gone.
    sigterm.abort();
    let _ = sigterm.await;
    drop(handle);
    let seconds = printer.await.unwrap_or_default();
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: the run failed: {e}");
            return exit::FAILED;
        }
    };
    print_summary(&report);
    if let Some(path) = &args.html
        && let Err(e) = write_html(
            &scenario,
            &session_id,
            &report,
            seconds,
            args.trace_url.clone(),
            path,
        )
    {
        eprintln!("error: {e:#}");
        return exit::FAILED;
    }
    if let Err(e) = write_reports(&report, &args) {
        eprintln!("error: {e:#}");
        return exit::FAILED;
    }
    exit_code(&report)
}

pub(crate) fn exit_code(report: &Report) -> u8 {
    match report.end_reason {
        EndReason::Completed if report.thresholds_passed() => exit::OK,
        EndReason::Completed => exit::THRESHOLD_FAILED,
        EndReason::Stopped { .. } | EndReason::Aborted { .. } => exit::ABORTED,
        EndReason::Failed { .. } => exit::FAILED,
    }
}

fn write_reports(report: &Report, args: &RunArgs) -> anyhow::Result<()> {
    write_report_files(report, args.report.as_deref(), args.junit.as_deref())?;
    for (what, path) in [
        ("JSON", &args.report),
        ("JUnit", &args.junit),
        ("HTML", &args.html),
        ("Goose HTML", &args.goose_html),
    ] {
        if let Some(path) = path {
            eprintln!("{what} report: {}", path.display());
        }
    }
    Ok(())
}

/// Writes our HTML report of a headless run, from its ticks.
fn write_html(
    scenario: &lt_scenario::Scenario,
    session_id: &str,
    report: &Report,
    seconds: Vec<lt_report::Second>,
    trace_url: Option<String>,
    path: &Path,
) -> anyhow::Result<()> {
    let (status, reason) = match &report.end_reason {
        EndReason::Completed => ("completed", None),
        EndReason::Stopped { .. } => ("stopped", Some(report.end_reason.describe())),
        EndReason::Aborted { .. } => ("aborted", Some(report.end_reason.describe())),
        EndReason::Failed { .. } => ("failed", Some(report.end_reason.describe())),
    };
    let input = lt_report::ReportInput {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        target: scenario.target.clone(),
        session_id: session_id.to_string(),
        status: status.to_string(),
        reason,
        started_at_ms: Some(report.started_at_ms),
        duration_s: report.duration_s,
        load: serde_json::to_value(&scenario.load).context("encoding the load profile")?,
        summary: Some(report.clone()),
        flows: report.flows.clone(),
        seconds,
        changes: Vec::new(),
        errors: lt_report::ErrorRow::from_report(report),
        trace_url,
    };
    std::fs::write(path, lt_report::render(&input))
        .with_context(|| format!("writing the HTML report {}", path.display()))
}

/// Writes the JSON summary and the JUnit XML where asked.
pub(crate) fn write_report_files(
    report: &Report,
    json: Option<&Path>,
    junit: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(path) = json {
        ensure_parent(path)?;
        let text = serde_json::to_string_pretty(report).context("encoding the JSON report")?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("writing the JSON report {}", path.display()))?;
    }
    if let Some(path) = junit {
        ensure_parent(path)?;
        std::fs::write(path, lt_engine::junit::junit_xml(report))
            .with_context(|| format!("writing the JUnit report {}", path.display()))?;
    }
    Ok(())
}

fn ensure_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the folder {}", parent.display()))?;
    }
    Ok(())
}
