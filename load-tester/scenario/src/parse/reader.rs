//! The typed reader: walks the marked-yaml node tree, types scalars by the YAML 1.2 core schema,
//! and records every problem with its position and field path instead of stopping at the first.

use std::time::Duration;

use marked_yaml::Node;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};

use super::suggest;
use crate::Diagnostic;
use crate::duration::parse_duration;

/// A 1-based position in the file; `0:0` means "no position" (an override).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// Where a scalar starts.
    pub fn of_scalar(s: &MarkedScalarNode) -> Pos {
        s.span()
            .start()
            .map(|m| Pos {
                line: m.line(),
                column: m.column(),
            })
            .unwrap_or_default()
    }

    /// Where a node starts; for a block mapping, its first key (the loader marks the mapping
    /// after the key).
    pub fn of(node: &Node) -> Pos {
        let start = node.span().start().map(|m| {
            (
                m.character(),
                Pos {
                    line: m.line(),
                    column: m.column(),
                },
            )
        });
        let first_key = match node {
            Node::Mapping(m) => m
                .keys()
                .next()
                .and_then(|k| k.span().start().map(|m| (m.character(), Pos::of_scalar(k)))),
            _ => None,
        };
        match (start, first_key) {
            (Some(s), Some(k)) if k.0 < s.0 => k.1,
            (Some(s), _) => s.1,
            (None, Some(k)) => k.1,
            (None, None) => Pos::default(),
        }
    }
}

/// A scalar typed by the YAML 1.2 core schema (quoted scalars are always text).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scalar<'n> {
    Null,
    Bool(bool),
    Int(i128),
    /// An integer too large for `i128`.
    BigInt(&'n str),
    Float(f64),
    Text(&'n str),
}

/// Types a scalar.
pub(crate) fn scalar(s: &MarkedScalarNode) -> Scalar<'_> {
    let text = s.as_str();
    if !s.may_coerce() {
        return Scalar::Text(text);
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        _ => {}
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<i128>() {
            Ok(i) => Scalar::Int(i),
            Err(_) => Scalar::BigInt(text),
        };
    }
    if let Some(hex) = text.strip_prefix("0x")
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return i128::from_str_radix(hex, 16).map_or(Scalar::BigInt(text), Scalar::Int);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && !oct.is_empty()
        && oct.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return i128::from_str_radix(oct, 8).map_or(Scalar::BigInt(text), Scalar::Int);
    }
    if is_core_float(unsigned)
        && let Ok(f) = text.parse::<f64>()
    {
        return Scalar::Float(f);
    }
    Scalar::Text(text)
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the core schema's float without sign.
fn is_core_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && digits(int),
    };
    let exponent_ok = match exponent {
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && digits(e)
        }
        None => true,
    };
    mantissa_ok && exponent_ok
}

/// Whether a node is a null scalar (`~`, `null` or nothing at all).
pub(crate) fn is_null(node: &Node) -> bool {
    matches!(node, Node::Scalar(s) if scalar(s) == Scalar::Null)
}

/// How a node is shown in a message: the scalar's text in backticks, or its kind.
pub(crate) fn describe(node: &Node) -> String {
    match node {
        Node::Mapping(_) => "a mapping".to_string(),
        Node::Sequence(_) => "a sequence".to_string(),
        Node::Scalar(s) if s.may_coerce() && s.as_str().is_empty() => "nothing".to_string(),
        Node::Scalar(s) if s.may_coerce() => format!("`{}`", shorten(s.as_str())),
        Node::Scalar(s) => format!("`\"{}\"`", shorten(s.as_str())),
    }
}

/// Text cut to a length that fits in a message.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    let one_line = text.replace('\n', "\\n");
    if one_line.chars().count() <= MAX {
        one_line
    } else {
        let cut: String = one_line.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// Joins a field path and a key.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The last field name of a path, for messages: `endpoints[2].weight` → `weight`.
pub(crate) fn field_name(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// A value in the file: its node, where to point at it and its field path.
#[derive(Debug, Clone)]
pub(crate) struct Item<'n> {
    pub node: &'n Node,
    pub pos: Pos,
    pub path: String,
}

impl<'n> Item<'n> {
    /// The document's root.
    pub fn root(node: &'n Node) -> Item<'n> {
        Item {
            node,
            pos: Pos::of(node),
            path: String::new(),
        }
    }

    /// The field name used in messages.
    pub fn name(&self) -> &str {
        field_name(&self.path)
    }

    /// Whether the value is null.
    pub fn is_null(&self) -> bool {
        is_null(self.node)
    }
}

/// A mapping whose keys have been checked against the allowed fields.
#[derive(Debug, Clone)]
pub(crate) struct Map<'n> {
    pub node: &'n MarkedMappingNode,
    pub pos: Pos,
    pub path: String,
}

impl<'n> Map<'n> {
    /// The field `name`, if present (even when null).
    pub fn get(&self, name: &str) -> Option<Item<'n>> {
        let (key, node) = self.node.get_key_value(name)?;
        let key_pos = Pos::of_scalar(key);
        // An empty value is marked where the next token starts; point at the key instead.
        let pos = match node {
            Node::Scalar(s) if s.may_coerce() && s.as_str().is_empty() => key_pos,
            _ => Pos::of(node),
        };
        Some(Item {
            node,
            pos,
            path: join(&self.path, name),
        })
    }

    /// The field `name`, if present and not null.
    pub fn value(&self, name: &str) -> Option<Item<'n>> {
        self.get(name).filter(|i| !i.is_null())
    }
}

/// Collects diagnostics for one source.
#[derive(Debug)]
pub(crate) struct Reader {
    pub file: String,
    pub diags: Vec<Diagnostic>,
}

impl Reader {
    pub fn new(file: &str) -> Reader {
        Reader {
            file: file.to_string(),
            diags: Vec::new(),
        }
    }

    /// Records a problem.
    pub fn error(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// Records a problem with an item.
    pub fn error_at(&mut self, item: &Item<'_>, message: impl Into<String>) {
        self.error(item.pos, &item.path, message);
    }

    /// How many problems so far.
    pub fn count(&self) -> usize {
        self.diags.len()
    }

    /// The item as a mapping; keys not in `fields` are reported (with a suggestion).
    pub fn map<'n>(&mut self, item: &Item<'n>, fields: &[&str]) -> Option<Map<'n>> {
        let Node::Mapping(node) = item.node else {
            self.error_at(
                item,
                format!("expected a mapping, got {}", describe(item.node)),
            );
            return None;
        };
        for key in node.keys() {
            let name = key.as_str();
            if !fields.contains(&name) {
                let hint = match suggest::closest(name, fields.iter().copied()) {
                    Some(c) => format!(", did you mean `{c}`?"),
                    None => format!("; expected one of {}", suggest::list(fields)),
                };
                self.error(
                    Pos::of_scalar(key),
                    &join(&item.path, name),
                    format!("unknown field `{}`{hint}", shorten(name)),
                );
            }
        }
        Some(Map {
            node,
            pos: item.pos,
            path: item.path.clone(),
        })
    }

    /// The item as a sequence of items.
    pub fn seq<'n>(&mut self, item: &Item<'n>) -> Option<Vec<Item<'n>>> {
        let Node::Sequence(node) = item.node else {
            self.error_at(
                item,
                format!("expected a sequence, got {}", describe(item.node)),
            );
            return None;
        };
        Some(items(node, &item.path))
    }

    /// Text: any scalar but null (numbers and booleans as written).
    pub fn text(&mut self, item: &Item<'_>) -> Option<String> {
        match item.node {
            Node::Scalar(s) if scalar(s) != Scalar::Null => Some(s.as_str().to_string()),
            node => {
                self.error_at(item, format!("expected text, got {}", describe(node)));
                None
            }
        }
    }

    /// Non-empty text.
    pub fn nonempty_text(&mut self, item: &Item<'_>) -> Option<String> {
        let text = self.text(item)?;
        if text.trim().is_empty() {
            self.error_at(item, format!("{} must not be empty", item.name()));
            return None;
        }
        Some(text)
    }

    /// `true` or `false`.
    pub fn bool(&mut self, item: &Item<'_>) -> Option<bool> {
        if let Node::Scalar(s) = item.node
            && let Scalar::Bool(b) = scalar(s)
        {
            return Some(b);
        }
        self.error_at(
            item,
            format!("expected true or false, got {}", describe(item.node)),
        );
        None
    }

    /// An integer.
    pub fn int(&mut self, item: &Item<'_>) -> Option<i128> {
        let message = match item.node {
            Node::Scalar(s) => match scalar(s) {
                Scalar::Int(i) => return Some(i),
                Scalar::BigInt(t) => format!("{} is too large, got `{}`", item.name(), shorten(t)),
                Scalar::Text(t) if !s.may_coerce() && is_number_text(t) => format!(
                    "expected an integer, got the quoted text {}; remove the quotes",
                    describe(item.node)
                ),
                _ => format!("expected an integer, got {}", describe(item.node)),
            },
            node => format!("expected an integer, got {}", describe(node)),
        };
        self.error_at(item, message);
        None
    }

    /// An integer in `min..=max`.
    pub fn int_in(&mut self, item: &Item<'_>, min: i128, max: i128) -> Option<i128> {
        let value = self.int(item)?;
        if value < min {
            self.error_at(
                item,
                format!(
                    "{} must be at least {min}, got {}",
                    item.name(),
                    describe(item.node)
                ),
            );
            None
        } else if value > max {
            self.error_at(
                item,
                format!(
                    "{} must be at most {max}, got {}",
                    item.name(),
                    describe(item.node)
                ),
            );
            None
        } else {
            Some(value)
        }
    }

    /// A `u32` of at least `min`.
    pub fn u32_min(&mut self, item: &Item<'_>, min: u32) -> Option<u32> {
        let value = self.int_in(item, i128::from(min), i128::from(u32::MAX))?;
        u32::try_from(value).ok()
    }

    /// A `u64` of at least `min`.
    pub fn u64_min(&mut self, item: &Item<'_>, min: u64) -> Option<u64> {
        let value = self.int_in(item, i128::from(min), i128::from(u64::MAX))?;
        u64::try_from(value).ok()
    }

    /// A number (integer or float), possibly NaN or infinite.
    pub fn number(&mut self, item: &Item<'_>) -> Option<f64> {
        let message = match item.node {
            Node::Scalar(s) => match scalar(s) {
                #[allow(clippy::cast_precision_loss)]
                Scalar::Int(i) => return Some(i as f64),
                Scalar::Float(f) => return Some(f),
                Scalar::BigInt(t) if t.parse::<f64>().is_ok() => return t.parse::<f64>().ok(),
                Scalar::Text(t) if !s.may_coerce() && is_number_text(t) => format!(
                    "expected a number, got the quoted text {}; remove the quotes",
                    describe(item.node)
                ),
                _ => format!("expected a number, got {}", describe(item.node)),
            },
            node => format!("expected a number, got {}", describe(node)),
        };
        self.error_at(item, message);
        None
    }

    /// A finite number strictly above `min` (when `exclusive`) or at least `min`, and at most `max`.
    pub fn number_in(
        &mut self,
        item: &Item<'_>,
        min: f64,
        exclusive_min: bool,
        max: f64,
        exclusive_max: bool,
    ) -> Option<f64> {
        let value = self.number(item)?;
        let name = item.name().to_string();
        let got = describe(item.node);
        let problem = if !value.is_finite() {
            Some(format!("{name} must be a finite number, got {got}"))
        } else if exclusive_min && value <= min {
            Some(format!("{name} must be above {min}, got {got}"))
        } else if !exclusive_min && value < min {
            Some(format!("{name} must be at least {min}, got {got}"))
        } else if exclusive_max && value >= max {
            Some(format!("{name} must be below {max}, got {got}"))
        } else if !exclusive_max && value > max {
            Some(format!("{name} must be at most {max}, got {got}"))
        } else {
            None
        };
        match problem {
            Some(message) => {
                self.error_at(item, message);
                None
            }
            None => Some(value),
        }
    }

    /// A positive, finite number.
    pub fn positive(&mut self, item: &Item<'_>) -> Option<f64> {
        self.number_in(item, 0.0, true, f64::MAX, false)
    }

    /// A duration such as `500ms` or `1m30s`.
    pub fn duration(&mut self, item: &Item<'_>) -> Option<Duration> {
        let Node::Scalar(s) = item.node else {
            self.error_at(item, duration_expected(&describe(item.node)));
            return None;
        };
        match scalar(s) {
            Scalar::Null | Scalar::Bool(_) => {
                self.error_at(item, duration_expected(&describe(item.node)));
                return None;
            }
            _ => {}
        }
        match duration_text(s.as_str()) {
            Ok(d) => Some(d),
            Err(message) => {
                self.error_at(item, message);
                None
            }
        }
    }

    /// A duration above zero.
    pub fn positive_duration(&mut self, item: &Item<'_>) -> Option<Duration> {
        let d = self.duration(item)?;
        if d.is_zero() {
            self.error_at(
                item,
                format!(
                    "{} must be longer than 0, got {}",
                    item.name(),
                    describe(item.node)
                ),
            );
            return None;
        }
        Some(d)
    }
}

/// The items of a sequence, with their paths.
pub(crate) fn items<'n>(node: &'n MarkedSequenceNode, path: &str) -> Vec<Item<'n>> {
    node.iter()
        .enumerate()
        .map(|(i, n)| Item {
            node: n,
            pos: Pos::of(n),
            path: format!("{path}[{i}]"),
        })
        .collect()
}

/// Whether text would be a number if it were not quoted.
fn is_number_text(text: &str) -> bool {
    let s = MarkedScalarNode::new(marked_yaml::Span::new_blank(), text);
    matches!(
        scalar(&s),
        Scalar::Int(_) | Scalar::BigInt(_) | Scalar::Float(_)
    )
}

fn duration_expected(got: &str) -> String {
    format!("expected a duration such as 500ms, 2s, 5m or 1h, got {got}")
}

/// Parses a duration, with messages that name the text.
pub(crate) fn duration_text(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(format!(
            "a duration cannot be negative, got `{}`",
            shorten(trimmed)
        ));
    }
    if !trimmed.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(duration_expected(&format!("`{}`", shorten(trimmed))));
    }
    parse_duration(trimmed).map_err(|e| shorten_message(&e))
}

/// A message from elsewhere that may quote a very long input.
fn shorten_message(message: &str) -> String {
    if message.chars().count() > 300 {
        let cut: String = message.chars().take(300).collect();
        format!("{cut}…")
    } else {
        message.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> Scalar<'_> {
        // Leak-free: the node borrows nothing from the text we return.
        let s = MarkedScalarNode::new(marked_yaml::Span::new_blank(), text);
        match scalar(&s) {
            Scalar::Text(_) => Scalar::Text(text),
            Scalar::BigInt(_) => Scalar::BigInt(text),
            Scalar::Null => Scalar::Null,
            Scalar::Bool(b) => Scalar::Bool(b),
            Scalar::Int(i) => Scalar::Int(i),
            Scalar::Float(f) => Scalar::Float(f),
        }
    }

    #[test]
    fn types_scalars_by_the_core_schema() {
        assert_eq!(typed("~"), Scalar::Null);
        assert_eq!(typed(""), Scalar::Null);
        assert_eq!(typed("True"), Scalar::Bool(true));
        assert_eq!(typed("yes"), Scalar::Text("yes"));
        assert_eq!(typed("-3"), Scalar::Int(-3));
        assert_eq!(typed("0x1F"), Scalar::Int(31));
        assert_eq!(typed("0o17"), Scalar::Int(15));
        assert_eq!(typed("1.5"), Scalar::Float(1.5));
        assert_eq!(typed("1e3"), Scalar::Float(1000.0));
        assert_eq!(typed(".5"), Scalar::Float(0.5));
        assert_eq!(typed("1."), Scalar::Float(1.0));
        assert_eq!(typed("."), Scalar::Text("."));
        assert_eq!(typed("1e"), Scalar::Text("1e"));
        assert_eq!(typed("1_000"), Scalar::Text("1_000"));
        assert_eq!(typed("-.inf"), Scalar::Float(f64::NEG_INFINITY));
        assert!(matches!(typed(".nan"), Scalar::Float(f) if f.is_nan()));
        let big = "9".repeat(60);
        assert_eq!(typed(&big), Scalar::BigInt(&big));
        assert_eq!(typed("5s"), Scalar::Text("5s"));
    }
}
