//! The `latency` section: the closed model's correction for coordinated omission.

use super::reader::{Item, Reader, Scalar, describe, scalar};
use crate::{LatencyCorrection, LatencyOptions};

const CORRECTIONS: &[&str] = &["none", "expected_interval"];

/// Reads `latency: { correction: none | expected_interval, expected_interval: auto | 2s }`.
pub(crate) fn read(r: &mut Reader, item: Option<Item<'_>>) -> Option<LatencyOptions> {
    let Some(item) = item.filter(|i| !i.is_null()) else {
        return Some(LatencyOptions::default());
    };
    let map = r.map(&item, &["correction", "expected_interval"])?;
    let kind = match map.value("correction") {
        None => Some("none".to_string()),
        Some(i) => match i.node {
            marked_yaml::Node::Scalar(s) if matches!(scalar(s), Scalar::Text(_)) => {
                let text = s.as_str().trim();
                if CORRECTIONS.contains(&text) {
                    Some(text.to_string())
                } else {
                    r.error_at(
                        &i,
                        format!("unknown correction `{text}`; use `none` or `expected_interval`"),
                    );
                    None
                }
            }
            node => {
                r.error_at(
                    &i,
                    format!(
                        "expected `none` or `expected_interval`, got {}",
                        describe(node)
                    ),
                );
                None
            }
        },
    };
    let interval_item = map.value("expected_interval");
    let interval = match &interval_item {
        None => Some(None),
        Some(i) if matches!(i.node, marked_yaml::Node::Scalar(s) if s.as_str() == "auto") => {
            Some(None)
        }
        Some(i) => r.positive_duration(i).map(Some),
    };
    let (kind, interval) = (kind?, interval?);
    if kind == "none" {
        if let (Some(i), Some(_)) = (&interval_item, interval) {
            r.error_at(
                i,
                "expected_interval is used only with `correction: expected_interval`",
            );
            return None;
        }
        return Some(LatencyOptions::default());
    }
    Some(LatencyOptions {
        correction: LatencyCorrection::ExpectedInterval { interval },
    })
}
