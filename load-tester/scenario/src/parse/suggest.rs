//! "Did you mean": the closest known name to a misspelt one.

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Edit distance is quadratic; a name this long is not a typo of a field name.
    if input.len() > 200 {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate.len() > 200 {
            continue;
        }
        let distance = strsim::osa_distance(&input.to_lowercase(), &candidate.to_lowercase());
        let limit = (candidate.chars().count() / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `, did you mean `x`?` when a candidate is close, else the empty string.
pub(crate) fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    match closest(input, candidates) {
        Some(c) => format!(", did you mean `{c}`?"),
        None => String::new(),
    }
}

/// The names as a list for messages: `` `a`, `b`, `c` ``.
pub(crate) fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_close_names() {
        let fields = ["think_time", "users", "duration"];
        assert_eq!(closest("thnk_time", fields), Some("think_time"));
        assert_eq!(closest("user", fields), Some("users"));
        assert_eq!(closest("Users", fields), Some("users"));
        assert_eq!(closest("colour", fields), None);
        assert_eq!(closest("", fields), None);
    }
}
