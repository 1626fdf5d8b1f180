//! Secrets never leave in serialized form: values of headers such as `Authorization` are replaced.

use serde::Serializer;
use serde::ser::SerializeSeq;

/// The text that replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Whether a header's value is a secret (credentials, cookies, API keys).
pub fn is_secret_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || lower.contains("token")
        || lower.contains("secret")
        || lower.contains("api-key")
        || lower.contains("apikey")
        || lower.contains("password")
}

/// Serializes header pairs with secret values redacted.
pub fn serialize_headers<S: Serializer>(
    headers: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(headers.len()))?;
    for (name, value) in headers {
        let shown = if is_secret_header(name) {
            REDACTED
        } else {
            value.as_str()
        };
        seq.serialize_element(&(name, shown))?;
    }
    seq.end()
}

/// What stands in a scenario's text where a secret was: a quoted YAML string, so the text still
/// parses (and a scenario sent back with it is refused by name, never sent as a credential).
const MASK: &str = "'[redacted]'";

/// What a file whose secrets could not be masked in place is shown as.
const UNMASKABLE: &str = "# This file holds secret values that could not be masked in place, so its text is not shown.\n# Start it by name: the worker reads the file itself.\n";

/// Whether a query parameter's or header's name marks its value as a secret.
fn is_secret_name(name: &str) -> bool {
    is_secret_header(&name.replace('_', "-"))
}

/// A scenario's YAML text with every secret value replaced in place: values of secret-named
/// keys under any `headers:` or `query:` mapping ([`is_secret_header`]'s rules; `api_key` counts
/// as `api-key`). Everything else, comments and layout included, is kept byte for byte, so
/// positions in diagnostics still point at the same lines. Text that is not valid YAML is masked
/// line by line; text whose secrets cannot be located for certain is not shown at all.
pub fn mask_secrets(text: &str) -> String {
    // Too deep to hand to the YAML parser (see `parse`): it is not a scenario anyway.
    if crate::parse::too_deep(text).is_some() {
        return mask_lines(text);
    }
    let Ok(tree) = load(text) else {
        return mask_lines(text);
    };
    let mut starts = Vec::new();
    secret_scalars(&tree, &mut starts);
    if starts.is_empty() {
        return text.to_string();
    }
    let byte_of: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    let mut ranges = Vec::new();
    for character in starts {
        let Some(&start) = byte_of.get(character) else {
            return UNMASKABLE.to_string();
        };
        ranges.push(scalar_range(text, start));
    }
    ranges.sort_unstable();
    let mut out = text.to_string();
    for (start, end) in ranges.into_iter().rev() {
        // A block scalar's lines become blank lines, so every later line keeps its number.
        let lines = text[start..end].matches('\n').count();
        out.replace_range(start..end, &format!("{MASK}{}", "\n".repeat(lines)));
    }
    // Trust the result only if it parses and every secret now reads as the mask.
    match load(&out) {
        Ok(masked) if all_masked(&masked) => out,
        _ => UNMASKABLE.to_string(),
    }
}

fn load(text: &str) -> Result<marked_yaml::Node, marked_yaml::LoadError> {
    marked_yaml::parse_yaml_with_options(
        0,
        text,
        marked_yaml::LoaderOptions::default().prevent_coercion(true),
    )
}

/// The start (character index) of every secret scalar value in the tree.
fn secret_scalars(node: &marked_yaml::Node, out: &mut Vec<usize>) {
    use marked_yaml::Node;
    match node {
        Node::Mapping(map) => {
            for (key, value) in map.iter() {
                if matches!(key.as_str(), "headers" | "query")
                    && let Node::Mapping(pairs) = value
                {
                    for (name, v) in pairs.iter() {
                        if is_secret_name(name.as_str())
                            && let Node::Scalar(s) = v
                            && let Some(m) = s.span().start()
                        {
                            out.push(m.character());
                        }
                    }
                }
                secret_scalars(value, out);
            }
        }
        Node::Sequence(seq) => seq.iter().for_each(|n| secret_scalars(n, out)),
        Node::Scalar(_) => {}
    }
}

fn all_masked(node: &marked_yaml::Node) -> bool {
    use marked_yaml::Node;
    match node {
        Node::Mapping(map) => map.iter().all(|(key, value)| {
            let here = !matches!(key.as_str(), "headers" | "query")
                || match value {
                    Node::Mapping(pairs) => pairs.iter().all(|(name, v)| {
                        !is_secret_name(name.as_str())
                            || matches!(v, Node::Scalar(s) if s.as_str() == REDACTED)
                    }),
                    _ => true,
                };
            here && all_masked(value)
        }),
        Node::Sequence(seq) => seq.iter().all(all_masked),
        Node::Scalar(_) => true,
    }
}

/// The bytes of the scalar whose value starts at byte `start`: through its closing quote; from
/// a block scalar's `|`/`>` indicator (the value itself starts on the next line) through its last
/// line; or a plain scalar up to a comment, flow punctuation or the line end.
fn scalar_range(text: &str, start: usize) -> (usize, usize) {
    let line_end = |from: usize| text[from..].find('\n').map_or(text.len(), |i| from + i);
    if let Some((indicator, key_indent)) = block_indicator(text, start) {
        // The block runs while lines are blank or indented deeper than the key's line.
        let mut end = line_end(start);
        while end < text.len() {
            let next = end + 1;
            let line = &text[next..line_end(next)];
            if line.trim().is_empty() || indent(line) > key_indent {
                end = line_end(next);
            } else {
                break;
            }
        }
        return (indicator, end);
    }
    let rest = &text[start..];
    let end = match rest.as_bytes().first() {
        Some(b'"') => {
            let mut escaped = false;
            rest.char_indices()
                .skip(1)
                .find_map(|(i, c)| match c {
                    '\\' if !escaped => {
                        escaped = true;
                        None
                    }
                    '"' if !escaped => Some(start + i + 1),
                    _ => {
                        escaped = false;
                        None
                    }
                })
                .unwrap_or(text.len())
        }
        Some(b'\'') => {
            let bytes = rest.as_bytes();
            let mut i = 1;
            loop {
                match (bytes.get(i), bytes.get(i + 1)) {
                    (None, _) => break text.len(),
                    (Some(b'\''), Some(b'\'')) => i += 2,
                    (Some(b'\''), _) => break start + i + 1,
                    _ => i += 1,
                }
            }
        }
        _ => {
            let line = &text[start..line_end(start)];
            let cut = [
                line.find(" #"),
                line.find(','),
                line.find('}'),
                line.find(']'),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(line.len());
            start + line[..cut].trim_end().len()
        }
    };
    (start, end)
}

/// When the value at `start` is the body of a block scalar: where its `|`/`>` indicator is (at
/// the end of the line before, perhaps followed by a comment), and that line's indentation.
fn block_indicator(text: &str, start: usize) -> Option<(usize, usize)> {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    if !text[line_start..start].trim().is_empty() {
        return None;
    }
    let before = text[..line_start].trim_end();
    let prev_start = before.rfind('\n').map_or(0, |i| i + 1);
    let prev = &before[prev_start..];
    let code = prev.find(" #").map_or(prev, |i| &prev[..i]).trim_end();
    let token_start = code.rfind([' ', ':']).map_or(0, |i| i + 1);
    let token = &code[token_start..];
    let is_indicator = token.starts_with(['|', '>'])
        && token[1..]
            .bytes()
            .all(|b| b == b'-' || b == b'+' || b.is_ascii_digit());
    is_indicator.then(|| (prev_start + token_start, indent(prev)))
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// For text that is not valid YAML: the value after any `secret-name:` on a line, up to the end
/// of the line or the next flow separator.
fn mask_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut masked = line.to_string();
        let mut search = 0;
        while let Some(colon) = masked[search..].find(':').map(|i| search + i) {
            let key_start = masked[..colon]
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
                .map_or(0, |(i, c)| i + c.len_utf8());
            let key = masked[key_start..colon].to_string();
            let value_start = colon + 1;
            if !key.is_empty() && is_secret_name(&key) {
                let rest = &masked[value_start..];
                let len = rest.find([',', '}', '\n', '\r']).unwrap_or(rest.len());
                if rest[..len].trim().is_empty() {
                    search = value_start;
                    continue;
                }
                masked.replace_range(value_start..value_start + len, &format!(" {MASK}"));
                search = value_start + MASK.len() + 1;
            } else {
                search = value_start;
            }
            if search >= masked.len() {
                break;
            }
        }
        out.push_str(&masked);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-Token_value";

    #[test]
    fn secrets_are_masked_in_place_and_nothing_else_changes() {
        let text = format!(
            "# a comment\nname: x\ntarget: http://127.0.0.1:1\nendpoints:\n  - name: a\n    path: /a\n    headers:\n      Authorization: Bearer {SECRET}   # the token\n      X-Trace: keep\n    query: {{ api_key: \"{SECRET}\", page: 2 }}\n  - name: b\n    path: /b\n    headers: {{ Cookie: 'sid={SECRET}', Accept: json }}\n  - name: c\n    path: /c\n    headers:\n      X-Api-Key: |\n        {SECRET}\n        {SECRET}\n      Accept: text/plain\n"
        );
        let masked = mask_secrets(&text);
        assert!(!masked.contains(SECRET), "{masked}");
        assert_eq!(masked.matches(MASK).count(), 4, "{masked}");
        assert!(masked.contains("      Authorization: '[redacted]'   # the token\n"));
        assert!(masked.contains("X-Trace: keep"));
        assert!(masked.contains("page: 2"));
        assert!(masked.contains("Accept: json }"));
        assert!(masked.contains("      Accept: text/plain\n"));
        assert_eq!(masked.lines().count(), text.lines().count());
        assert_eq!(mask_secrets("name: x\n"), "name: x\n");
    }

    #[test]
    fn text_that_is_not_yaml_is_masked_line_by_line() {
        let text = format!(
            "name: [unclosed\nheaders: {{ Authorization: Bearer {SECRET}, A: b }}\n  token: {SECRET}\n"
        );
        let masked = mask_secrets(&text);
        assert!(!masked.contains(SECRET), "{masked}");
        assert!(masked.contains("A: b"));
    }
}
