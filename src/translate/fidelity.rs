//! Fidelity checks of one translated sentence against its source, for
//! Vietnamese <-> English: names (every lexicon entity in the source has a
//! rendering in the target, every one in the target a counterpart in the
//! source), numbers (the same values in both, read the way each language
//! writes them: 5,66% / 5.66%, 1.000 / 1,000, 25/10 / October 25, triệu /
//! million), the qualifiers of numbers (gần / nearly, khoảng / about, hơn /
//! more than), and replies that are not translations at all (code, a
//! question back, commentary). Candidate selection treats these as hard
//! constraints; what remains in the chosen translation becomes flags.

use super::lexicon::{Kind, Lexicon};
use crate::types::{Flag, Lang, LangPair};

/// One finding, with what it is about (for people reading the flags).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub flag: Flag,
    /// The source or target words it is about.
    pub detail: String,
}

/// Every fidelity finding of `target` as the translation of `source`.
pub fn check(source: &str, target: &str, pair: LangPair) -> Vec<Finding> {
    let mut out = Vec::new();
    if target.trim().is_empty() {
        return out;
    }
    if let Some(why) = not_a_translation(source, target, pair.to) {
        out.push(Finding {
            flag: Flag::NotATranslation,
            detail: why.into(),
        });
    }
    let (vi, en) = match (pair.from, pair.to) {
        (Lang::Vi, Lang::En) => (source, target),
        (Lang::En, Lang::Vi) => (target, source),
        _ => return out,
    };
    out.extend(entities(vi, en, pair.from == Lang::Vi));
    if pair.from == Lang::Vi {
        out.extend(titles(source, target));
    }
    out.extend(numbers(source, target, pair));
    out
}

/// `entity-missed` and `entity-added` between a Vietnamese and an English
/// text; `vi_is_source` says which side is the source.
fn entities(vi: &str, en: &str, vi_is_source: bool) -> Vec<Finding> {
    let lex = Lexicon::builtin();
    let mut out = Vec::new();
    let checked = |k: Kind| matches!(k, Kind::Territory | Kind::City | Kind::Language);
    let vi_mentions = lex.find_vi(vi);
    let en_mentions = lex.find_en(en);
    // Source names without a rendering in the target; from Vietnamese,
    // units too ("hai thập kỷ" is two decades, not two centuries).
    if vi_is_source {
        for m in &vi_mentions {
            let e = lex.entity(m.entity);
            let unit = e.kind == Kind::Unit
                && !e.vi.iter().any(|f| f.weak && f.text == vi[m.start..m.end]);
            if (checked(e.kind) || unit) && !lex.rendered_in_en(m.entity, en) {
                push_once(&mut out, Flag::EntityMissed, &vi[m.start..m.end]);
            }
        }
    } else {
        for m in &en_mentions {
            let e = lex.entity(m.entity);
            if checked(e.kind) && !lex.named_in_vi(m.entity, vi) {
                push_once(&mut out, Flag::EntityMissed, e.english());
            }
        }
    }
    // Target names without a counterpart in the source. A surface form may
    // belong to several entities (French: the language and the country's
    // adjective): any of them with a counterpart will do.
    let normalized = super::lexicon::normalize_en(en);
    if vi_is_source {
        let mut seen: Vec<(usize, usize)> = Vec::new();
        for m in &en_mentions {
            if seen.contains(&(m.start, m.end)) {
                continue;
            }
            seen.push((m.start, m.end));
            let same_span: Vec<usize> = en_mentions
                .iter()
                .filter(|o| o.start == m.start && o.end == m.end)
                .map(|o| o.entity)
                .collect();
            let relevant = same_span.iter().any(|&i| checked(lex.entity(i).kind));
            if relevant && !same_span.iter().any(|&i| lex.named_in_vi(i, vi)) {
                push_once(&mut out, Flag::EntityAdded, &normalized[m.start..m.end]);
            }
        }
    } else {
        for m in &vi_mentions {
            let e = lex.entity(m.entity);
            if checked(e.kind) && !lex.rendered_in_en(m.entity, en) {
                push_once(&mut out, Flag::EntityAdded, &vi[m.start..m.end]);
            }
        }
    }
    out
}

/// `entity-added` for a title or institution of the built-in glossary in
/// an English target ("Foreign Minister", "Ambassador", "Prime Minister")
/// whose Vietnamese terms are all absent from the source: "nhà ngoại giao
/// Australia" (the Australian diplomat) is not the Foreign Minister.
fn titles(source: &str, target: &str) -> Vec<Finding> {
    let extra = TITLES.iter().map(|&(t, r)| (t, r));
    let glossary = super::glossary::Glossary::builtin(Lang::Vi, Lang::En).with_entries(extra);
    let source: String = unicode_normalization::UnicodeNormalization::nfc(source)
        .collect::<String>()
        .to_lowercase();
    let mut out = Vec::new();
    for rendering in glossary.renderings() {
        // Capitalized as titles are in news English; countries and
        // cities are the lexicon's to check.
        if !rendering.starts_with(char::is_uppercase)
            || Lexicon::builtin()
                .find_en(rendering)
                .iter()
                .any(|m| m.start == 0 && m.end == rendering.len())
            || !super::lexicon::contains_word(target, rendering)
        {
            continue;
        }
        let named = glossary
            .terms_for(rendering)
            .any(|t| super::lexicon::contains_word(&source, &t.to_lowercase()));
        if !named {
            push_once(&mut out, Flag::EntityAdded, rendering);
        }
    }
    out
}

/// Titles checked besides the glossary's (they are not shown to the model):
/// a target with the title needs one of its terms in the source.
const TITLES: &[(&str, &str)] = &[
    ("Tổng thống", "President"),
    ("Chủ tịch", "President"),
    ("Ngoại trưởng", "Foreign Minister"),
    ("Bộ trưởng Ngoại giao", "Foreign Minister"),
    ("Bộ trưởng Bộ Ngoại giao", "Foreign Minister"),
    ("Đại sứ", "Ambassador"),
    ("Thủ tướng", "Premier"),
];

fn push_once(out: &mut Vec<Finding>, flag: Flag, detail: &str) {
    if !out.iter().any(|f| f.flag == flag && f.detail == detail) {
        out.push(Finding {
            flag,
            detail: detail.to_string(),
        });
    }
}

/// Why a reply is not a translation, if it is not.
fn not_a_translation(source: &str, target: &str, to: Lang) -> Option<&'static str> {
    let t = target.trim();
    if t.contains("```") || CODE_MARKS.iter().any(|m| t.contains(m)) {
        return Some("code");
    }
    let asks = |s: &str| {
        let s = s.trim_end_matches(['"', '”', '’', '\'', ')', '»']);
        s.ends_with('?') || s.ends_with('？')
    };
    if asks(t) && !asks(source.trim()) && !vietnamese_question(source) {
        return Some("a question back");
    }
    let lower = t.to_lowercase();
    let openings: &[&str] = match to {
        Lang::En => COMMENTARY_EN,
        Lang::Vi => COMMENTARY_VI,
    };
    if openings.iter().any(|o| lower.starts_with(o))
        && !source
            .trim()
            .to_lowercase()
            .starts_with(openings_source_echo(&lower))
    {
        return Some("commentary");
    }
    None
}

/// A Vietnamese question written without a question mark, as UI text and
/// headlines do: "Có nên hiển thị con trỏ hay không", "Đã lưu chưa".
fn vietnamese_question(source: &str) -> bool {
    let lower = source
        .trim()
        .trim_end_matches(['.', ':', ' '])
        .to_lowercase();
    let last = lower.rsplit(char::is_whitespace).next().unwrap_or("");
    lower.contains("hay không")
        || matches!(
            last,
            "không" | "chưa" | "chăng" | "sao" | "gì" | "nào" | "đâu" | "hả" | "à"
        )
}

/// A reply that starts like commentary is still a translation when the
/// source starts the same way (an English source "Note: ..."): this
/// returns the opening to compare, or a string no source starts with.
fn openings_source_echo(lower_target: &str) -> &str {
    lower_target
        .split_whitespace()
        .next()
        .filter(|w| w.starts_with("note"))
        .unwrap_or("\u{0}")
}

const CODE_MARKS: &[&str] = &[
    "def ",
    "print(",
    "console.log",
    "#include",
    "function(",
    "</",
    "/>",
    "=>",
    "import ",
];

const COMMENTARY_EN: &[&str] = &[
    "sure,",
    "sure!",
    "certainly,",
    "certainly!",
    "here is the",
    "here's the",
    "i'm sorry",
    "i am sorry",
    "as an ai",
    "please provide",
    "the translation",
    "this sentence",
    "the sentence",
    "the vietnamese",
    "note:",
    "this translates",
    "in english,",
];

const COMMENTARY_VI: &[&str] = &[
    "dưới đây là",
    "đây là bản dịch",
    "bản dịch",
    "xin lỗi",
    "tôi không thể",
    "câu này",
    "câu trên",
    "lưu ý:",
];

/// A number as it stands in a text: its value, and the qualifier in front
/// of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub value: f64,
    pub qualifier: Option<Qualifier>,
    /// The digits as written.
    pub text: String,
}

/// What a qualifier says about a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    /// gần / nearly, almost: a little under.
    Nearly,
    /// khoảng / about, around: either side.
    About,
    /// hơn, trên / more than, over.
    Over,
    /// dưới / under, less than.
    Under,
    /// ít nhất / at least.
    AtLeast,
    /// tối đa / up to, at most.
    AtMost,
}

const QUALIFIERS_VI: &[(&str, Qualifier)] = &[
    ("gần như", Qualifier::Nearly),
    ("gần", Qualifier::Nearly),
    ("suýt", Qualifier::Nearly),
    ("khoảng", Qualifier::About),
    ("chừng", Qualifier::About),
    ("xấp xỉ", Qualifier::About),
    ("ước tính", Qualifier::About),
    ("hơn", Qualifier::Over),
    ("trên", Qualifier::Over),
    ("vượt", Qualifier::Over),
    ("dưới", Qualifier::Under),
    ("chưa đến", Qualifier::Under),
    ("chưa tới", Qualifier::Under),
    ("không đến", Qualifier::Under),
    ("ít nhất", Qualifier::AtLeast),
    ("tối thiểu", Qualifier::AtLeast),
    ("tối đa", Qualifier::AtMost),
    ("nhiều nhất", Qualifier::AtMost),
];

const QUALIFIERS_EN: &[(&str, Qualifier)] = &[
    ("nearly", Qualifier::Nearly),
    ("almost", Qualifier::Nearly),
    ("close to", Qualifier::Nearly),
    ("just under", Qualifier::Nearly),
    ("approaching", Qualifier::Nearly),
    ("about", Qualifier::About),
    ("around", Qualifier::About),
    ("approximately", Qualifier::About),
    ("roughly", Qualifier::About),
    ("some", Qualifier::About),
    ("an estimated", Qualifier::About),
    ("estimated", Qualifier::About),
    ("more than", Qualifier::Over),
    ("over", Qualifier::Over),
    ("above", Qualifier::Over),
    ("upwards of", Qualifier::Over),
    ("exceeding", Qualifier::Over),
    ("in excess of", Qualifier::Over),
    ("less than", Qualifier::Under),
    ("fewer than", Qualifier::Under),
    ("under", Qualifier::Under),
    ("below", Qualifier::Under),
    ("at least", Qualifier::AtLeast),
    ("at most", Qualifier::AtMost),
    ("up to", Qualifier::AtMost),
];

/// Vietnamese scale words (the lexicon's `scale` entries are the same
/// values; "ngàn" is the southern form of "nghìn").
fn scale_of(word: &str, lang: Lang) -> Option<f64> {
    let lex = Lexicon::builtin();
    let w = word.to_lowercase();
    if lang == Lang::Vi && w == "ngàn" {
        return Some(1e3);
    }
    lex.entities()
        .iter()
        .filter(|e| e.kind == Kind::Scale)
        .find(|e| match lang {
            Lang::Vi => e.vi.iter().any(|f| f.text == w),
            _ => e.en.iter().any(|f| f.text.to_lowercase() == w),
        })
        .and_then(|e| e.id.parse::<f64>().ok())
}

const EN_NUMBER_WORDS: &[(&str, f64)] = &[
    ("one", 1.0),
    ("two", 2.0),
    ("three", 3.0),
    ("four", 4.0),
    ("five", 5.0),
    ("six", 6.0),
    ("seven", 7.0),
    ("eight", 8.0),
    ("nine", 9.0),
    ("ten", 10.0),
    ("eleven", 11.0),
    ("twelve", 12.0),
    ("fifteen", 15.0),
    ("twenty", 20.0),
    ("thirty", 30.0),
    ("forty", 40.0),
    ("fifty", 50.0),
    ("sixty", 60.0),
    ("seventy", 70.0),
    ("eighty", 80.0),
    ("ninety", 90.0),
    ("hundred", 100.0),
    ("a hundred", 100.0),
    ("dozen", 12.0),
    ("first", 1.0),
    ("second", 2.0),
    ("third", 3.0),
    ("fourth", 4.0),
    ("fifth", 5.0),
    ("half", 0.5),
];

const VI_NUMBER_WORDS: &[(&str, f64)] = &[
    ("một", 1.0),
    ("hai", 2.0),
    ("ba", 3.0),
    ("bốn", 4.0),
    ("tư", 4.0),
    ("năm", 5.0),
    ("sáu", 6.0),
    ("bảy", 7.0),
    ("tám", 8.0),
    ("chín", 9.0),
    ("mười", 10.0),
    ("mươi", 10.0),
    ("trăm", 100.0),
    ("nhất", 1.0),
    ("nhì", 2.0),
    ("rưỡi", 0.5),
    ("nửa", 0.5),
];

const MONTHS: [&str; 12] = [
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

/// The numbers written with digits in `text`, read the way `lang` writes
/// them (Vietnamese: `.` groups thousands, `,` is the decimal mark;
/// English the other way round), scaled by a following scale word.
pub fn quantities(text: &str, lang: Lang) -> Vec<Quantity> {
    let (group, decimal) = match lang {
        Lang::Vi => ('.', ','),
        _ => (',', '.'),
    };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let after_word = i > 0 && chars[i - 1].1.is_alphanumeric();
        if !c.is_ascii_digit() || after_word {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut int_part = String::new();
        let mut frac_part = String::new();
        let mut in_frac = false;
        let mut groups_ok = true;
        while j < chars.len() {
            let ch = chars[j].1;
            if ch.is_ascii_digit() {
                if in_frac {
                    frac_part.push(ch);
                } else {
                    int_part.push(ch);
                }
                j += 1;
            } else if (ch == group || ch == decimal)
                && j + 1 < chars.len()
                && chars[j + 1].1.is_ascii_digit()
                && !in_frac
            {
                // A group separator needs exactly three digits after it;
                // otherwise it reads as a decimal mark (a Vietnamese "2.5"
                // written the English way).
                let digits_after = chars[j + 1..]
                    .iter()
                    .take_while(|(_, d)| d.is_ascii_digit())
                    .count();
                if ch == group && digits_after == 3 {
                    j += 1;
                } else if ch == decimal || (ch == group && digits_after != 3) {
                    in_frac = true;
                    j += 1;
                } else {
                    groups_ok = false;
                    break;
                }
            } else {
                break;
            }
        }
        let end = chars.get(j).map_or(text.len(), |&(b, _)| b);
        let mut value: f64 = format!(
            "{int_part}.{}",
            if frac_part.is_empty() {
                "0"
            } else {
                &frac_part
            }
        )
        .parse()
        .unwrap_or(0.0);
        if groups_ok {
            if let Some(scale) = scale_after(text, end, lang) {
                value *= scale;
            }
        }
        out.push(Quantity {
            value,
            qualifier: qualifier_before(text, start, lang),
            text: text[start..end].to_string(),
        });
        i = j.max(i + 1);
    }
    out
}

/// The scale named by the one or two words after byte `at` ("triệu",
/// "nghìn tỷ", "million").
fn scale_after(text: &str, at: usize, lang: Lang) -> Option<f64> {
    let rest = &text[at..];
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let mut words = rest
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()));
    let first = words.next()?;
    if let Some(second) = words.next() {
        if let Some(v) = scale_of(&format!("{first} {second}"), lang) {
            return Some(v);
        }
    }
    scale_of(first, lang)
}

/// The qualifier that ends right before byte `start` (words only: "gần
/// 70", "more than 70", "nearly $70").
fn qualifier_before(text: &str, start: usize, lang: Lang) -> Option<Qualifier> {
    let before = text[..start]
        .trim_end_matches(['$', '€', '£', ' ', '~'])
        .to_lowercase();
    let table = match lang {
        Lang::Vi => QUALIFIERS_VI,
        _ => QUALIFIERS_EN,
    };
    table
        .iter()
        .filter(|(w, _)| {
            before.ends_with(w)
                && !before[..before.len() - w.len()]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_alphanumeric)
        })
        .max_by_key(|(w, _)| w.len())
        .map(|&(_, q)| q)
}

/// Values a text states in words or month names (not digits): the English
/// "seventy", "October", the Vietnamese "hai". A digit on the other side
/// may stand for them.
fn word_values(text: &str, lang: Lang) -> Vec<f64> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    let table = match lang {
        Lang::Vi => VI_NUMBER_WORDS,
        _ => EN_NUMBER_WORDS,
    };
    for (k, w) in words.iter().enumerate() {
        if let Some(&(_, v)) = table.iter().find(|(t, _)| t == w) {
            out.push(v);
            // "seventy countries", "two million": with a scale after it.
            if let Some(s) = words.get(k + 1).and_then(|n| scale_of(n, lang)) {
                out.push(v * s);
            }
        }
        if lang != Lang::Vi {
            if let Some(m) = MONTHS
                .iter()
                .position(|m| *m == *w || (w.len() == 3 && m.starts_with(w)))
            {
                out.push((m + 1) as f64);
            }
        } else if *w == "tháng" {
            // "tháng Mười" is written in words: month 10 is not missing.
            if let Some(next) = words.get(k + 1) {
                if let Some(&(_, v)) = VI_NUMBER_WORDS.iter().find(|(t, _)| t == next) {
                    out.push(v);
                }
            }
        }
    }
    out
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Whether `a` (source) and `b` (target) qualifiers say the same thing.
fn compatible(a: Option<Qualifier>, b: Option<Qualifier>) -> bool {
    use Qualifier::*;
    match (a, b) {
        (x, y) if x == y => true,
        // "about 70" for "gần 70" loses the direction but not the sense of
        // an approximation; "nearly" and "about" are close enough.
        (Some(Nearly), Some(About)) | (Some(About), Some(Nearly)) => true,
        (Some(Over), Some(AtLeast)) | (Some(AtLeast), Some(Over)) => true,
        (Some(Under), Some(AtMost)) | (Some(AtMost), Some(Under)) => true,
        _ => false,
    }
}

/// `number-missed`, `new-number` and `approximation-changed`.
fn numbers(source: &str, target: &str, pair: LangPair) -> Vec<Finding> {
    let src = quantities(source, pair.from);
    let tgt = quantities(target, pair.to);
    let src_words = word_values(source, pair.from);
    let tgt_words = word_values(target, pair.to);
    let mut out = Vec::new();
    let mut used = vec![false; tgt.len()];
    for q in &src {
        // The same value in the target, preferring one not yet matched.
        let found = (0..tgt.len())
            .filter(|&k| same(tgt[k].value, q.value))
            .min_by_key(|&k| used[k]);
        match found {
            Some(k) => {
                used[k] = true;
                if !compatible(q.qualifier, tgt[k].qualifier) {
                    push_once(
                        &mut out,
                        Flag::ApproximationChanged,
                        &format!("{} -> {}", q.text, tgt[k].text),
                    );
                }
            }
            None => {
                if !tgt_words.iter().any(|&v| same(v, q.value)) {
                    push_once(&mut out, Flag::NumberMissed, &q.text);
                }
            }
        }
    }
    for (k, q) in tgt.iter().enumerate() {
        if used[k] || src.iter().any(|s| same(s.value, q.value)) {
            continue;
        }
        if !src_words.iter().any(|&v| same(v, q.value)) {
            push_once(&mut out, Flag::NewNumber, &q.text);
        }
    }
    // A scale word the source does not have: "a quarter of a billion" for
    // "hàng chục triệu".
    let src_scales = scale_words(source, pair.from);
    for (word, value) in scale_words(target, pair.to) {
        if !src_scales.iter().any(|&(_, v)| same(v, value)) {
            push_once(&mut out, Flag::NewNumber, word);
        }
    }
    out
}

/// The scale words of a text with their values ("triệu" 1e6, "billion" 1e9).
fn scale_words(text: &str, lang: Lang) -> Vec<(&str, f64)> {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < words.len() {
        // "nghìn tỷ" is one scale, not two.
        if let Some(next) = words.get(k + 1) {
            if let Some(v) = scale_of(&format!("{} {next}", words[k]), lang) {
                out.push((words[k], v));
                k += 2;
                continue;
            }
        }
        let w = words[k]
            .strip_suffix('s')
            .filter(|_| lang == Lang::En)
            .unwrap_or(words[k]);
        if let Some(v) = scale_of(w, lang) {
            out.push((words[k], v));
        }
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const VI_EN: LangPair = LangPair {
        from: Lang::Vi,
        to: Lang::En,
    };

    fn values(text: &str, lang: Lang) -> Vec<f64> {
        quantities(text, lang).iter().map(|q| q.value).collect()
    }

    #[test]
    fn numbers_read_per_language() {
        assert_eq!(
            values("tăng 5,66% lên 1.000 người", Lang::Vi),
            [5.66, 1000.0]
        );
        assert_eq!(values("up 5.66% to 1,000 people", Lang::En), [5.66, 1000.0]);
        assert_eq!(values("3,5 triệu USD và 2 tỷ đồng", Lang::Vi), [3.5e6, 2e9]);
        assert_eq!(values("3.5 million dollars", Lang::En), [3.5e6]);
        assert_eq!(values("ngày 25/10/2025", Lang::Vi), [25.0, 10.0, 2025.0]);
        // A name with digits is not a number.
        assert!(values("COVID19 và G7", Lang::Vi).is_empty());
    }

    #[test]
    fn qualifiers_are_held_to_the_source() {
        let f = numbers("gần 70 nước đã ký", "more than 70 countries signed", VI_EN);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].flag, Flag::ApproximationChanged);
        assert!(numbers("gần 70 nước đã ký", "nearly 70 countries signed", VI_EN).is_empty());
        assert!(numbers("khoảng 70 nước", "about 70 countries", VI_EN).is_empty());
        assert!(numbers("hơn 70 nước", "over 70 countries", VI_EN).is_empty());
        let dropped = numbers("gần 70 nước", "70 countries", VI_EN);
        assert_eq!(dropped[0].flag, Flag::ApproximationChanged);
        let added = numbers("70 nước", "more than 70 countries", VI_EN);
        assert_eq!(added[0].flag, Flag::ApproximationChanged);
    }

    #[test]
    fn numbers_missed_and_new_in_both_directions() {
        let ok = numbers(
            "Ngày 25/10, 72 nước ký, tăng 5,66% với 1.000 tỷ đồng",
            "On October 25, 72 countries signed, up 5.66% with 1,000 billion dong",
            VI_EN,
        );
        assert!(ok.is_empty(), "{ok:?}");
        let missed = numbers("72 nước ký năm 2025", "Countries signed in 2025", VI_EN);
        assert_eq!(missed[0].flag, Flag::NumberMissed);
        let new = numbers("Các nước đã ký", "72 countries signed", VI_EN);
        assert_eq!(new[0].flag, Flag::NewNumber);
        let words = numbers(
            "ngân sách lên đến hàng chục triệu USD",
            "a budget of over a quarter of a billion US dollars",
            VI_EN,
        );
        assert_eq!(
            words,
            [Finding {
                flag: Flag::NewNumber,
                detail: "billion".into()
            }]
        );
        assert!(numbers(
            "hàng chục triệu USD",
            "tens of millions of US dollars",
            VI_EN
        )
        .is_empty());
        // Words for digits on the other side.
        assert!(numbers("2 nước", "two countries", VI_EN).is_empty());
        assert!(numbers("hai nước", "2 countries", VI_EN).is_empty());
        let en_vi = LangPair {
            from: Lang::En,
            to: Lang::Vi,
        };
        assert!(numbers("about 3.5 million people", "khoảng 3,5 triệu người", en_vi).is_empty());
        assert_eq!(
            numbers("3.5 million people", "35 triệu người", en_vi)[0].flag,
            Flag::NumberMissed
        );
    }

    fn flags(source: &str, target: &str, pair: LangPair) -> Vec<String> {
        check(source, target, pair)
            .iter()
            .map(|f| format!("{}:{}", f.flag.name(), f.detail))
            .collect()
    }

    #[test]
    fn the_seed_errors_are_flagged() {
        // Segment 5 of the seed, as the default model translated it.
        let src = "Đại sứ Anh Iain Frew nhấn mạnh rằng công ước là bước tiến quan trọng.";
        let f = flags(
            src,
            "The U. S. Ambassador to the People's Republic of China, Iain Frew, emphasized that the convention is an important step.",
            VI_EN,
        );
        assert!(f.contains(&"entity-missed:Anh".to_string()), "{f:?}");
        assert!(f.iter().any(|x| x.starts_with("entity-added:US")), "{f:?}");
        assert!(
            f.iter()
                .any(|x| x.starts_with("entity-added:People's Republic of China")),
            "{f:?}"
        );
        assert!(flags(
            src,
            "British Ambassador Iain Frew stressed that the convention is an important step.",
            VI_EN
        )
        .is_empty());
        let f = flags(
            "trong hai thập kỷ qua",
            "over the past two centuries",
            VI_EN,
        );
        assert_eq!(f, ["entity-missed:thập kỷ"]);
        assert!(flags("trong hai thập kỷ qua", "over the past two decades", VI_EN).is_empty());
        let f = flags(
            "gần 70 nước đã ký công ước",
            "more than 70 countries signed the convention",
            VI_EN,
        );
        assert_eq!(f, ["approximation-changed:70 -> 70"]);
    }

    #[test]
    fn titles_the_source_does_not_have() {
        let f = flags(
            "Theo nhà ngoại giao Australia, đây là thời khắc bước ngoặt.",
            "According to the Australian Foreign Minister, this is a turning point.",
            VI_EN,
        );
        assert_eq!(f, ["entity-added:Foreign Minister"]);
        assert!(flags(
            "Theo Ngoại trưởng Australia, đây là thời khắc bước ngoặt.",
            "According to the Australian Foreign Minister, this is a turning point.",
            VI_EN
        )
        .is_empty());
        let f = flags(
            "Theo ông Iain Frew, công ước là bước tiến.",
            "According to the British Ambassador, the convention is a step forward.",
            VI_EN,
        );
        assert!(f.contains(&"entity-added:Ambassador".to_string()), "{f:?}");
        assert!(f.contains(&"entity-added:British".to_string()), "{f:?}");
    }

    #[test]
    fn entities_in_both_directions() {
        let en_vi = LangPair {
            from: Lang::En,
            to: Lang::Vi,
        };
        // en -> vi: a name of the source missing from the target, and one
        // the target adds.
        let f = flags(
            "Sweden signed the convention in Hanoi.",
            "Hà Lan đã ký công ước tại Hà Nội.",
            en_vi,
        );
        assert!(f.contains(&"entity-missed:Sweden".to_string()), "{f:?}");
        assert!(f.contains(&"entity-added:Hà Lan".to_string()), "{f:?}");
        assert!(flags(
            "Sweden signed the convention in Hanoi.",
            "Thụy Điển đã ký công ước tại Hà Nội.",
            en_vi
        )
        .is_empty());
        // vi -> en: names written in Latin letters in the source count.
        assert!(flags(
            "Nhà ngoại giao Australia phát biểu.",
            "The Australian diplomat spoke.",
            VI_EN
        )
        .is_empty());
        assert!(flags(
            "Phái đoàn Thụy Điển phát biểu.",
            "The Swedish delegation spoke.",
            VI_EN
        )
        .is_empty());
        let f = flags(
            "Phái đoàn Thụy Điển phát biểu.",
            "The Dutch delegation spoke.",
            VI_EN,
        );
        assert!(f.contains(&"entity-missed:Thụy Điển".to_string()), "{f:?}");
        assert!(f.contains(&"entity-added:Dutch".to_string()), "{f:?}");
    }

    #[test]
    fn replies_that_are_not_translations() {
        let t = |s: &str, t: &str| not_a_translation(s, t, Lang::En);
        assert_eq!(
            t("Hà Nội đẹp.", "Could you give me more context?"),
            Some("a question back")
        );
        assert_eq!(t("Hà Nội có đẹp không?", "Is Hanoi beautiful?"), None);
        // Vietnamese questions without a question mark.
        assert_eq!(
            t(
                "Có nên hiển thị con trỏ hay không",
                "Should the cursor be shown?"
            ),
            None
        );
        assert_eq!(t("Đã lưu tập tin chưa", "Has the file been saved?"), None);
        // A first-person sentence or "The text ..." is a translation.
        assert_eq!(
            t("Không thể đọc phần động.", "I can't read the moving part."),
            None
        );
        assert_eq!(t("Văn bản trên nhãn.", "The text on the label."), None);
        assert_eq!(
            t("Hà Nội đẹp.", "```python\nprint('Hanoi')\n```"),
            Some("code")
        );
        assert_eq!(
            t(
                "Hà Nội đẹp.",
                "Here is the translation: Hanoi is beautiful."
            ),
            Some("commentary")
        );
        assert_eq!(t("Hà Nội đẹp.", "Hanoi is beautiful."), None);
        assert_eq!(
            t("Note: the office is closed.", "Note: the office is closed."),
            None
        );
    }
}
