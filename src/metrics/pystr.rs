//! The few Python `str` behaviours that sacreBLEU's numbers depend on:
//! which characters are whitespace (`str.split()`, `str.rstrip()`) and
//! lowercasing. Rust's `char::is_whitespace` differs from Python's by four
//! characters (U+001C..U+001F), enough to split a token differently.

/// `str.isspace()` for one character: what `str.split()` and `str.strip()`
/// (without arguments) treat as whitespace.
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..='\u{1f}'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// `s.split()`: the runs of non-whitespace characters.
pub fn split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_space).filter(|w| !w.is_empty())
}

/// `s.rstrip()`.
pub fn rstrip(s: &str) -> &str {
    s.trim_end_matches(is_space)
}

/// `s.lower()`. Both languages apply Unicode's full lowercase mappings,
/// including the final-sigma rule; only characters whose case mapping
/// changed between the two Unicode versions could differ.
pub fn lower(s: &str) -> String {
    s.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_pythons() {
        // U+001F splits in Python but is not Unicode White_Space; U+200B
        // (zero width space) is neither.
        let words: Vec<&str> = split(" a\u{1f}b\u{a0}c\u{200b}d\u{3000} ").collect();
        assert_eq!(words, ["a", "b", "c\u{200b}d"]);
        assert_eq!(rstrip("Hà Nội \t\u{85}\r"), "Hà Nội");
        assert_eq!(rstrip("x\u{200b}"), "x\u{200b}");
        assert_eq!(split("").count(), 0);
        assert_eq!(lower("ΣΟΦΟΣ ĐẠI"), "σοφος đại");
    }
}
