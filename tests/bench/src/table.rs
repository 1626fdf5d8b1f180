//! The figures of repeated runs and the markdown table that shows them: median and range of
//! requests per second, CPU per 100k requests, peak memory, and ratios to the reference
//! generators of the same run.

/// Median, smallest and largest of a set of values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// The summary of `values`; `None` when there are none (NaNs are left out).
pub fn summarize(values: &[f64]) -> Option<Summary> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(Summary {
        median,
        min: sorted[0],
        max: sorted[n - 1],
    })
}

/// One generator's runs at one connection count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub label: String,
    /// Requests per second at the target, one per run.
    pub rps: Vec<f64>,
    /// CPU seconds per 100k requests, one per run.
    pub cpu_per_100k: Vec<f64>,
    /// The highest peak RSS over the runs, in KiB.
    pub peak_rss_kib: Option<u64>,
    /// Why the row has no runs (a generator that is not available).
    pub note: Option<String>,
}

impl Row {
    /// The median requests per second, if it ran.
    pub fn median_rps(&self) -> Option<f64> {
        summarize(&self.rps).map(|s| s.median)
    }
}

/// A markdown table of `rows`, with each median compared to `wrk_rps` and `goose_rps` (the
/// medians of the reference generators; `–` where a reference did not run).
pub fn markdown(rows: &[Row], wrk_rps: Option<f64>, goose_rps: Option<f64>) -> String {
    let mut out = String::from(
        "| generator | median req/s | min–max req/s | CPU s / 100k req | peak RSS MiB | vs wrk | vs Goose bare (defaults) |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let Some(rps) = summarize(&row.rps) else {
            let note = row.note.as_deref().unwrap_or("did not run");
            out.push_str(&format!("| {} | {note} | | | | | |\n", row.label));
            continue;
        };
        let cpu = summarize(&row.cpu_per_100k)
            .map(|s| format!("{:.2}", s.median))
            .unwrap_or_else(|| "–".into());
        let rss = row
            .peak_rss_kib
            .map(|kib| format!("{:.1}", kib as f64 / 1024.0))
            .unwrap_or_else(|| "–".into());
        out.push_str(&format!(
            "| {} | {} | {}–{} | {cpu} | {rss} | {} | {} |\n",
            row.label,
            thousands(rps.median),
            thousands(rps.min),
            thousands(rps.max),
            ratio(rps.median, wrk_rps),
            ratio(rps.median, goose_rps),
        ));
    }
    out
}

fn ratio(value: f64, reference: Option<f64>) -> String {
    match reference {
        Some(r) if r > 0.0 => format!("{:.2}×", value / r),
        _ => "–".into(),
    }
}

/// A rounded number with its digits grouped by three: `52,341`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if value < 0.0 && digits != "0" {
        format!("-{grouped}")
    } else {
        grouped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_range() {
        let s = summarize(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        let even = summarize(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((even.median, even.min, even.max), (2.5, 1.0, 4.0));
        assert_eq!(summarize(&[7.0]).unwrap().median, 7.0);
        assert_eq!(summarize(&[]), None);
        assert_eq!(summarize(&[f64::NAN]), None);
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(52_340.6), "52,341");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(thousands(-1234.0), "-1,234");
    }

    #[test]
    fn table_with_ratios_and_a_skipped_row() {
        let rows = vec![
            Row {
                label: "wrk -t1".into(),
                rps: vec![50_000.0, 40_000.0, 60_000.0],
                cpu_per_100k: vec![1.0, 2.0, 3.0],
                peak_rss_kib: Some(5 * 1024),
                note: None,
            },
            Row {
                label: "goose".into(),
                rps: vec![25_000.0],
                cpu_per_100k: vec![4.0],
                peak_rss_kib: None,
                note: None,
            },
            Row {
                label: "absent".into(),
                note: Some("skipped: not installed".into()),
                ..Row::default()
            },
        ];
        let wrk = rows[0].median_rps();
        let goose = rows[1].median_rps();
        let table = markdown(&rows, wrk, goose);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].starts_with("| generator | median req/s |"));
        assert_eq!(
            lines[2],
            "| wrk -t1 | 50,000 | 40,000–60,000 | 2.00 | 5.0 | 1.00× | 2.00× |"
        );
        assert_eq!(
            lines[3],
            "| goose | 25,000 | 25,000–25,000 | 4.00 | – | 0.50× | 1.00× |"
        );
        assert_eq!(lines[4], "| absent | skipped: not installed | | | | | |");
        let no_refs = markdown(&rows[1..2], None, None);
        assert!(no_refs.contains("| – | – |"));
    }
}
