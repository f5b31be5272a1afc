//! A translation memory: earlier (source, translation) pairs, of which the
//! ones most like the sentence at hand are shown to the model as worked
//! examples just before it (retrieval few-shot).
//!
//! Likeness is the Dice coefficient of the sets of character trigrams of
//! the lowercased, NFC-normalized texts (spaces included, so word edges
//! count): cheap, language-independent and good at finding the same terms.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;

use crate::input::{InputError, Result};

/// Pairs and their trigram sets.
#[derive(Debug, Clone, Default)]
pub struct ExamplePool {
    pairs: Vec<(String, String)>,
    grams: Vec<HashSet<[char; 3]>>,
}

fn trigrams(text: &str) -> HashSet<[char; 3]> {
    let chars: Vec<char> = format!(" {} ", text.nfc().collect::<String>().to_lowercase())
        .chars()
        .collect();
    chars.windows(3).map(|w| [w[0], w[1], w[2]]).collect()
}

impl ExamplePool {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        let grams = pairs.iter().map(|(s, _)| trigrams(s)).collect();
        Self { pairs, grams }
    }

    /// Parses `source<TAB>translation` lines; blank lines are skipped, any
    /// other line without exactly one tab is an error naming `name:line`.
    pub fn from_tsv(name: &str, text: &str) -> Result<Self> {
        let mut pairs = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                [s, t] if !s.trim().is_empty() && !t.trim().is_empty() => {
                    pairs.push((s.trim().nfc().collect(), t.trim().to_string()))
                }
                _ => {
                    return Err(InputError::InvalidDocument {
                        input: format!("{name}:{}", i + 1),
                        message: "expected source<TAB>translation, both non-empty".into(),
                    })
                }
            }
        }
        Ok(Self::new(pairs))
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The `k` pairs most like `source`, least alike first (so the closest
    /// example sits next to the request). Pairs with no trigram in common
    /// are never chosen; with `skip_identical`, neither is a pair whose
    /// source is `source` itself (evaluation on the pool's own pairs).
    pub fn nearest(&self, source: &str, k: usize, skip_identical: bool) -> Vec<(&str, &str)> {
        if k == 0 || self.pairs.is_empty() {
            return Vec::new();
        }
        let q = trigrams(source);
        let norm: String = source.trim().nfc().collect();
        let mut scored: Vec<(f64, usize)> = self
            .grams
            .iter()
            .enumerate()
            .filter(|(i, _)| !(skip_identical && self.pairs[*i].0 == norm))
            .filter_map(|(i, g)| {
                let common = q.intersection(g).count();
                (common > 0).then(|| (2.0 * common as f64 / (q.len() + g.len()) as f64, i))
            })
            .collect();
        // Highest score first; ties by pool order (deterministic).
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(k);
        scored
            .iter()
            .rev()
            .map(|&(_, i)| (self.pairs[i].0.as_str(), self.pairs[i].1.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> ExamplePool {
        ExamplePool::from_tsv(
            "tm.tsv",
            "không thể ghi tập tin\tcannot write file\n\nkhông thể đọc thư mục\tcannot read directory\nThủ tướng chủ trì cuộc họp\tThe Prime Minister chaired the meeting\n",
        )
        .unwrap()
    }

    #[test]
    fn closest_last_and_unrelated_never() {
        let p = pool();
        assert_eq!(p.len(), 3);
        let n = p.nearest("không thể ghi thư mục", 2, false);
        assert_eq!(n.len(), 2);
        // Both share "không thể"; the file one shares "ghi" too, the
        // directory one "thư mục" (longer): closest last.
        assert_eq!(n[1].1, "cannot read directory");
        assert_eq!(n[0].1, "cannot write file");
        assert!(p.nearest("xyz", 3, false).is_empty());
    }

    #[test]
    fn identical_source_skipped_on_request_and_nfd_matches() {
        let p = pool();
        let nfd: String = "không thể ghi tập tin".nfd().collect();
        assert_eq!(p.nearest(&nfd, 1, false)[0].1, "cannot write file");
        assert_ne!(p.nearest(&nfd, 1, true)[0].1, "cannot write file");
    }

    #[test]
    fn bad_lines_are_named() {
        let err = ExamplePool::from_tsv("tm.tsv", "a\tb\nno tab\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("tm.tsv:2"), "{err}");
    }
}
