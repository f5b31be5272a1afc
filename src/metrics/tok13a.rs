//! sacreBLEU's default BLEU tokenizer `13a` (mteval-v13a.pl as
//! `Tokenizer13a` + `TokenizerRegexp`): a few entity and line-join
//! replacements, then ASCII punctuation split off (except `'`), periods and
//! commas split off unless they stand between two digits, and dashes split
//! off after a digit.
//!
//! The four regular expressions are fixed-width, so each is a single
//! left-to-right scan here, taking matches without overlap exactly as
//! Python's `re.sub` does.

use crate::metrics::pystr;

/// Tokenizes one segment; the tokens are joined by single spaces.
pub fn tokenize_13a(line: &str) -> String {
    // Language-independent part, in sacreBLEU's order.
    let line = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    let padded: Vec<char> = format!(" {line} ").chars().collect();

    // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 '
    let mut s = Vec::with_capacity(padded.len() * 2);
    for c in padded {
        if is_split_punct(c) {
            s.extend([' ', c, ' ']);
        } else {
            s.push(c);
        }
    }
    // ([^0-9])([\.,]) -> '\1 \2 ': period and comma unless after a digit.
    let s = scan_pairs(
        &s,
        |a, b| !is_digit(a) && is_period_comma(b),
        |a, b| [a, ' ', b, ' '],
    );
    // ([\.,])([^0-9]) -> ' \1 \2': period and comma unless before a digit.
    let s = scan_pairs(
        &s,
        |a, b| is_period_comma(a) && !is_digit(b),
        |a, b| [' ', a, ' ', b],
    );
    // ([0-9])(-) -> '\1 \2 ': a dash after a digit.
    let s = scan_pairs(&s, |a, b| is_digit(a) && b == '-', |a, b| [a, ' ', b, ' ']);

    let s: String = s.into_iter().collect();
    pystr::split(&s).collect::<Vec<_>>().join(" ")
}

/// `[\{-\~\[-\` -\&\(-\+\:-\@\/]`: ASCII symbols except `'`, `,`, `-`, `.`
/// (and space itself, which the class also contains).
fn is_split_punct(c: char) -> bool {
    matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/')
}

/// `[0-9]` in a Python `str` pattern: ASCII digits only.
fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

fn is_period_comma(c: char) -> bool {
    c == '.' || c == ','
}

/// `re.sub` for a two-character pattern: at each position, a match consumes
/// both characters and scanning resumes after them; otherwise one character
/// is copied.
fn scan_pairs(
    s: &[char],
    matches: impl Fn(char, char) -> bool,
    replace: impl Fn(char, char) -> [char; 4],
) -> Vec<char> {
    let mut out = Vec::with_capacity(s.len() + s.len() / 2);
    let mut i = 0;
    while i < s.len() {
        if i + 1 < s.len() && matches(s[i], s[i + 1]) {
            out.extend(replace(s[i], s[i + 1]));
            i += 2;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_punctuation_like_mteval() {
        assert_eq!(
            tokenize_13a("Hello, world! It's 3.5 km (2,000 m)."),
            "Hello , world ! It's 3.5 km ( 2,000 m ) ."
        );
        // Period/comma next to a digit stays; a dash after a digit splits.
        assert_eq!(
            tokenize_13a("1.000,5 a.b 1-2 a-b 3-"),
            "1.000,5 a . b 1 - 2 a-b 3 -"
        );
        // A period or comma stays attached only between two digits: the
        // first pass splits it after a non-digit (".5" too), the second
        // before a non-digit ("5.").
        assert_eq!(tokenize_13a("x 5. .5 ,5"), "x 5 . . 5 , 5");
        // Overlapping matches: "a.." -> the second period pairs with the
        // following space on the second pass.
        assert_eq!(tokenize_13a("Wait..."), "Wait . . .");
        assert_eq!(tokenize_13a("U.S.A."), "U . S . A .");
    }

    #[test]
    fn unescapes_entities_and_drops_skipped() {
        assert_eq!(
            tokenize_13a("&quot;Tom &amp; Jerry&quot; &lt;b&gt; &apos;x&apos;<skipped>"),
            "\" Tom & Jerry \" < b > & apos ; x & apos ;"
        );
        assert_eq!(tokenize_13a("con-\ntinued\nline"), "continued line");
    }

    #[test]
    fn keeps_non_ascii_and_handles_empty() {
        assert_eq!(
            tokenize_13a("“Thủ tướng” phát biểu tại Hà Nội."),
            "“Thủ tướng” phát biểu tại Hà Nội ."
        );
        assert_eq!(tokenize_13a(""), "");
        assert_eq!(tokenize_13a("   "), "");
        assert_eq!(tokenize_13a("a\u{1f}b"), "a b");
    }
}
