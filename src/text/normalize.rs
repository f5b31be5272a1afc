//! What a model sees of a segment. Spans always point into the original
//! bytes; only the copy handed to a model is normalized, so the source can be
//! quoted back exactly while the model gets one canonical spelling.

use unicode_normalization::UnicodeNormalization;

/// The text that is sent to a model for a segment: NFC-normalized, internal
/// whitespace runs (including newlines inside a soft-wrapped paragraph, NBSP, tabs)
/// collapsed to one ASCII space, trimmed. Nothing else changes: diacritics, curly
/// quotes, dates (25/10), decimals (5,66%), abbreviations survive byte-for-byte (after NFC).
///
/// A byte-order mark (U+FEFF) counts as whitespace here, as it does in
/// [`segment()`](crate::text::segment()): it is invisible and only ever an artifact of how
/// the file was saved.
pub fn model_text(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut pending_space = false;
    // Vietnamese web text is often NFD (decomposed tone marks); tokenizers are
    // trained on NFC, so the model must never see the decomposed form.
    for c in source.nfc() {
        if is_blank(c) {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// Whitespace for segmentation and model text: Unicode White_Space (which
/// includes NBSP, tabs, CR and the line/paragraph separators) plus the BOM.
pub(crate) fn is_blank(c: char) -> bool {
    c.is_whitespace() || c == '\u{FEFF}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_soft_wrap_nbsp_and_tabs() {
        let src =
            "Sáng 25/10, Lễ mở ký Công ước\n  Liên hợp quốc\u{a0}về\tphòng chống\r\ntội phạm mạng.";
        assert_eq!(
            model_text(src),
            "Sáng 25/10, Lễ mở ký Công ước Liên hợp quốc về phòng chống tội phạm mạng."
        );
    }

    #[test]
    fn trims_and_drops_bom() {
        assert_eq!(
            model_text("\u{FEFF}  Tiềm năng to lớn \n"),
            "Tiềm năng to lớn"
        );
        assert_eq!(model_text(""), "");
        assert_eq!(model_text(" \t\u{a0}\n "), "");
    }

    #[test]
    fn nfd_becomes_nfc() {
        let nfc = "Đại sứ Thụy Điển Johan Ndisi cho biết, đối với Thụy Điển, việc thông qua Công ước Hà Nội là một bước tiến tích cực.";
        let nfd: String = nfc.nfd().collect();
        assert_ne!(nfd, nfc);
        assert_eq!(model_text(&nfd), nfc);
    }

    #[test]
    fn keeps_numbers_quotes_and_abbreviations_verbatim() {
        let s = "“Tăng trưởng đạt 5,66% trong quý III”, PGS.TS. Nguyễn Văn A nói lúc 10:30 ngày 25/10 tại TP. Hồ Chí Minh; giá 1.000.000 đồng, tức 3.5 lần, v.v...";
        assert_eq!(model_text(s), s);
        let en = "Mr. Smith said the U.S. economy grew 3.5% in Q3 (e.g. \"faster than expected\") at 10:30 a.m.";
        assert_eq!(model_text(en), en);
    }
}
