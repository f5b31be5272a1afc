//! Telling Vietnamese from English, for inputs whose language is not given.
//!
//! Vietnamese writes almost every syllable with a letter English never uses
//! (đ, ư, ơ, ă, â, ê, ô, or a tone mark), so the share of words carrying one
//! separates the two languages by a wide gap: around half of the words of
//! Vietnamese news, almost none of English text (a quoted name at most).

use unicode_normalization::UnicodeNormalization;

use crate::types::Lang;

/// Share of words with a Vietnamese letter above which text is Vietnamese.
const VIETNAMESE_SHARE: f64 = 0.15;

/// True for letters that mark Vietnamese: the extra vowels and consonant,
/// and any letter carrying one of the five tone marks.
pub fn is_vietnamese_letter(c: char) -> bool {
    const EXTRA: &str = "đĐăĂâÂêÊôÔơƠưƯ";
    // Grave, acute, tilde, hook above, dot below.
    const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{303}', '\u{309}', '\u{323}'];
    EXTRA.contains(c) || std::iter::once(c).nfd().any(|d| TONES.contains(&d))
}

/// The language of `text`: Vietnamese when enough words carry a Vietnamese
/// letter, English otherwise (also for text without words).
pub fn detect(text: &str) -> Lang {
    let nfc: String = text.nfc().collect();
    let mut words = 0usize;
    let mut vi = 0usize;
    for w in nfc
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
    {
        words += 1;
        if w.chars().any(is_vietnamese_letter) {
            vi += 1;
        }
    }
    if words > 0 && vi as f64 / words as f64 >= VIETNAMESE_SHARE {
        Lang::Vi
    } else {
        Lang::En
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_and_short_texts() {
        let vi = include_str!("../../seeds/vi-vtc-hanoi-convention-signing.txt");
        let en = include_str!("../../seeds/en-sggp-global-shield.txt");
        assert_eq!(detect(vi), Lang::Vi);
        assert_eq!(detect(en), Lang::En);
        assert_eq!(detect("Thủ tướng phát biểu tại Hà Nội."), Lang::Vi);
        assert_eq!(detect("The Prime Minister spoke in Hanoi."), Lang::En);
        assert_eq!(
            detect("Café Müller opened a new branch in Berlin last week."),
            Lang::En
        );
        assert_eq!(detect("123 456"), Lang::En);
    }

    #[test]
    fn decomposed_vietnamese_is_still_vietnamese() {
        let nfd: String = "Việt Nam đăng cai tổ chức lễ ký kết".nfd().collect();
        assert_eq!(detect(&nfd), Lang::Vi);
    }
}
