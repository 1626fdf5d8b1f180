//! The load section's limits on the generator itself (`max_memory`, `max_cpu`) and the open
//! model's `arrival_max_wait`.

use std::time::Duration;

use marked_yaml::Node;

use super::reader::{Item, Map, Reader, Scalar, describe, scalar, shorten};
use crate::{DEFAULT_ARRIVAL_MAX_WAIT, GeneratorLimits};

/// The fields this module reads in `load`.
pub(crate) const FIELDS: [&str; 3] = ["arrival_max_wait", "max_memory", "max_cpu"];

/// `arrival_max_wait` (default 1s; `0s` drops an arrival that finds no free user at once).
pub(crate) fn arrival_max_wait(r: &mut Reader, map: Option<&Map<'_>>) -> Option<Duration> {
    match map.and_then(|m| m.value("arrival_max_wait")) {
        Some(i) => r.duration(&i),
        None => Some(DEFAULT_ARRIVAL_MAX_WAIT),
    }
}

/// `max_memory` (a size such as `512MiB` or `2GB`) and `max_cpu` (`150%` of one core, or a
/// number of cores such as `1.5`).
pub(crate) fn read(r: &mut Reader, map: Option<&Map<'_>>) -> Option<GeneratorLimits> {
    let max_memory = match map.and_then(|m| m.value("max_memory")) {
        Some(i) => bytes(r, &i).map(Some),
        None => Some(None),
    };
    let max_cpu = match map.and_then(|m| m.value("max_cpu")) {
        Some(i) => cpu_percent(r, &i).map(Some),
        None => Some(None),
    };
    Some(GeneratorLimits {
        max_memory: max_memory?,
        max_cpu: max_cpu?,
    })
}

fn bytes(r: &mut Reader, item: &Item<'_>) -> Option<u64> {
    let text = match item.node {
        Node::Scalar(s) => s.as_str().trim().to_string(),
        node => {
            r.error_at(
                item,
                format!("expected a size such as 512MiB, got {}", describe(node)),
            );
            return None;
        }
    };
    match parse_bytes(&text) {
        Ok(0) => {
            r.error_at(item, "max_memory must be above 0");
            None
        }
        Ok(b) => Some(b),
        Err(message) => {
            r.error_at(item, message);
            None
        }
    }
}

/// Parses `512MiB`, `2GB`, `100M`, `1048576` (bytes) and the like.
pub(crate) fn parse_bytes(text: &str) -> Result<u64, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit = unit.trim();
    let factor: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024.0_f64.powi(4),
        _ => {
            return Err(format!(
                "unknown size unit `{}`; use B, KB, KiB, MB, MiB, GB, GiB, TB or TiB",
                shorten(unit)
            ));
        }
    };
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n * factor < 1.8e19 => Ok((n * factor) as u64),
        _ => Err(format!(
            "expected a size such as 512MiB or 2GB, got `{}`",
            shorten(text)
        )),
    }
}

fn cpu_percent(r: &mut Reader, item: &Item<'_>) -> Option<f64> {
    let value = match item.node {
        Node::Scalar(s) => match scalar(s) {
            Scalar::Text(t) => match t.trim().strip_suffix('%') {
                Some(n) => n.trim().parse::<f64>().ok(),
                None => None,
            },
            Scalar::Int(_) | Scalar::Float(_) => r.number(item).map(|cores| cores * 100.0),
            _ => None,
        },
        _ => None,
    };
    match value {
        Some(v) if v.is_finite() && v > 0.0 => Some(v),
        Some(_) => {
            r.error_at(item, "max_cpu must be above 0");
            None
        }
        None => {
            r.error_at(
                item,
                format!(
                    "expected a share of one core such as 150% or a number of cores such as 1.5, got {}",
                    describe(item.node)
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_decimal_and_binary_units() {
        assert_eq!(parse_bytes("512MiB"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_bytes("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_bytes("1.5 KiB"), Ok(1536));
        assert_eq!(parse_bytes("100"), Ok(100));
        assert!(
            parse_bytes("12 parsecs")
                .unwrap_err()
                .contains("unknown size unit")
        );
        assert!(parse_bytes("MiB").is_err());
    }
}
