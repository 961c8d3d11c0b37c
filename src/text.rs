//! Words for people: counts with the right plural, the closest of a list of names to suggest,
//! and text from a sheet made safe to print.

use std::borrow::Cow;

use crate::columns::normalize_header;

/// `1 row`, `2 rows`: counts in messages read as people write them.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The closest of `candidates` to `wanted`, if close enough to be worth suggesting.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted_n = normalize_header(wanted);
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::normalized_damerau_levenshtein(&wanted_n, &normalize_header(c)),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `text` with every control character but newline and tab written as an escape (`\u{1b}`),
/// so that a cell or a header can never move the cursor, clear the screen or retitle the
/// terminal it is printed on.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_and_escapes() {
        assert_eq!(plural(1, "row", "rows"), "1 row");
        assert_eq!(plural(0, "row", "rows"), "0 rows");
        assert_eq!(printable("plain"), "plain");
        assert_eq!(
            printable("a\x1b[2Jb\r\u{7}c\n\td"),
            "a\\u{1b}[2Jb\\u{d}\\u{7}c\n\td"
        );
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
    }
}
