//! What makes two failures the same kind, defined once: the engine groups failures by it, the
//! store groups error samples by it, and the API matches a report's exact counts to stored
//! groups by it.
//!
//! Messages carry values that change from one failure to the next (durations, ports, ids), so
//! the key holds the message's *kind*: the message with every number and id replaced by `#`
//! (`slow: 2916 ms` and `slow: 31 ms` are one kind, `slow: # ms`). One sample message is kept
//! beside the key for people to read.

use serde::{Deserialize, Serialize};

use crate::FailureClass;

/// Endpoint, failure class (none for a slow success), status and message kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ErrorKey {
    pub endpoint: String,
    pub class: Option<FailureClass>,
    pub status: Option<u16>,
    pub kind: String,
}

impl ErrorKey {
    /// The key of a failure (or slow request) with `message`.
    pub fn new(
        endpoint: &str,
        class: Option<FailureClass>,
        status: Option<u16>,
        message: &str,
    ) -> ErrorKey {
        ErrorKey {
            endpoint: endpoint.to_string(),
            class,
            status,
            kind: message_kind(message),
        }
    }
}

/// `message` with every number and id replaced by `#`: a word made only of hex digits, dots,
/// dashes and underscores that holds a digit (`2916`, `127.0.0.1`, `9f3a…-…`, `1.5`) becomes
/// `#`; inside other words (`p95`, `1.5s`) each number becomes `#`.
pub fn message_kind(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let has_digit = word.bytes().any(|b| b.is_ascii_digit());
        let id_like = word
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b'-' | b'_'));
        if has_digit && id_like {
            out.push('#');
        } else {
            // A number (`1.5`) inside a word becomes one `#`.
            let chars: Vec<char> = word.chars().collect();
            let mut i = 0;
            while i < chars.len() {
                if chars[i].is_ascii_digit() {
                    out.push('#');
                    while i < chars.len()
                        && (chars[i].is_ascii_digit()
                            || (chars[i] == '.'
                                && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
                    {
                        i += 1;
                    }
                } else {
                    out.push(chars[i]);
                    i += 1;
                }
            }
        }
        word.clear();
    };
    for c in message.chars() {
        if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_change_between_failures_do_not_split_a_kind() {
        assert_eq!(message_kind("slow: 2916 ms"), "slow: # ms");
        assert_eq!(message_kind("slow: 31 ms"), "slow: # ms");
        assert_eq!(
            message_kind("error sending request for url (http://127.0.0.1:5001/x)"),
            "error sending request for url (http://#:#/x)"
        );
        assert_eq!(
            message_kind("order 4bf92f3577b34da6a3ce929d0e0e4736 not found"),
            "order # not found"
        );
        assert_eq!(message_kind("p95 over 1.5s"), "p# over #s");
        assert_eq!(message_kind("connection refused"), "connection refused");
        assert_eq!(
            ErrorKey::new("a", None, None, "slow: 2916 ms"),
            ErrorKey::new("a", None, None, "slow: 12 ms")
        );
        assert_ne!(
            ErrorKey::new("a", Some(FailureClass::Timeout), None, "x"),
            ErrorKey::new("b", Some(FailureClass::Timeout), None, "x")
        );
    }
}
