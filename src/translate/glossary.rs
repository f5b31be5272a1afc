//! Glossaries: fixed renderings of names, titles and institutions.
//!
//! Policy: an entry is shown to the model only for a sentence whose source
//! contains the entry's term (as whole words, after NFC), as a short note
//! under the sentence in its user turn; the longest matching terms win and a
//! term inside a longer matched term is not shown again. After the reply, an
//! entry whose rendering is missing from it (case-insensitive) is flagged
//! `glossary-missed` on the segment: the tool says so rather than forcing
//! the words in. The built-in list holds only unambiguous titles,
//! institutions and places of Vietnamese news; a user file (`--glossary
//! FILE`, `source<TAB>target` lines) is added to it, and its entries win
//! over built-in ones for the same term.

use unicode_normalization::UnicodeNormalization;

use crate::input::{InputError, Result};

use crate::types::Lang;

/// Built-in Vietnamese -> English entries.
const BUILTIN_VI_EN: &[(&str, &str)] = &[
    ("Thủ tướng Chính phủ", "Prime Minister"),
    ("Thủ tướng", "Prime Minister"),
    ("Phó Thủ tướng", "Deputy Prime Minister"),
    ("Chủ tịch nước", "President"),
    ("Phó Chủ tịch nước", "Vice President"),
    ("Tổng Bí thư", "General Secretary"),
    ("Chủ tịch Quốc hội", "Chairman of the National Assembly"),
    ("Quốc hội", "National Assembly"),
    ("Bộ Chính trị", "Politburo"),
    ("Ban Chấp hành Trung ương", "Central Committee"),
    ("Liên Hợp Quốc", "United Nations"),
    ("Liên hợp quốc", "United Nations"),
    ("Tổng Thư ký Liên Hợp Quốc", "UN Secretary-General"),
    ("Tổng Thư ký Liên hợp quốc", "UN Secretary-General"),
    ("Đại hội đồng Liên Hợp Quốc", "UN General Assembly"),
    ("Hội đồng Bảo an", "Security Council"),
    ("Liên minh châu Âu", "European Union"),
    (
        "Hiệp hội các quốc gia Đông Nam Á",
        "Association of Southeast Asian Nations",
    ),
    ("Bộ Công an", "Ministry of Public Security"),
    ("Bộ Ngoại giao", "Ministry of Foreign Affairs"),
    ("Bộ Quốc phòng", "Ministry of National Defence"),
    ("Bộ Tài chính", "Ministry of Finance"),
    ("Bộ Y tế", "Ministry of Health"),
    (
        "Bộ Giáo dục và Đào tạo",
        "Ministry of Education and Training",
    ),
    (
        "Bộ Thông tin và Truyền thông",
        "Ministry of Information and Communications",
    ),
    (
        "Bộ Khoa học và Công nghệ",
        "Ministry of Science and Technology",
    ),
    (
        "Bộ Kế hoạch và Đầu tư",
        "Ministry of Planning and Investment",
    ),
    ("Bộ Công Thương", "Ministry of Industry and Trade"),
    ("Ngân hàng Nhà nước", "State Bank of Vietnam"),
    ("Tổng cục Thống kê", "General Statistics Office"),
    ("Mặt trận Tổ quốc", "Fatherland Front"),
    ("Công ước Hà Nội", "Hanoi Convention"),
    ("Hà Nội", "Hanoi"),
    ("TP.HCM", "Ho Chi Minh City"),
    ("TP Hồ Chí Minh", "Ho Chi Minh City"),
    ("Thành phố Hồ Chí Minh", "Ho Chi Minh City"),
    ("Đà Nẵng", "Da Nang"),
    ("Hải Phòng", "Hai Phong"),
    ("Cần Thơ", "Can Tho"),
    ("Việt Nam", "Vietnam"),
    // Countries a small model confuses (it once made Sweden's ambassador
    // Dutch), as English news writes them. One-syllable names (Anh, Mỹ,
    // Pháp, Đức, Nga, Áo, Bỉ) are left out: they are also pronouns, words
    // and parts of personal names.
    ("Thụy Điển", "Sweden"),
    ("Thuỵ Điển", "Sweden"),
    ("Hà Lan", "Netherlands"),
    ("Thụy Sĩ", "Switzerland"),
    ("Thuỵ Sĩ", "Switzerland"),
    ("Na Uy", "Norway"),
    ("Đan Mạch", "Denmark"),
    ("Phần Lan", "Finland"),
    ("Ba Lan", "Poland"),
    ("Hoa Kỳ", "United States"),
    ("Nhật Bản", "Japan"),
    ("Hàn Quốc", "South Korea"),
    ("Trung Quốc", "China"),
    ("Ấn Độ", "India"),
    ("Úc", "Australia"),
    ("Lào", "Laos"),
    ("Campuchia", "Cambodia"),
    ("Thái Lan", "Thailand"),
];

/// One entry: the source term and its fixed rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub term: String,
    pub rendering: String,
}

/// A glossary for one direction. Empty for directions without entries.
#[derive(Debug, Clone, Default)]
pub struct Glossary {
    /// Longest term first, so longer matches are found before their parts.
    entries: Vec<Entry>,
}

impl Glossary {
    /// The built-in entries for `from -> to` (none for English -> Vietnamese:
    /// renderings into Vietnamese vary with the sentence).
    pub fn builtin(from: Lang, to: Lang) -> Self {
        let pairs: &[(&str, &str)] = match (from, to) {
            (Lang::Vi, Lang::En) => BUILTIN_VI_EN,
            _ => &[],
        };
        Self::from_entries(pairs.iter().map(|&(t, r)| Entry {
            term: t.nfc().collect(),
            rendering: r.to_string(),
        }))
    }

    fn from_entries(entries: impl IntoIterator<Item = Entry>) -> Self {
        let mut v: Vec<Entry> = Vec::new();
        for e in entries {
            // A later entry for the same term replaces the earlier one.
            v.retain(|x| x.term != e.term);
            v.push(e);
        }
        v.sort_by(|a, b| {
            b.term
                .chars()
                .count()
                .cmp(&a.term.chars().count())
                .then(a.term.cmp(&b.term))
        });
        Self { entries: v }
    }

    /// Parses `source<TAB>target` lines (blank lines and lines starting
    /// with `#` are skipped) and adds them over `self`.
    pub fn extend_from_tsv(self, name: &str, text: &str) -> Result<Self> {
        let mut extra = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |message: &str| InputError::InvalidDocument {
                input: format!("{name}:{}", i + 1),
                message: message.to_string(),
            };
            let mut parts = line.split('\t');
            let (term, rendering) = match (parts.next(), parts.next(), parts.next()) {
                (Some(t), Some(r), None) => (t.trim(), r.trim()),
                _ => {
                    return Err(bad(
                        "expected exactly two tab-separated fields: source term, rendering",
                    ))
                }
            };
            if term.is_empty() || rendering.is_empty() {
                return Err(bad("empty term or rendering"));
            }
            extra.push(Entry {
                term: term.nfc().collect(),
                rendering: rendering.to_string(),
            });
        }
        Ok(Self::from_entries(self.entries.into_iter().chain(extra)))
    }

    /// `self` with `other`'s entries added over it.
    pub fn extend(self, other: &Glossary) -> Self {
        Self::from_entries(
            self.entries
                .into_iter()
                .chain(other.entries.iter().cloned()),
        )
    }

    /// Reads a user glossary file (`source<TAB>target` lines).
    pub fn from_tsv(name: &str, text: &str) -> Result<Self> {
        Self::default().extend_from_tsv(name, text)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entries whose term occurs in `source` as whole words, longest
    /// first, without terms that only occur inside a longer match.
    pub fn matches(&self, source: &str) -> Vec<&Entry> {
        let source: String = source.nfc().collect();
        let mut taken: Vec<(usize, usize)> = Vec::new();
        let mut out: Vec<&Entry> = Vec::new();
        for e in &self.entries {
            let mut found = false;
            for (start, _) in source.match_indices(e.term.as_str()) {
                let end = start + e.term.len();
                let before = source[..start].chars().next_back();
                let after = source[end..].chars().next();
                let word_edge = |c: Option<char>| !c.is_some_and(char::is_alphanumeric);
                if !word_edge(before) || !word_edge(after) {
                    continue;
                }
                if taken.iter().any(|&(s, t)| start >= s && end <= t) {
                    continue;
                }
                taken.push((start, end));
                found = true;
            }
            if found && !out.iter().any(|x| x.rendering == e.rendering) {
                out.push(e);
            }
        }
        out
    }

    /// `self` with more entries (for checks; a later entry for the same
    /// term replaces an earlier one).
    pub fn with_entries<'a>(self, extra: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::from_entries(
            self.entries
                .into_iter()
                .chain(extra.into_iter().map(|(t, r)| Entry {
                    term: t.nfc().collect(),
                    rendering: r.to_string(),
                })),
        )
    }

    /// Every distinct rendering.
    pub fn renderings(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for e in &self.entries {
            if !out.contains(&e.rendering.as_str()) {
                out.push(&e.rendering);
            }
        }
        out
    }

    /// The terms rendered as `rendering`.
    pub fn terms_for<'g>(&'g self, rendering: &'g str) -> impl Iterator<Item = &'g str> {
        self.entries
            .iter()
            .filter(move |e| e.rendering == rendering)
            .map(|e| e.term.as_str())
    }

    /// The note added under a sentence for its matches, or `None`.
    pub fn note(matches: &[&Entry]) -> Option<String> {
        if matches.is_empty() {
            return None;
        }
        let items: Vec<String> = matches
            .iter()
            .map(|e| format!("{} = {}", e.term, e.rendering))
            .collect();
        Some(format!("(Glossary: {})", items.join("; ")))
    }

    /// Matched entries whose rendering is missing from `target`.
    pub fn missed<'e>(matches: &[&'e Entry], target: &str) -> Vec<&'e Entry> {
        let t = target.to_lowercase();
        matches
            .iter()
            .filter(|e| !t.contains(&e.rendering.to_lowercase()))
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_term_wins_and_parts_are_not_repeated() {
        let g = Glossary::builtin(Lang::Vi, Lang::En);
        let m = g.matches("Phó Thủ tướng và Thủ tướng Chính phủ dự lễ tại Hà Nội.");
        let terms: Vec<&str> = m.iter().map(|e| e.term.as_str()).collect();
        assert_eq!(terms, ["Thủ tướng Chính phủ", "Phó Thủ tướng", "Hà Nội"]);
    }

    #[test]
    fn whole_words_only_and_nfd_input_matches() {
        let g = Glossary::builtin(Lang::Vi, Lang::En);
        // "Hà Nội" must not match inside a longer word.
        assert!(g.matches("Hà Nộix").is_empty());
        let nfd: String = "Liên Hợp Quốc".nfd().collect();
        let m = g.matches(&format!("Tổ chức {nfd} họp."));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].rendering, "United Nations");
        assert!(Glossary::builtin(Lang::En, Lang::Vi).is_empty());
    }

    #[test]
    fn user_entries_override_and_bad_lines_are_named() {
        let g = Glossary::builtin(Lang::Vi, Lang::En)
            .extend_from_tsv(
                "g.tsv",
                "# names\nHà Nội\tHa Noi\n\nBộ Tư pháp\tMinistry of Justice\n",
            )
            .unwrap();
        let m = g.matches("Bộ Tư pháp ở Hà Nội");
        let r: Vec<&str> = m.iter().map(|e| e.rendering.as_str()).collect();
        assert_eq!(r, ["Ministry of Justice", "Ha Noi"]);
        let err = Glossary::default()
            .extend_from_tsv("g.tsv", "ok\tfine\nno tab here\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("g.tsv:2"), "{err}");
    }

    #[test]
    fn notes_and_misses() {
        let g = Glossary::builtin(Lang::Vi, Lang::En);
        let m = g.matches("Thủ tướng thăm Đà Nẵng");
        assert_eq!(
            Glossary::note(&m).unwrap(),
            "(Glossary: Thủ tướng = Prime Minister; Đà Nẵng = Da Nang)"
        );
        let missed = Glossary::missed(&m, "The prime minister visited Danang.");
        assert_eq!(missed.len(), 1);
        assert_eq!(missed[0].rendering, "Da Nang");
        assert!(Glossary::note(&[]).is_none());
    }
}
