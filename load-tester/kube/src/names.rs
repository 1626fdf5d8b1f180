//! Names and label values Kubernetes accepts, made from free text (session ids, scenario names).

/// A DNS-1123 label (lowercase letters, digits and `-`, starting and ending with a letter or
/// digit) of at most `max` characters from `text`: other characters become `-`, runs of `-`
/// collapse. Empty when `text` has no letter or digit.
pub(crate) fn dns_label(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(max);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// A label value (at most 63 characters of letters, digits, `-`, `_`, `.`, starting and ending
/// with a letter or digit) from `text`; other characters become `-`.
pub(crate) fn label_value(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let mut out: String = trimmed.chars().take(63).collect();
    while out.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        out.pop();
    }
    out
}

/// Whether `text` is a DNS-1123 label (what a namespace name must be).
pub(crate) fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_from_free_text() {
        assert_eq!(dns_label("Checkout spike (EU)", 63), "checkout-spike-eu");
        assert_eq!(dns_label("--4f1c2a9be07d--", 63), "4f1c2a9be07d");
        assert_eq!(dns_label("ab-cd", 3), "ab");
        assert_eq!(dns_label("ééé", 10), "");
        assert!(is_dns_label(&dns_label("A_b.c d", 63)));
    }

    #[test]
    fn label_values_from_free_text() {
        assert_eq!(label_value("Checkout spike"), "Checkout-spike");
        assert_eq!(label_value("_x_"), "x");
        assert_eq!(label_value(&"a".repeat(80)).len(), 63);
        assert_eq!(
            label_value(&format!("{}.b", "a".repeat(62))),
            "a".repeat(62)
        );
    }

    #[test]
    fn namespaces() {
        assert!(is_dns_label("load-tester"));
        assert!(!is_dns_label("Load"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label(""));
        assert!(!is_dns_label(&"a".repeat(64)));
    }
}
