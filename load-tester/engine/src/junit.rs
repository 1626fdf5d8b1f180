//! JUnit XML: one test case per threshold, plus one for the run itself, for CI systems.

use std::fmt::Write;

use lt_protocol::{EndReason, Report};

/// The report as JUnit XML.
pub fn junit_xml(report: &Report) -> String {
    let run_failed = !matches!(report.end_reason, EndReason::Completed);
    let failures = report.thresholds.iter().filter(|t| !t.passed).count() + usize::from(run_failed);
    let tests = report.thresholds.len() + 1;
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"load-tester\" tests=\"{tests}\" failures=\"{failures}\" time=\"{:.3}\">",
        report.duration_s
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{:.3}\">",
        escape(&report.scenario),
        report.duration_s
    );
    let _ = writeln!(
        xml,
        "    <testcase classname=\"run\" name=\"run ends normally\" time=\"{:.3}\">",
        report.duration_s
    );
    if run_failed {
        let _ = writeln!(
            xml,
            "      <failure message=\"{}\" type=\"end_reason\"/>",
            escape(&report.end_reason.describe())
        );
    }
    // The run's own notes: open-model drops and the generator's warnings, where CI shows them.
    let notes = crate::junit_notes::notes(report);
    if !notes.is_empty() {
        let _ = writeln!(xml, "      <system-out>{}</system-out>", escape(&notes));
    }
    xml.push_str("    </testcase>\n");
    for t in &report.thresholds {
        let _ = writeln!(
            xml,
            "    <testcase classname=\"thresholds\" name=\"{}\" time=\"0\">",
            escape(&t.rule)
        );
        if !t.passed {
            let observed = match t.observed {
                Some(_) => format!("observed {}", t.observed_text()),
                None => "nothing was measured".to_string(),
            };
            let _ = writeln!(
                xml,
                "      <failure message=\"{}: {}\" type=\"threshold\"/>",
                escape(&t.rule),
                escape(&observed)
            );
        }
        xml.push_str("    </testcase>\n");
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}
