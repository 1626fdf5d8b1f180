//! The report as one HTML file: inline style, inline data, inline uPlot, no request at view
//! time. Every text that comes from a scenario or a target (names, descriptions, messages, URLs)
//! is escaped; the data for the charts is JSON in a non-executable script element with `<`
//! escaped, so nothing a scenario says can become markup or script.

use std::fmt::Write;

use lt_protocol::{FailureClass, FailureCounts};
use serde_json::{Value, json};

use crate::input::{ReportInput, Second};
use crate::timeline;
use crate::trace_link::trace_link;

const UPLOT_JS: &str = include_str!("../assets/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../assets/uPlot.min.css");

const STYLE: &str = r##"
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1180px; padding: 1.5rem; color: #1b1f24; }
h1 { margin: 0 0 .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d7dce2; padding-bottom: .2rem; }
.muted { color: #5b6570; } .small { font-size: .85rem; }
.verdict { display: inline-block; padding: .15rem .6rem; border-radius: 4px; font-weight: 700; }
.pass { background: #dff5e3; color: #14532d; } .fail { background: #ffdad6; color: #7a1410; } .none { background: #e6e9ed; }
.warn { background: #fff1c2; color: #6b4500; padding: 0 .3rem; border-radius: 3px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: .6rem; margin: 1rem 0; }
.figure { border: 1px solid #d7dce2; border-radius: 6px; padding: .5rem .7rem; }
.figure b { display: block; font-size: 1.3rem; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e6e9ed; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.chart { margin: 1rem 0; min-height: 280px; }
code { background: #f1f3f5; padding: 0 .2rem; border-radius: 3px; }
"##;

const CHARTS_JS: &str = r##"
(function () {
  var d = JSON.parse(document.getElementById("report-data").textContent);
  var xs = d.seconds.map(function (s) { return s.second; });
  function col(k) { return d.seconds.map(function (s) { return s[k]; }); }
  function chart(id, title, unit, series, cols) {
    var el = document.getElementById(id);
    if (!xs.length) { el.textContent = "No seconds were recorded."; return; }
    new uPlot({
      title: title, width: Math.max(480, el.clientWidth || 1100), height: 260,
      scales: { x: { time: false } },
      axes: [{ label: "second of the run" }, { label: unit }],
      series: [{ label: "second" }].concat(series)
    }, [xs].concat(cols), el);
  }
  chart("chart-requests", "Requests and failures per second", "per second",
    [{ label: "requests/s", stroke: "#2563eb", width: 2 }, { label: "failures/s", stroke: "#dc2626", width: 2 }],
    [col("rps"), col("failures")]);
  chart("chart-latency", "Latency of each second's requests", "ms",
    [{ label: "p50", stroke: "#16a34a" }, { label: "p95", stroke: "#ea580c", width: 2 }, { label: "p99", stroke: "#7c3aed" }],
    [col("p50"), col("p95"), col("p99")]);
  chart("chart-users", "Users", "users",
    [{ label: "target", stroke: "#6b7280", dash: [6, 4] }, { label: "active", stroke: "#2563eb", width: 2 },
     { label: "in backoff", stroke: "#ea580c" }, { label: "parked", stroke: "#7c3aed" }],
    [col("target_users"), col("active_users"), col("users_in_backoff"), col("parked_users")]);
})();
"##;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Milliseconds as people read them.
pub(crate) fn ms(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v < 1.0 {
        format!("{v:.2} ms")
    } else if v < 100.0 {
        format!("{v:.1} ms")
    } else if v < 1000.0 {
        format!("{v:.0} ms")
    } else {
        format!("{:.2} s", v / 1000.0)
    }
}

fn percent(ratio: f64) -> String {
    format!("{:.2} %", ratio * 100.0)
}

/// Seconds as `1 min 05 s`.
fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// Milliseconds since the Unix epoch as `2026-12-02 01:35:07 UTC`.
fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The whole report.
pub fn render(input: &ReportInput) -> String {
    let mut out = String::with_capacity(96 * 1024);
    let title = format!("{} · load test report", input.scenario);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{UPLOT_CSS}{STYLE}</style></head><body>",
        esc(&title)
    );
    header(&mut out, input);
    figures(&mut out, input);
    crate::accuracy::section(&mut out, input);
    profile(&mut out, input);
    out.push_str(
        "<h2>Per second</h2><div class=\"chart\" id=\"chart-requests\"></div>\
         <div class=\"chart\" id=\"chart-latency\"></div><div class=\"chart\" id=\"chart-users\"></div>",
    );
    endpoints(&mut out, input);
    flows(&mut out, input);
    thresholds(&mut out, input);
    protections(&mut out, &input.seconds, input);
    errors(&mut out, input);
    let data = json!({ "seconds": input.seconds });
    // JSON in a data block: `<` escaped so no `</script>` can close it.
    let data = data.to_string().replace('<', "\\u003c");
    let _ = writeln!(
        out,
        "<script id=\"report-data\" type=\"application/json\">{data}</script>\
         <script>{UPLOT_JS}</script><script>{CHARTS_JS}</script></body></html>"
    );
    out
}

fn header(out: &mut String, input: &ReportInput) {
    let verdict = match &input.summary {
        Some(r) if r.thresholds_passed() && input.status == "completed" => {
            "<span class=\"verdict pass\" id=\"verdict\">PASS</span>"
        }
        Some(_) => "<span class=\"verdict fail\" id=\"verdict\">FAIL</span>",
        None => "<span class=\"verdict none\" id=\"verdict\">NOT JUDGED</span>",
    };
    let _ = write!(out, "<h1 id=\"scenario\">{}</h1>", esc(&input.scenario));
    if input.summary.as_ref().is_some_and(|r| r.insecure_tls) {
        let _ = write!(
            out,
            "<p class=\"warn\" id=\"insecure-tls\"><b>Warning:</b> {}</p>",
            esc(lt_protocol::INSECURE_TLS_WARNING)
        );
    }
    if let Some(d) = &input.description {
        let _ = write!(out, "<p id=\"description\">{}</p>", esc(d));
    }
    let started = input
        .started_at_ms
        .map(|ms| format!(" · started {}", utc(ms)))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<p>{verdict} <b>{}</b>{} · {} · target <code>{}</code> · session <code>{}</code>{started}</p>",
        esc(&input.status),
        input
            .reason
            .as_deref()
            .map(|r| format!(": {}", esc(r)))
            .unwrap_or_default(),
        duration(input.duration_s),
        esc(&input.target),
        esc(&input.session_id),
    );
    if input.summary.is_none() {
        out.push_str(
            "<p class=\"muted\">This session ended without its end-of-run summary (it was killed \
             or failed), so this report is built from its stored seconds: counts are exact, \
             whole-run percentiles and thresholds are not available.</p>",
        );
    }
}

fn figure(out: &mut String, label: &str, value: String) {
    let _ = write!(
        out,
        "<div class=\"figure\"><span class=\"muted small\">{label}</span><b>{}</b></div>",
        esc(&value)
    );
}

fn figures(out: &mut String, input: &ReportInput) {
    out.push_str("<h2>Whole run</h2><div class=\"figures\" id=\"figures\">");
    let (requests, failures) = match &input.summary {
        Some(r) => (r.requests, r.failures),
        None => (
            input.seconds.iter().map(|s| s.requests).sum(),
            input.seconds.iter().map(|s| s.failures).sum(),
        ),
    };
    figure(out, "Requests", requests.to_string());
    figure(out, "Failures", failures.to_string());
    let rate = if requests == 0 {
        0.0
    } else {
        failures as f64 / requests as f64
    };
    figure(out, "Error rate", percent(rate));
    figure(
        out,
        "Requests/s",
        format!("{:.1}", requests as f64 / input.duration_s.max(1e-3)),
    );
    match &input.summary {
        Some(r) => {
            let l = r.latency_ms;
            for (label, v) in [
                ("p50", l.p50),
                ("p95", l.p95),
                ("p99", l.p99),
                ("max", l.max),
            ] {
                figure(out, label, ms(v));
            }
            figure(out, "Peak users", r.max_users.to_string());
        }
        None => {
            let peak = input.seconds.iter().map(|s| s.active_users).max();
            figure(out, "Peak users", peak.unwrap_or(0).to_string());
        }
    }
    out.push_str("</div>");
    failure_classes(out, input);
}

/// A class's name as the report writes it.
fn class_label(class: FailureClass) -> &'static str {
    match class {
        FailureClass::Status4xx => "4xx",
        FailureClass::Status5xx => "5xx",
        other => other.as_str(),
    }
}

/// The whole run's failures by class: every class, so a scenario's capture and check failures
/// show beside the transport and status ones.
fn failure_classes(out: &mut String, input: &ReportInput) {
    let mut counts = FailureCounts::default();
    match &input.summary {
        Some(r) => r
            .endpoints
            .iter()
            .for_each(|e| counts.merge(&e.failures_by_class)),
        None => input.seconds.iter().for_each(|s| counts.merge(&s.by_class)),
    }
    let parts: Vec<String> = FailureClass::ALL
        .iter()
        .map(|&c| format!("{} {}", class_label(c), counts.get(c)))
        .collect();
    let _ = write!(
        out,
        "<p id=\"failure-classes\"><span class=\"muted\">Failures by class, whole run:</span> {}</p>",
        esc(&parts.join(" · "))
    );
}

/// The planned profile (ramp, stages, duration, rates) in words, and the live changes.
fn profile(out: &mut String, input: &ReportInput) {
    out.push_str("<h2>Load profile</h2><ul id=\"profile\">");
    let load = &input.load;
    let users = load["users"].as_u64().unwrap_or(0);
    let ramp = match &load["ramp"] {
        Value::Object(m) if m.contains_key("over") => {
            format!(
                "ramp to {users} users over {}",
                m["over"].as_str().unwrap_or("?")
            )
        }
        Value::Object(m) if m.contains_key("rate") => format!(
            "ramp to {users} users at {} users/s",
            m["rate"].as_f64().unwrap_or(0.0)
        ),
        _ => format!("{users} users at once"),
    };
    let _ = write!(
        out,
        "<li>{}, for {}</li>",
        esc(&ramp),
        esc(load["duration"].as_str().unwrap_or("?"))
    );
    if let Some(stages) = load["stages"].as_array().filter(|s| !s.is_empty()) {
        let steps: Vec<String> = stages
            .iter()
            .map(|s| {
                format!(
                    "{} users for {}",
                    s["users"].as_u64().unwrap_or(0),
                    s["duration"].as_str().unwrap_or("?")
                )
            })
            .collect();
        let _ = write!(
            out,
            "<li id=\"stages\">then stages: {}</li>",
            esc(&steps.join(" → "))
        );
    }
    if let Some(rate) = load["arrival_rate"].as_f64() {
        let _ = write!(out, "<li>open model: {rate} requests/s</li>");
    }
    if let Some(rate) = load["rate"].as_f64() {
        let _ = write!(out, "<li>capped at {rate} requests/s</li>");
    }
    if let Some(scaled) = load["scaled"].as_str() {
        let _ = write!(out, "<li>{}</li>", esc(scaled));
    }
    for c in &input.changes {
        let at = input
            .started_at_ms
            .map(|start| format!("at {} s", c.at_ms.saturating_sub(start) / 1000))
            .unwrap_or_else(|| format!("at {} ms", c.at_ms));
        let _ = write!(
            out,
            "<li class=\"change\">{at}: {} set {} from <code>{}</code> to <code>{}</code></li>",
            esc(&c.who),
            esc(&c.field),
            esc(&c.old.to_string()),
            esc(&c.new.to_string())
        );
    }
    out.push_str("</ul><p class=\"muted small\">The users chart below shows the target users as the run followed this profile and its changes.</p>");
}

fn endpoints(out: &mut String, input: &ReportInput) {
    out.push_str(
        "<h2>Endpoints</h2><table id=\"endpoints\"><thead><tr><th>Endpoint</th><th class=\"n\">Requests</th>\
         <th class=\"n\">Failures</th><th class=\"n\">Short-circuited</th><th class=\"n\">Requests/s</th>\
         <th class=\"n\">p50</th><th class=\"n\">p95</th><th class=\"n\">p99</th></tr></thead><tbody>",
    );
    match &input.summary {
        Some(r) => {
            for e in &r.endpoints {
                let l = e.latency_ms;
                let _ = write!(
                    out,
                    "<tr><td>{} {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                     <td class=\"n\">{:.1}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    esc(&e.method),
                    esc(&e.name),
                    e.requests,
                    e.failures,
                    e.short_circuited,
                    e.rps,
                    ms(l.p50),
                    ms(l.p95),
                    ms(l.p99)
                );
            }
        }
        None => {
            let mut names: Vec<&str> = Vec::new();
            for s in &input.seconds {
                for e in &s.endpoints {
                    if !names.contains(&e.name.as_str()) {
                        names.push(&e.name);
                    }
                }
            }
            for name in names {
                let (requests, failures) = sum_endpoint(&input.seconds, name);
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td class=\"n\">{requests}</td><td class=\"n\">{failures}</td>\
                     <td class=\"n\">–</td><td class=\"n\">{:.1}</td><td class=\"n\">–</td><td class=\"n\">–</td><td class=\"n\">–</td></tr>",
                    esc(name),
                    requests as f64 / input.duration_s.max(1e-3)
                );
            }
        }
    }
    out.push_str("</tbody></table>");
}

/// The flows (journeys): iterations and journey durations over the whole run.
fn flows(out: &mut String, input: &ReportInput) {
    if input.flows.is_empty() {
        return;
    }
    out.push_str(
        "<h2>Flows (journeys), whole run</h2><table id=\"flows\"><thead><tr><th>Flow</th>\
         <th class=\"n\">Iterations started</th><th class=\"n\">Completed</th><th class=\"n\">Failed</th>\
         <th class=\"n\">Completed iterations/s</th><th class=\"n\">Journey p50</th><th class=\"n\">Journey p95</th>\
         <th class=\"n\">Journey p99</th></tr></thead><tbody>",
    );
    for f in &input.flows {
        let l = f.journey_ms;
        let journey = |v: f64| {
            if f.completed == 0 {
                "–".to_string()
            } else {
                ms(v)
            }
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{:.2}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&f.name),
            f.started,
            f.completed,
            f.failed,
            f.rate,
            journey(l.p50),
            journey(l.p95),
            journey(l.p99)
        );
    }
    out.push_str("</tbody></table><p class=\"muted small\">An iteration is one user's run through a flow's steps: completed when every step succeeded, failed when a step ended it. The journey is a completed iteration's duration, first step sent to last step answered (think time between steps included). Each step's requests are in the endpoints table as <code>flow/step</code>.");
    if input.summary.is_none() {
        out.push_str(
            " Without the end-of-run summary, these are the totals as of the last recorded second.",
        );
    }
    out.push_str("</p>");
}

fn sum_endpoint(seconds: &[Second], name: &str) -> (u64, u64) {
    seconds
        .iter()
        .flat_map(|s| s.endpoints.iter().filter(|e| e.name == name))
        .fold((0, 0), |(r, f), e| (r + e.requests, f + e.failures))
}

fn thresholds(out: &mut String, input: &ReportInput) {
    out.push_str("<h2>Thresholds</h2>");
    let Some(r) = &input.summary else {
        out.push_str("<p class=\"muted\">Not judged: the run has no summary.</p>");
        return;
    };
    out.push_str(
        "<table id=\"thresholds\"><thead><tr><th>Verdict</th><th>Rule</th><th class=\"n\">Observed</th></tr></thead><tbody>",
    );
    for t in &r.thresholds {
        let (class, word) = if t.passed {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        let _ = write!(
            out,
            "<tr><td><span class=\"verdict {class}\">{word}</span></td><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(&t.rule),
            esc(&t.observed_text())
        );
    }
    out.push_str("</tbody></table><p class=\"muted small\">Latency rules are judged on requests that got a response or timed out; connection failures and requests the breaker refused are not timed.</p>");
}

fn protections(out: &mut String, seconds: &[Second], input: &ReportInput) {
    out.push_str("<h2>Protections</h2><ul id=\"protections\">");
    let events = timeline::protections(seconds);
    for e in &events {
        let _ = write!(out, "<li>second {}: {}</li>", e.second, esc(&e.text));
    }
    if let Some(reason) = input.reason.as_deref().filter(|r| r.contains("budget")) {
        let _ = write!(out, "<li>the run ended: {}</li>", esc(reason));
    } else if events.is_empty() {
        out.push_str(
            "<li class=\"muted\">No breaker opened, no user backed off or was parked.</li>",
        );
    }
    out.push_str("</ul>");
}

fn errors(out: &mut String, input: &ReportInput) {
    out.push_str("<h2>Errors</h2>");
    if input.errors.is_empty() {
        out.push_str("<p class=\"muted\">No failed or slow requests were recorded.</p>");
        return;
    }
    out.push_str(
        "<table id=\"errors\"><thead><tr><th>Endpoint</th><th>Class</th><th class=\"n\">Status</th>\
         <th>Message (first of its kind)</th><th class=\"n\">Count</th><th>Trace ids</th></tr></thead><tbody>",
    );
    for g in input.errors.iter().take(20) {
        let traces: Vec<String> = g
            .trace_ids
            .iter()
            .take(3)
            .map(|t| trace_link(t, input.trace_url.as_deref()))
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&g.endpoint),
            esc(&g.class),
            g.status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "–".into()),
            esc(&g.message),
            g.count,
            traces.join("<br>")
        );
    }
    out.push_str("</tbody></table>");
}
