//! From text to a node tree: YAML syntax errors, empty files, duplicate keys and a top level that
//! is not a mapping become diagnostics with their position.

use marked_yaml::{LoadError, LoaderOptions, Marker, Node};

use super::reader::{Pos, Reader, join, shorten};

/// Deeper indentation than this is refused before parsing: the YAML parser recurses once per
/// nesting level and would overflow the stack on pathological input.
const MAX_NESTING_COLUMNS: usize = 256;

/// The message for a file with nothing in it.
pub(crate) const EMPTY_FILE: &str =
    "the file is empty; a scenario needs at least `name`, `target` and `endpoints`";

/// Parses `text` into a node tree whose top level is a mapping. Problems are recorded in `r`;
/// a tree is still returned after a duplicate key (the last value wins) so that the rest of
/// the file is checked too.
pub(crate) fn load(r: &mut Reader, text: &str) -> Option<Node> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if is_blank(text) {
        r.error(Pos::default(), "", EMPTY_FILE);
        return None;
    }
    if let Some(line) = too_deep(text) {
        r.error(
            Pos { line, column: 1 },
            "",
            format!(
                "this line nests more than {MAX_NESTING_COLUMNS} columns deep; flatten the file"
            ),
        );
        return None;
    }
    let options = || {
        LoaderOptions::default()
            .error_on_duplicate_keys(true)
            .prevent_coercion(true)
    };
    match marked_yaml::parse_yaml_with_options(0, text, options()) {
        Ok(node) => Some(node),
        Err(LoadError::DuplicateKey(inner)) => {
            let tree = marked_yaml::parse_yaml_with_options(
                0,
                text,
                options().error_on_duplicate_keys(false),
            )
            .ok();
            let first = inner.prev_key.span().start().copied();
            let path = match (&tree, first) {
                (Some(tree), Some(first)) => {
                    path_of_key(tree, "", first.character(), 0).unwrap_or_default()
                }
                _ => String::new(),
            };
            let line = first.map(|m| format!(" (first defined at line {})", m.line()));
            r.error(
                Pos::of_scalar(&inner.key),
                &path,
                format!(
                    "duplicate key `{}`{}",
                    shorten(inner.key.as_str()),
                    line.unwrap_or_default()
                ),
            );
            tree
        }
        Err(LoadError::TopLevelMustBeMapping(m)) => {
            let got = if marked_yaml::parse_yaml_with_options(
                0,
                text,
                LoaderOptions::default().toplevel_sequence(),
            )
            .is_ok()
            {
                "a sequence"
            } else {
                "a single value"
            };
            r.error(
                pos(&m),
                "",
                format!("expected a mapping of fields (`name: ...`) at the top level, got {got}"),
            );
            None
        }
        Err(LoadError::TopLevelMustBeSequence(m)) => {
            r.error(pos(&m), "", "expected a mapping at the top level");
            None
        }
        Err(LoadError::UnexpectedAnchor(m)) => {
            r.error(
                pos(&m),
                "",
                "anchors and aliases (`&name`, `*name`) are not supported; write the value out",
            );
            None
        }
        Err(LoadError::MappingKeyMustBeScalar(m)) => {
            r.error(
                pos(&m),
                "",
                "mapping keys must be plain names, not mappings or sequences",
            );
            None
        }
        Err(LoadError::UnexpectedTag(m)) => {
            r.error(
                pos(&m),
                "",
                "YAML tags such as `!!str` are not supported; quote the value instead",
            );
            None
        }
        Err(LoadError::ScanError(m, e)) => {
            r.error(pos(&m), "", format!("invalid YAML: {}", e.info()));
            None
        }
    }
}

fn pos(m: &Marker) -> Pos {
    Pos {
        line: m.line(),
        column: m.column(),
    }
}

/// Whether the text holds no YAML content: only blank lines, comments and document markers.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let t = line.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    })
}

/// The first line (1-based) whose structure starts further right than the parser can safely
/// nest: leading spaces plus compact block indicators (`- `, `? `, `: `).
pub(crate) fn too_deep(text: &str) -> Option<usize> {
    text.lines().enumerate().find_map(|(i, line)| {
        let bytes = line.as_bytes();
        let mut at = 0;
        loop {
            while bytes.get(at) == Some(&b' ') {
                at += 1;
            }
            let indicator = matches!(bytes.get(at), Some(b'-' | b'?' | b':'));
            let followed = matches!(bytes.get(at + 1), None | Some(b' '));
            if indicator && followed && at < bytes.len() {
                at += 1;
            } else {
                break;
            }
        }
        (at > MAX_NESTING_COLUMNS).then_some(i + 1)
    })
}

/// The field path of the mapping key that starts at character `at`.
fn path_of_key(node: &Node, path: &str, at: usize, depth: usize) -> Option<String> {
    if depth > 2 * MAX_NESTING_COLUMNS + 300 {
        return None;
    }
    match node {
        Node::Mapping(m) => m.iter().find_map(|(k, v)| {
            let child = join(path, k.as_str());
            if k.span().start().map(Marker::character) == Some(at) {
                Some(child)
            } else {
                path_of_key(v, &child, at, depth + 1)
            }
        }),
        Node::Sequence(s) => s
            .iter()
            .enumerate()
            .find_map(|(i, v)| path_of_key(v, &format!("{path}[{i}]"), at, depth + 1)),
        Node::Scalar(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_nesting_by_structure_not_text() {
        assert_eq!(too_deep("a: 1\n  - - b\n"), None);
        assert_eq!(too_deep(&"-".repeat(1000)), None);
        assert_eq!(too_deep(&"- ".repeat(300)), Some(1));
        assert_eq!(too_deep(&format!("a:\n{}b: 1", " ".repeat(300))), Some(2));
    }

    #[test]
    fn blank_means_no_content() {
        assert!(is_blank(""));
        assert!(is_blank("# just a comment\n---\n\n"));
        assert!(!is_blank("name: x"));
    }
}
