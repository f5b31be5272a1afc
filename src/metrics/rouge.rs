//! ROUGE-1, ROUGE-2 and ROUGE-L (Lin 2004) for scoring summaries against references.
//!
//! The scoring follows Google's `rouge-score` package (clipped n-gram overlap, whole-text
//! LCS for `rougeL`, mean of per-pair P/R/F1 for a corpus), but the tokenizer does not: that
//! package splits on `[^a-z0-9]+`, which deletes every Vietnamese letter with a diacritic
//! (ư, ơ, đ, ệ, ...) and so scores "mà" and "má" as the same (empty) word. Here a token is a
//! maximal run of Unicode alphanumerics after NFC normalization and lowercasing, so diacritics
//! are kept and NFD input scores exactly like NFC input.

use std::collections::HashMap;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Precision, recall and F1 as fractions in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Score {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// The three ROUGE variants reported by `dich`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Rouge {
    pub rouge1: Score,
    pub rouge2: Score,
    pub rouge_l: Score,
}

impl Score {
    const ZERO: Score = Score {
        precision: 0.0,
        recall: 0.0,
        f1: 0.0,
    };

    /// Builds a score from a match count; any zero denominator yields 0 rather than NaN, so
    /// empty summaries and references aggregate cleanly.
    fn from_counts(matched: usize, hyp_total: usize, ref_total: usize) -> Score {
        let ratio = |den: usize| {
            if den == 0 {
                0.0
            } else {
                matched as f64 / den as f64
            }
        };
        let precision = ratio(hyp_total);
        let recall = ratio(ref_total);
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Score {
            precision,
            recall,
            f1,
        }
    }
}

impl Rouge {
    const ZERO: Rouge = Rouge {
        rouge1: Score::ZERO,
        rouge2: Score::ZERO,
        rouge_l: Score::ZERO,
    };
}

/// Splits `text` into lowercase word tokens, keeping Vietnamese (and any other) letters with
/// diacritics. No stemming and no stopword removal.
pub fn tokenize(text: &str) -> Vec<String> {
    // NFC first so that decomposed input (base letter + combining marks) becomes the same
    // precomposed letters as NFC input before anything is compared.
    let lowered = text.nfc().collect::<String>().to_lowercase();
    let mut tokens = Vec::new();
    let mut current = String::new();
    for c in lowered.chars() {
        // A combining mark NFC could not absorb (or one produced by lowercasing, e.g. "İ")
        // still belongs to the letter before it; a stray mark with no letter is dropped.
        if c.is_alphanumeric() || (is_combining_mark(c) && !current.is_empty()) {
            current.push(c);
        } else if !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Scores one hypothesis (system summary) against one reference.
pub fn score(hyp: &str, reference: &str) -> Rouge {
    let hyp = tokenize(hyp);
    let reference = tokenize(reference);
    Rouge {
        rouge1: rouge_n(&hyp, &reference, 1),
        rouge2: rouge_n(&hyp, &reference, 2),
        rouge_l: rouge_l(&hyp, &reference),
    }
}

/// Mean of per-pair precision, recall and F1 over `(hyp, reference)` pairs, as
/// `rouge-score`'s aggregate mean does; an empty slice gives all zeros.
pub fn corpus(pairs: &[(String, String)]) -> Rouge {
    if pairs.is_empty() {
        return Rouge::ZERO;
    }
    let mut sum = Rouge::ZERO;
    for (hyp, reference) in pairs {
        let r = score(hyp, reference);
        add(&mut sum.rouge1, &r.rouge1);
        add(&mut sum.rouge2, &r.rouge2);
        add(&mut sum.rouge_l, &r.rouge_l);
    }
    let n = pairs.len() as f64;
    for s in [&mut sum.rouge1, &mut sum.rouge2, &mut sum.rouge_l] {
        s.precision /= n;
        s.recall /= n;
        s.f1 /= n;
    }
    sum
}

fn add(acc: &mut Score, s: &Score) {
    acc.precision += s.precision;
    acc.recall += s.recall;
    acc.f1 += s.f1;
}

fn ngram_counts(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    for gram in tokens.windows(n) {
        *counts.entry(gram).or_insert(0) += 1;
    }
    counts
}

/// Clipped n-gram overlap: a hypothesis n-gram only matches as many times as it occurs in
/// the reference, so repeating a reference word cannot inflate precision.
fn rouge_n(hyp: &[String], reference: &[String], n: usize) -> Score {
    let hyp_counts = ngram_counts(hyp, n);
    let ref_counts = ngram_counts(reference, n);
    let matched: usize = hyp_counts
        .iter()
        .map(|(gram, &h)| h.min(ref_counts.get(gram).copied().unwrap_or(0)))
        .sum();
    let total = |len: usize| (len + 1).saturating_sub(n);
    Score::from_counts(matched, total(hyp.len()), total(reference.len()))
}

fn rouge_l(hyp: &[String], reference: &[String]) -> Score {
    Score::from_counts(lcs_len(hyp, reference), hyp.len(), reference.len())
}

/// LCS length with two DP rows sized by the shorter sequence: texts can run to thousands of
/// tokens, and the full table would be millions of cells for no benefit.
fn lcs_len(a: &[String], b: &[String]) -> usize {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut prev = vec![0usize; short.len() + 1];
    let mut curr = vec![0usize; short.len() + 1];
    for x in long {
        for (j, y) in short.iter().enumerate() {
            curr[j + 1] = if x == y {
                prev[j] + 1
            } else {
                prev[j + 1].max(curr[j])
            };
        }
        std::mem::swap(&mut prev, &mut curr);
    }
    prev[short.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-12,
            "expected {expected}, got {actual}"
        );
    }

    fn assert_score(s: Score, p: f64, r: f64) {
        assert_close(s.precision, p);
        assert_close(s.recall, r);
        let f = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        assert_close(s.f1, f);
    }

    fn all_equal(r: Rouge, v: f64) {
        for s in [r.rouge1, r.rouge2, r.rouge_l] {
            assert_score(s, v, v);
        }
    }

    #[test]
    fn tokenize_keeps_diacritics_and_splits_punctuation() {
        assert_eq!(
            tokenize("Hà Nội, 25/10: tăng 5,66%"),
            ["hà", "nội", "25", "10", "tăng", "5", "66"]
        );
        assert_eq!(
            tokenize("Ông nói: “Được rồi!”"),
            ["ông", "nói", "được", "rồi"]
        );
        assert_eq!(tokenize("ĐÀ NẴNG"), ["đà", "nẵng"]);
        assert_eq!(tokenize("  ... ,;  "), Vec::<String>::new());
        assert_eq!(tokenize(""), Vec::<String>::new());
    }

    #[test]
    fn tokenize_nfd_equals_nfc() {
        let nfc = "Người dân Đà Nẵng ủng hộ";
        let nfd: String = nfc.nfd().collect();
        assert_ne!(nfc, nfd);
        assert_eq!(tokenize(&nfd), tokenize(nfc));
    }

    #[test]
    fn identical_texts_score_one() {
        all_equal(
            score("the cat sat on the mat", "the cat sat on the mat"),
            1.0,
        );
        all_equal(score("Thủ tướng phát biểu", "thủ tướng phát biểu."), 1.0);
    }

    #[test]
    fn disjoint_texts_score_zero() {
        all_equal(score("alpha beta gamma", "delta epsilon"), 0.0);
    }

    #[test]
    fn empty_inputs_score_zero_without_nan() {
        all_equal(score("", "the cat"), 0.0);
        all_equal(score("the cat", ""), 0.0);
        all_equal(score("", ""), 0.0);
        // One token: no bigrams on either side, so ROUGE-2 has zero denominators.
        assert_score(score("cat", "cat").rouge2, 0.0, 0.0);
    }

    #[test]
    fn english_overlap_counts() {
        // ref: the cat sat on the mat (6), hyp: the cat lay on the mat (6).
        // Unigrams: the x2, cat, on, mat match -> 5/6 both ways.
        // Bigrams (5 each): {the cat, on the, the mat} match -> 3/5.
        // LCS: the cat on the mat = 5 -> 5/6.
        let r = score("the cat lay on the mat", "the cat sat on the mat");
        assert_score(r.rouge1, 5.0 / 6.0, 5.0 / 6.0);
        assert_score(r.rouge2, 3.0 / 5.0, 3.0 / 5.0);
        assert_score(r.rouge_l, 5.0 / 6.0, 5.0 / 6.0);
    }

    #[test]
    fn repeated_words_are_clipped() {
        // hyp "the the the" (3) vs ref "the cat" (2): "the" counts min(3, 1) = 1,
        // so P = 1/3, R = 1/2, F1 = 0.4. Bigrams {the the x2} vs {the cat}: 0.
        // LCS = 1 -> P 1/3, R 1/2.
        let r = score("the the the", "the cat");
        assert_score(r.rouge1, 1.0 / 3.0, 1.0 / 2.0);
        assert_close(r.rouge1.f1, 0.4);
        assert_score(r.rouge2, 0.0, 0.0);
        assert_score(r.rouge_l, 1.0 / 3.0, 1.0 / 2.0);
    }

    #[test]
    fn vietnamese_overlap_counts() {
        // 7 tokens each, differing only in "tại" vs "ở".
        // Unigrams: 6/7. Bigrams (6 each): thủ tướng, tướng phát, phát biểu, hà nội -> 4/6.
        // LCS: thủ tướng phát biểu hà nội = 6 -> 6/7.
        let r = score(
            "Thủ tướng phát biểu tại Hà Nội",
            "Thủ tướng phát biểu ở Hà Nội",
        );
        assert_score(r.rouge1, 6.0 / 7.0, 6.0 / 7.0);
        assert_score(r.rouge2, 4.0 / 6.0, 4.0 / 6.0);
        assert_score(r.rouge_l, 6.0 / 7.0, 6.0 / 7.0);
    }

    #[test]
    fn diacritics_distinguish_words() {
        // rouge-score's [^a-z0-9]+ tokenizer would reduce all three to "m" and score 1.0.
        all_equal(score("ma", "mà"), 0.0);
        all_equal(score("mà", "má"), 0.0);
        all_equal(score("ma", "má"), 0.0);
        // "con ma" vs "con mà": only "con" matches -> 1/2; no bigram matches.
        let r = score("con ma", "con mà");
        assert_score(r.rouge1, 0.5, 0.5);
        assert_score(r.rouge2, 0.0, 0.0);
    }

    #[test]
    fn nfd_input_scores_like_nfc() {
        let hyp = "Thủ tướng phát biểu tại Hà Nội";
        let reference = "Thủ tướng phát biểu ở Hà Nội";
        let hyp_nfd: String = hyp.nfd().collect();
        let ref_nfd: String = reference.nfd().collect();
        let expected = score(hyp, reference);
        assert_eq!(score(&hyp_nfd, &ref_nfd), expected);
        assert_eq!(score(&hyp_nfd, reference), expected);
        all_equal(score(&hyp_nfd, hyp), 1.0);
    }

    #[test]
    fn corpus_averages_pairs() {
        // Pair 1: the cat example (R1 5/6 both ways, R2 3/5, RL 5/6).
        // Pair 2: clipping example (R1 and RL P 1/3, R 1/2, F1 0.4; R2 0).
        let pairs = vec![
            (
                "the cat lay on the mat".to_string(),
                "the cat sat on the mat".to_string(),
            ),
            ("the the the".to_string(), "the cat".to_string()),
        ];
        let r = corpus(&pairs);
        for s in [r.rouge1, r.rouge_l] {
            assert_close(s.precision, (5.0 / 6.0 + 1.0 / 3.0) / 2.0);
            assert_close(s.recall, (5.0 / 6.0 + 1.0 / 2.0) / 2.0);
            assert_close(s.f1, (5.0 / 6.0 + 0.4) / 2.0);
        }
        assert_score(r.rouge2, 0.3, 0.3);
        all_equal(corpus(&[]), 0.0);
    }

    #[test]
    fn lcs_handles_long_inputs() {
        // Every other token matches: LCS of "a b a b ..." (2000) vs "a a a ..." (1000) is 1000.
        let hyp = "a b ".repeat(1000);
        let reference = "a ".repeat(1000);
        let r = score(&hyp, &reference);
        assert_score(r.rouge_l, 0.5, 1.0);
    }
}
