//! Turning a model reply into one target sentence, and deciding whether it
//! can stand for its source: non-empty, one piece of text, actually in the
//! target language, with no number the source does not have. A reply with a
//! problem is retried without context; what remains becomes a flag.

use crate::text::lang::is_vietnamese_letter;
use crate::types::{Flag, Lang};

/// What is wrong with a reply as the translation of its source sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Empty,
    /// Several paragraphs: notes, alternatives or more than one translation.
    Multiline,
    /// Still (mostly) in the source language.
    Untranslated,
    /// Words copied from the Vietnamese source into an English target
    /// (an untranslated name or term such as "Thụy Điển").
    SourceWordsLeft,
    /// A number in the target that the source does not have: invented.
    NewNumber,
    /// Letters of a script that is neither Latin nor used by the source
    /// (a small model sometimes drifts into Cyrillic or Chinese mid-sentence).
    ForeignScript,
}

impl Problem {
    pub fn flag(self) -> Flag {
        match self {
            Problem::Empty => Flag::Empty,
            Problem::Multiline => Flag::Multiline,
            Problem::Untranslated => Flag::Untranslated,
            Problem::SourceWordsLeft => Flag::SourceWordsLeft,
            Problem::NewNumber => Flag::NewNumber,
            Problem::ForeignScript => Flag::ForeignScript,
        }
    }

    /// How bad it is, to choose between two flawed replies.
    pub fn weight(self) -> u32 {
        match self {
            Problem::Empty => 8,
            Problem::Untranslated => 4,
            Problem::Multiline | Problem::ForeignScript => 2,
            Problem::NewNumber | Problem::SourceWordsLeft => 1,
        }
    }
}

pub fn weight(problems: &[Problem]) -> u32 {
    problems.iter().map(|p| p.weight()).sum()
}

const LABELS: &[&str] = &[
    "english translation:",
    "translation:",
    "english:",
    "bản dịch:",
    "tiếng việt:",
    "vietnamese:",
];

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '\'' | '‘' | '’')
}

/// Strips what small models wrap around a translation: labels such as
/// "Translation:", and quotes around the whole reply when the source had none.
pub fn clean_reply(reply: &str, source: &str) -> String {
    let mut text = reply.trim();
    let lower = text.to_lowercase();
    for label in LABELS {
        if lower.starts_with(label) {
            // Labels are ASCII or fixed Vietnamese strings whose lowercase
            // has the same byte length as the original.
            if let Some(rest) = text.get(label.len()..) {
                text = rest.trim_start();
            }
            break;
        }
    }
    let source = source.trim();
    let source_quoted = source.starts_with(is_quote) || source.ends_with(is_quote);
    let mut chars = text.chars();
    if !source_quoted && text.chars().count() >= 2 {
        if let (Some(first), Some(last)) = (chars.next(), chars.next_back()) {
            let inner = chars.as_str();
            if is_quote(first) && is_quote(last) && !inner.contains(is_quote) {
                text = inner.trim();
            }
        }
    }
    text.to_string()
}

/// Share of words carrying Vietnamese letters.
fn vietnamese_word_share(text: &str) -> f64 {
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .collect();
    if words.is_empty() {
        return 0.0;
    }
    let vi = words
        .iter()
        .filter(|w| w.chars().any(is_vietnamese_letter))
        .count();
    vi as f64 / words.len() as f64
}

/// Digit runs with their separators removed ("5,66" and "5.66" are both
/// "566"; "1.000.000" and "1,000,000" are "1000000").
pub(crate) fn numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            cur.push(c);
        } else if (c == '.' || c == ',')
            && !cur.is_empty()
            && chars.peek().is_some_and(|n| n.is_ascii_digit())
        {
            // A separator inside a number.
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Checks a cleaned reply against its source; every problem found.
pub fn check(target: &str, source: &str, to: Lang) -> Vec<Problem> {
    let mut problems = Vec::new();
    if target.trim().is_empty() {
        return vec![Problem::Empty];
    }
    if target.lines().filter(|l| !l.trim().is_empty()).count() > 1 {
        problems.push(Problem::Multiline);
    }
    let source_words = source.split_whitespace().count();
    // Short texts (names, labels) may legitimately stay as they are.
    if source_words >= 4 {
        let share = vietnamese_word_share(target);
        let untranslated = match to {
            // Names keep their diacritics in some English styles; a
            // translation is still mostly unmarked English words.
            Lang::En => share > 0.5,
            Lang::Vi => share < 0.1 && vietnamese_word_share(source) < 0.1,
        };
        if untranslated {
            problems.push(Problem::Untranslated);
        }
    }
    if to == Lang::En && !problems.contains(&Problem::Untranslated) {
        let copied = target
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().any(is_vietnamese_letter))
            .any(|w| source.contains(w));
        if copied {
            problems.push(Problem::SourceWordsLeft);
        }
    }
    if target
        .chars()
        .any(|c| c.is_alphabetic() && !is_latin(c) && !source.contains(c))
    {
        problems.push(Problem::ForeignScript);
    }
    let mut source_numbers = numbers(source);
    source_numbers.extend(month_numbers(source));
    if numbers(target).iter().any(|n| !source_numbers.contains(n)) {
        problems.push(Problem::NewNumber);
    }
    problems
}

/// Latin letters in all their Unicode blocks (Vietnamese included), and
/// combining marks, which decomposed Latin text carries.
fn is_latin(c: char) -> bool {
    c.is_ascii()
        || matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' | '\u{2C60}'..='\u{2C7F}' | '\u{A720}'..='\u{A7FF}')
        || unicode_normalization::char::is_combining_mark(c)
}

/// English month names, January first.
pub(crate) const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Month numbers implied by English month names: "October 25" becomes
/// "25/10" in Vietnamese, and that 10 is not invented.
fn month_numbers(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphabetic())
        .map(str::to_lowercase)
        .collect();
    MONTHS
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            words
                .iter()
                .any(|w| w == *m || (w.len() == 3 && m.starts_with(w.as_str())))
        })
        .map(|(i, _)| (i + 1).to_string())
        .collect()
}

/// Joins a multi-line reply into one line: the fallback when a retry also
/// came back in several pieces, so nothing the model said is hidden.
pub fn join_lines(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_labels_and_wrapping_quotes() {
        assert_eq!(clean_reply("Translation: Hello.", "Xin chào."), "Hello.");
        assert_eq!(
            clean_reply("  \"Hello there.\"  ", "Xin chào."),
            "Hello there."
        );
        // The source is a quotation: its quotes belong in the translation.
        assert_eq!(
            clean_reply("“We agree,” he said.", "“Chúng tôi đồng ý”, ông nói."),
            "“We agree,” he said."
        );
        assert_eq!(
            clean_reply("\"We agree\"", "\"Chúng tôi đồng ý\""),
            "\"We agree\""
        );
        // Inner quotes mean the outer ones are not a wrapper.
        assert_eq!(clean_reply("\"A\" and \"B\"", "A và B"), "\"A\" and \"B\"");
        assert_eq!(clean_reply("Bản dịch: Xin chào", "Hello"), "Xin chào");
    }

    #[test]
    fn detects_unmappable_replies() {
        let src = "Sự kiện do Việt Nam đăng cai tổ chức tại Trung tâm Hội nghị Quốc gia Hà Nội.";
        assert_eq!(check("", src, Lang::En), vec![Problem::Empty]);
        assert_eq!(
            check(
                "The event was hosted by Vietnam.\n\nNote: literal translation.",
                src,
                Lang::En
            ),
            vec![Problem::Multiline]
        );
        assert_eq!(check(src, src, Lang::En), vec![Problem::Untranslated]);
        assert!(check(
            "The event was hosted by Vietnam at the National Convention Center in Hanoi.",
            src,
            Lang::En
        )
        .is_empty());
        // A Vietnamese name copied over is flagged, not rejected outright.
        assert_eq!(
            check(
                "The event was held at the National Convention Center in Hà Nội.",
                src,
                Lang::En
            ),
            vec![Problem::SourceWordsLeft]
        );
        // en -> vi: an English reply to an English source is untranslated.
        let en = "The convention was signed in Hanoi today.";
        assert_eq!(check(en, en, Lang::Vi), vec![Problem::Untranslated]);
        assert!(check("Công ước được ký tại Hà Nội hôm nay.", en, Lang::Vi).is_empty());
    }

    #[test]
    fn numbers_must_come_from_the_source() {
        let src = "Ngân sách lên đến hàng chục triệu USD, tăng 5,66% so với năm 2024.";
        assert!(check(
            "The budget reaches tens of millions of USD, up 5.66% from 2024.",
            src,
            Lang::En
        )
        .is_empty());
        assert_eq!(
            check(
                "The budget is $40 million, up 5.66% from 2024.",
                src,
                Lang::En
            ),
            vec![Problem::NewNumber]
        );
        // Another script in the middle of a Vietnamese sentence.
        assert_eq!(
            check(
                "Lễ ký kết đã được открыт tại Hà Nội.",
                "The signing ceremony opened in Hanoi.",
                Lang::Vi
            ),
            vec![Problem::ForeignScript]
        );
        // Script the source itself uses is not foreign.
        assert!(check(
            "Ông nói “Привет” với mọi người.",
            "He said “Привет” to everyone.",
            Lang::Vi
        )
        .is_empty());
        // English to Vietnamese: the month name becomes its number.
        assert!(check(
            "Ngày 25/10, buổi lễ bắt đầu.",
            "On October 25, the ceremony began.",
            Lang::Vi
        )
        .is_empty());
        assert_eq!(
            check(
                "Ngày 25/11, buổi lễ bắt đầu.",
                "On October 25, the ceremony began.",
                Lang::Vi
            ),
            vec![Problem::NewNumber]
        );
        // Dates change form: 25/10 becomes October 25, which keeps its digits.
        assert!(check(
            "On October 25, the ceremony began.",
            "Sáng 25/10, lễ bắt đầu.",
            Lang::En
        )
        .is_empty());
        assert_eq!(
            numbers("1.000.000 và 3,5 hoặc 25/10."),
            vec!["1000000", "35", "25", "10"]
        );
        assert_eq!(weight(&[Problem::Multiline, Problem::NewNumber]), 3);
    }
}
