//! Numbers across the two languages: values read the way each language
//! writes them (5,66% = 5.66%, 1.000 = 1,000, 3,5 triệu = 3.5 million,
//! 25/10 = October 25), the qualifiers in front of them (gần = nearly,
//! hơn = more than), and the `number-missed`, `new-number` and
//! `approximation-changed` findings.

use super::{push_once, Finding};
use crate::translate::check::MONTHS;
use crate::translate::lexicon::{Kind, Lexicon};
use crate::types::{Flag, Lang, LangPair};

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
    /// đến, tới, lên đến: "up to" or a plain "to" ("tăng đến 30%"), so
    /// either reading, or none, renders it.
    UpToOrTo,
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
    ("lên đến", Qualifier::UpToOrTo),
    ("lên tới", Qualifier::UpToOrTo),
    ("đến", Qualifier::UpToOrTo),
    ("tới", Qualifier::UpToOrTo),
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
    ("sixth", 6.0),
    ("seventh", 7.0),
    ("eighth", 8.0),
    ("ninth", 9.0),
    ("tenth", 10.0),
    ("thirteen", 13.0),
    ("fourteen", 14.0),
    ("sixteen", 16.0),
    ("seventeen", 17.0),
    ("eighteen", 18.0),
    ("nineteen", 19.0),
    ("once", 1.0),
    ("twice", 2.0),
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
        // Digits inside a name are not a quantity: ASN1, ASN.1, COVID-19.
        let after_word = i > 0
            && (chars[i - 1].1.is_alphanumeric()
                || (matches!(chars[i - 1].1, '.' | '-' | '_')
                    && i > 1
                    && chars[i - 2].1.is_alphabetic()));
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

/// A Vietnamese digit word (1-9) as it stands after "mười" or before
/// "mươi": a word of [`VI_NUMBER_WORDS`] worth 1 to 9, or one of the forms
/// used only there, "mốt" (1) and "lăm" (5).
fn vi_unit(word: &str) -> Option<f64> {
    match word {
        "mốt" => Some(1.0),
        "lăm" => Some(5.0),
        _ => VI_NUMBER_WORDS
            .iter()
            .find(|&&(w, v)| w == word && (1.0..10.0).contains(&v))
            .map(|&(_, v)| v),
    }
}

/// A Roman numeral of up to 39 (lowercased: "xviii" is 18).
fn roman(word: &str) -> Option<f64> {
    if word.is_empty() || word.len() > 8 {
        return None;
    }
    let mut total = 0u32;
    let mut prev = 0u32;
    for c in word.chars().rev() {
        let v = match c {
            'i' => 1,
            'v' => 5,
            'x' => 10,
            _ => return None,
        };
        if v < prev {
            total = total.checked_sub(v)?;
        } else {
            total += v;
            prev = v;
        }
    }
    (1..40).contains(&total).then_some(total as f64)
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
        } else if *w == "mười" {
            // "mười tám" is 18, "mười lăm" 15.
            if let Some(u) = words.get(k + 1).and_then(|n| vi_unit(n)) {
                out.push(10.0 + u);
            }
        } else if *w == "mươi" {
            // "hai mươi" 20, "hai mươi mốt" 21.
            if let Some(t) = k.checked_sub(1).and_then(|p| vi_unit(words[p])) {
                out.push(t * 10.0);
                if let Some(u) = words.get(k + 1).and_then(|n| vi_unit(n)) {
                    out.push(t * 10.0 + u);
                }
            }
        } else if matches!(*w, "kỷ" | "kỉ") && k > 0 && words[k - 1] == "thế" {
            // "thế kỷ XX" is the 20th century.
            if let Some(v) = words.get(k + 1).and_then(|n| roman(n)) {
                out.push(v);
            }
        }
        if lang == Lang::Vi && *w == "tháng" {
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
        (Some(UpToOrTo), None | Some(AtMost | Under))
        | (None | Some(AtMost | Under), Some(UpToOrTo)) => true,
        _ => false,
    }
}

/// `number-missed`, `new-number` and `approximation-changed`.
pub(super) fn numbers(source: &str, target: &str, pair: LangPair) -> Vec<Finding> {
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
    const EN_VI: LangPair = LangPair {
        from: Lang::En,
        to: Lang::Vi,
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
        assert!(values("ASN.1 and COVID-19", Lang::En).is_empty());
        assert_eq!(
            values("version 2.1 of 3-4 files", Lang::En),
            [2.1, 3.0, 4.0]
        );
    }

    #[test]
    fn qualifiers_are_held_to_the_source() {
        let f = numbers("gần 70 nước đã ký", "more than 70 countries signed", VI_EN);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].flag, Flag::ApproximationChanged);
        assert!(numbers("gần 70 nước đã ký", "nearly 70 countries signed", VI_EN).is_empty());
        assert!(numbers("khoảng 70 nước", "about 70 countries", VI_EN).is_empty());
        assert!(numbers("hơn 70 nước", "over 70 countries", VI_EN).is_empty());
        // đến: "up to" or a plain "to".
        assert!(numbers("chứa đến 30 giá trị", "holds up to 30 values", VI_EN).is_empty());
        assert!(numbers("tăng đến 30%", "rose to 30%", VI_EN).is_empty());
        assert!(numbers("from 10 to 30", "từ 10 đến 30", EN_VI).is_empty());
        let more = numbers("chứa đến 30 giá trị", "holds more than 30 values", VI_EN);
        assert_eq!(more[0].flag, Flag::ApproximationChanged);
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
        assert!(numbers("mười tám nước", "18 countries", VI_EN).is_empty());
        assert!(numbers("hai mươi mốt nước", "21 countries", VI_EN).is_empty());
        assert!(numbers("đầu thế kỷ XX", "the early 20th century", VI_EN).is_empty());
        assert!(numbers("vào thế kỉ XVIII", "in the 18th century", VI_EN).is_empty());
        assert_eq!(
            numbers("vào thế kỉ XVI", "in the 17th century", VI_EN)[0].flag,
            Flag::NewNumber
        );
        assert!(numbers("(tần số là 2)", "(twice a year)", VI_EN).is_empty());
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
}
