//! `lt-bench all`: every benchmark in turn (throughput, memory, soak, accuracy, control) as one
//! markdown document with a header (date, machine, versions, the command line) and a "targets"
//! section holding the figures against the promises. `--quick` shortens every part (about six
//! minutes), `--smoke` makes each tiny (only to check that everything still runs), and
//! `--write PATH` also writes the document there. A benchmark that fails is reported in its
//! section, the others still run, and the command then exits non-zero; a promise that is
//! missed never makes it fail.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::accuracy::{self, AccuracySettings};
use crate::control;
use crate::generators::{Generator, Toolbox};
use crate::lt_run::load_tester_beside_us;
use crate::machine;
use crate::memory::{self, MemorySettings};
use crate::os;
use crate::soak::{self, SoakSettings};
use crate::targets::{self, Figures};
use crate::throughput::{self, Settings};

/// The `all` subcommand's arguments.
#[derive(Debug, Args)]
pub struct AllArgs {
    /// Shorter runs: about six minutes in total.
    #[arg(long)]
    pub quick: bool,
    /// Tiny runs, one repetition: only checks that every benchmark still runs.
    #[arg(long)]
    pub smoke: bool,
    /// Also write the document to this file.
    #[arg(long, value_name = "PATH")]
    pub write: Option<PathBuf>,
}

/// Each benchmark's settings for a mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub throughput: Settings,
    pub memory: MemorySettings,
    pub soak: SoakSettings,
    pub accuracy: AccuracySettings,
    /// `(sessions, users)` per run of the control-plane script.
    pub control: Vec<(u32, u32)>,
}

impl Plan {
    /// The plan for `--smoke`, `--quick` or neither (smoke wins).
    pub fn new(quick: bool, smoke: bool) -> Plan {
        if smoke {
            return Plan {
                throughput: Settings {
                    seconds: 1,
                    reps: 1,
                    connections: vec![32],
                },
                memory: MemorySettings::smoke(),
                soak: SoakSettings::smoke(),
                accuracy: AccuracySettings::smoke(),
                control: vec![(1, 2)],
            };
        }
        Plan {
            throughput: Settings {
                seconds: if quick { 5 } else { 15 },
                reps: 3,
                connections: if quick { vec![32] } else { vec![32, 128] },
            },
            memory: MemorySettings::new(quick),
            soak: SoakSettings::new(30, quick),
            accuracy: AccuracySettings::new(quick),
            control: vec![(1, 5), (10, 5)],
        }
    }
}

/// Runs everything, prints the document (and writes it with `--write`).
pub fn run(args: &AllArgs) -> Result<()> {
    let plan = Plan::new(args.quick, args.smoke);
    let started = Instant::now();
    let mut figures = Figures::default();
    let mut failed: Vec<&str> = Vec::new();
    let mut sections = String::new();

    let mut section = |title: &str, result: Result<String>, took: f64| {
        let body = match result {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{title} failed: {e:#}");
                format!("**Failed:** {e:#}\n")
            }
        };
        sections.push_str(&format!(
            "\n## {title}\n\n{}\n\n({took:.0} s)\n",
            body.trim_end()
        ));
    };

    let t = Instant::now();
    let result = throughput::measure(&plan.throughput).map(|o| {
        figures.on_vs_goose_32 = o.ratio(32, Generator::LoadTesterOn, Generator::GooseDefault);
        figures.on_vs_wrk_32 = o.ratio(32, Generator::LoadTesterOn, Generator::Wrk);
        demote_headings(&o.markdown, 1)
    });
    failed.extend(result.is_err().then_some("throughput"));
    section("Throughput", result, t.elapsed().as_secs_f64());

    let t = Instant::now();
    let result = memory::measure(&plan.memory).map(|o| {
        if let Some(row) = o.rows.iter().find(|r| r.users == 10_000) {
            figures.kib_per_user_10k = row.kib_per_user;
            figures.first_request_10k_s = row.first_request.map(|d| d.as_secs_f64());
        }
        o.markdown
    });
    failed.extend(result.is_err().then_some("memory"));
    section("Memory per user", result, t.elapsed().as_secs_f64());

    let t = Instant::now();
    let result = soak::measure(&plan.soak).map(|o| {
        figures.soak_deviation_pct = o.flatness.map(|f| f.max_deviation_pct);
        o.markdown
    });
    failed.extend(result.is_err().then_some("soak"));
    section("Soak", result, t.elapsed().as_secs_f64());

    let t = Instant::now();
    let result = accuracy::measure(&plan.accuracy).map(|o| o.markdown);
    failed.extend(result.is_err().then_some("accuracy"));
    section("Accuracy", result, t.elapsed().as_secs_f64());

    let t = Instant::now();
    let result = control::measure(&plan.control).map(|o| {
        figures.api_p99_ms = o.figures.api_p99_ms;
        figures.sse_p99_ms = o.figures.sse_p99_ms;
        figures.stop_silence_ms = o.figures.stop_silence_ms;
        figures.store_tx_per_session_s = o.figures.store_tx_per_session_s;
        o.markdown
    });
    failed.extend(result.is_err().then_some("control"));
    section("Control plane", result, t.elapsed().as_secs_f64());

    let mut doc = header(args, &plan)?;
    doc.push_str("\n## Targets\n\n");
    doc.push_str(
        "Figures of this run against the promises (\"not measured\" where this mode does not \
         measure them; a missed promise does not fail the command).\n\n",
    );
    for line in targets::lines(&figures) {
        writeln!(doc, "{line}")?;
    }
    doc.push_str(&sections);
    writeln!(doc, "\nTotal: {:.0} s.", started.elapsed().as_secs_f64())?;
    let doc = without_machine_paths(&doc);
    print!("{doc}");
    if let Some(path) = &args.write {
        std::fs::write(path, &doc).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("written to {}", path.display());
    }
    if !failed.is_empty() {
        bail!("failed: {}", failed.join(", "));
    }
    Ok(())
}

fn header(args: &AllArgs, plan: &Plan) -> Result<String> {
    let lt_bench = std::env::current_exe().context("cannot find this program's own path")?;
    let toolbox = Toolbox {
        lt_bench,
        load_tester: load_tester_beside_us()?,
        wrk: os::find_in_path("wrk"),
        taskset: None,
        workdir: std::env::temp_dir(),
    };
    let mode = if args.smoke {
        "smoke (tiny runs: only checks that everything runs; the figures mean nothing)"
    } else if args.quick {
        "quick"
    } else {
        "full"
    };
    let command: Vec<String> = std::iter::once("lt-bench".to_string())
        .chain(std::env::args().skip(1))
        .collect();
    let mut out = String::from("# Benchmarks of the load tester\n\n");
    writeln!(
        out,
        "Written by `lt-bench all`; figures are printed, never asserted, and each is measured \
         on the machine below in the same run as its peers.\n"
    )?;
    writeln!(out, "- command: `{}`", command.join(" "))?;
    writeln!(out, "- mode: {mode}")?;
    for line in machine::describe(&toolbox) {
        writeln!(out, "{line}")?;
    }
    writeln!(
        out,
        "- python3: {}",
        machine::first_line_of(&["python3", "--version"]).unwrap_or_else(|| "not found".into())
    )?;
    writeln!(
        out,
        "- plan: throughput {} s × {} rep(s) at {:?} connections; memory {:?} users × {} s; \
         soak {} s; accuracy {:?} req/s × {} s; control {:?} (sessions, users)",
        plan.throughput.seconds,
        plan.throughput.reps,
        plan.throughput.connections,
        plan.memory.users,
        plan.memory.seconds,
        plan.soak.seconds,
        plan.accuracy.rates,
        plan.accuracy.seconds,
        plan.control
    )?;
    Ok(out)
}

/// Adds `levels` `#` to every markdown heading outside fenced code blocks.
pub fn demote_headings(text: &str, levels: usize) -> String {
    let mut in_fence = false;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
        }
        if !in_fence && line.starts_with('#') {
            out.push_str(&"#".repeat(levels));
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The document with this machine's folders replaced: the binaries' folder by
/// `target/release`, the temporary folder by `$TMPDIR`.
fn without_machine_paths(doc: &str) -> String {
    let mut doc = doc.to_string();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|p| p.display().to_string()))
    {
        doc = replace_folder(&doc, &dir, "target/release");
    }
    let tmp = std::env::temp_dir().display().to_string();
    let doc = replace_folder(&doc, tmp.trim_end_matches('/'), "$TMPDIR");
    // Tools found on the PATH are named, not located.
    ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .fold(doc, |doc, dir| {
            doc.replace(&format!("`{dir}/"), "`")
                .replace(&format!(" {dir}/"), " ")
        })
}

/// Replaces `folder` by `with` where it is followed by `/` (a path inside it).
pub fn replace_folder(text: &str, folder: &str, with: &str) -> String {
    if folder.len() < 2 {
        return text.to_string();
    }
    text.replace(&format!("{folder}/"), &format!("{with}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_move_down_outside_code() {
        let text = "# Title\n\ntext\n## Sub\n```yaml\n# a comment\n```\n# Again\n";
        assert_eq!(
            demote_headings(text, 2),
            "### Title\n\ntext\n#### Sub\n```yaml\n# a comment\n```\n### Again\n"
        );
    }

    #[test]
    fn folders_are_replaced() {
        let text = "`/opt/x/release/load-tester run /tmp/lt-bench-1/a.yaml` /tmpfile";
        let once = replace_folder(text, "/opt/x/release", "target/release");
        assert_eq!(
            replace_folder(&once, "/tmp", "$TMPDIR"),
            "`target/release/load-tester run $TMPDIR/lt-bench-1/a.yaml` /tmpfile"
        );
        assert_eq!(replace_folder(text, "/", "x"), text);
    }

    #[test]
    fn plans_per_mode() {
        let smoke = Plan::new(true, true);
        assert_eq!(smoke.throughput.reps, 1);
        assert_eq!(smoke.memory.users.iter().max(), Some(&100));
        assert_eq!(smoke.soak.seconds, 20);
        let quick = Plan::new(true, false);
        assert_eq!(quick.soak.seconds, 120);
        assert_eq!(quick.throughput.connections, vec![32]);
        assert_eq!(quick.control, vec![(1, 5), (10, 5)]);
        let full = Plan::new(false, false);
        assert_eq!(full.soak.seconds, 1800);
        assert_eq!(full.memory.seconds, 40);
    }
}
