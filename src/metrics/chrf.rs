//! chrF (Popović 2015) and chrF++ (Popović 2017) as sacreBLEU computes them
//! by default: character n-grams up to 6 with whitespace removed, plus word
//! uni- and bigrams for chrF++ (punctuation split off word edges the
//! sacreBLEU way), β = 2, case-sensitive, and sacreBLEU's "effective order"
//! averaging (its `eps_smoothing=False`, signature `eff:yes`): precision and
//! recall are averaged over the orders where both sides have n-grams, then
//! combined into one F-score.

use std::collections::HashMap;
use std::hash::Hash;

use crate::metrics::{pystr, Metric, Score, Stats, SACREBLEU_VERSION};

/// Character n-gram order.
pub const CHAR_ORDER: usize = 6;
/// Recall weight.
pub const BETA: u32 = 2;

/// `string.punctuation`, split off the edges of words for chrF++.
const PUNCTS: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// `[hypothesis, reference, matched]` n-gram counts per order: the character
/// orders first, then the word orders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChrfStats(pub Vec<[u64; 3]>);

impl Stats for ChrfStats {
    fn add(&mut self, other: &Self) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), [0; 3]);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            for k in 0..3 {
                a[k] += b[k];
            }
        }
    }
}

/// A chrF or chrF++ score (0-100).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChrfScore {
    pub score: f64,
    pub char_order: usize,
    pub word_order: usize,
    pub beta: u32,
}

impl Score for ChrfScore {
    fn value(&self) -> f64 {
        self.score
    }
}

/// chrF (`word_order` 0) or chrF++ (`word_order` 2) with sacreBLEU's
/// defaults otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chrf {
    pub word_order: usize,
}

impl Chrf {
    pub const CHRF: Chrf = Chrf { word_order: 0 };
    pub const CHRF_PLUS_PLUS: Chrf = Chrf { word_order: 2 };

    fn order(&self) -> usize {
        CHAR_ORDER + self.word_order
    }

    /// sacreBLEU's `CHRF._compute_f_score` without eps smoothing.
    fn f_score(&self, stats: &ChrfStats) -> f64 {
        let factor = f64::from(BETA * BETA);
        let (mut avg_prec, mut avg_rec) = (0.0, 0.0);
        let mut effective_order = 0u32;
        for i in 0..self.order() {
            let [n_hyp, n_ref, n_match] = stats.0.get(i).copied().unwrap_or_default();
            if n_hyp > 0 && n_ref > 0 {
                avg_prec += n_match as f64 / n_hyp as f64;
                avg_rec += n_match as f64 / n_ref as f64;
                effective_order += 1;
            }
        }
        if effective_order == 0 {
            return 0.0;
        }
        avg_prec /= f64::from(effective_order);
        avg_rec /= f64::from(effective_order);
        if avg_prec + avg_rec == 0.0 {
            return 0.0;
        }
        let mut score = (1.0 + factor) * avg_prec * avg_rec;
        score /= factor * avg_prec + avg_rec;
        100.0 * score
    }
}

impl Metric for Chrf {
    type Stats = ChrfStats;
    type Score = ChrfScore;

    fn name(&self) -> &'static str {
        match self.word_order {
            0 => "chrF2",
            1 => "chrF2+",
            _ => "chrF2++",
        }
    }

    fn signature(&self) -> String {
        format!(
            "nrefs:1|case:mixed|eff:yes|nc:{CHAR_ORDER}|nw:{}|space:no|version:{SACREBLEU_VERSION}",
            self.word_order
        )
    }

    fn segment_stats(&self, hyp: &str, reference: &str) -> ChrfStats {
        let chars = |s: &str| -> Vec<char> { s.chars().filter(|&c| !pystr::is_space(c)).collect() };
        let (hyp_chars, ref_chars) = (chars(hyp), chars(reference));
        let mut stats = Vec::with_capacity(self.order());
        for n in 1..=CHAR_ORDER {
            stats.push(match_stats(&hyp_chars, &ref_chars, n));
        }
        if self.word_order > 0 {
            let (hyp_words, ref_words) = (split_punctuation(hyp), split_punctuation(reference));
            for n in 1..=self.word_order {
                stats.push(match_stats(&hyp_words, &ref_words, n));
            }
        }
        ChrfStats(stats)
    }

    fn compute(&self, stats: &ChrfStats) -> ChrfScore {
        ChrfScore {
            score: self.f_score(stats),
            char_order: CHAR_ORDER,
            word_order: self.word_order,
            beta: BETA,
        }
    }
}

/// sacreBLEU's `sentence_score` for one hypothesis and one reference: the
/// corpus formula on a single segment's statistics. Used to find the worst
/// translated segments.
pub fn sentence_chrf(metric: &Chrf, hyp: &str, reference: &str) -> f64 {
    metric.f_score(&metric.segment_stats(hyp, reference))
}

/// `[hyp n-grams, ref n-grams, matched]` for one order, as
/// `CHRF._get_match_statistics`: hypothesis n-grams count only if the
/// reference has n-grams of that order.
fn match_stats<T: Eq + Hash>(hyp: &[T], reference: &[T], n: usize) -> [u64; 3] {
    let (h, r) = (ngram_counts(hyp, n), ngram_counts(reference, n));
    let mut matched = 0;
    let mut hyp_count = 0;
    for (g, c) in &h {
        hyp_count += c;
        if let Some(rc) = r.get(g) {
            matched += (*c).min(*rc);
        }
    }
    [
        if r.is_empty() { 0 } else { hyp_count },
        r.values().sum(),
        matched,
    ]
}

fn ngram_counts<T: Eq + Hash>(s: &[T], n: usize) -> HashMap<&[T], u64> {
    let mut counts = HashMap::new();
    for g in s.windows(n) {
        *counts.entry(g).or_insert(0) += 1;
    }
    counts
}

/// chrF++'s word split (`CHRF._remove_punctuation`): whitespace-separated
/// words, with one punctuation character split off the end of a word, or
/// else off its start. `(hi)` becomes `(hi` and `)`, as in sacreBLEU.
pub fn split_punctuation(sent: &str) -> Vec<&str> {
    let mut words = Vec::new();
    for w in pystr::split(sent) {
        let mut chars = w.chars();
        let (Some(first), Some(last)) = (chars.next(), chars.next_back()) else {
            // One character.
            words.push(w);
            continue;
        };
        // PUNCTS is ASCII, so the split points below are char boundaries.
        if PUNCTS.contains(last) {
            words.extend([&w[..w.len() - 1], &w[w.len() - 1..]]);
        } else if PUNCTS.contains(first) {
            words.extend([&w[..1], &w[1..]]);
        } else {
            words.push(w);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrf_plus_plus_splits_one_punctuation_mark() {
        assert_eq!(
            split_punctuation("(hi) “Hà Nội”, 3.5% \"quoted\" - ... a"),
            [
                "(hi", ")", "“Hà", "Nội”", ",", "3.5", "%", "\"quoted", "\"", "-", "..", ".", "a"
            ]
        );
        assert!(split_punctuation(" \t").is_empty());
    }

    #[test]
    fn counts_characters_without_whitespace() {
        // "ab c" -> "abc"; ref "abd": unigrams a,b,c vs a,b,d -> 2 of 3;
        // bigrams ab,bc vs ab,bd -> 1 of 2; trigrams 0 of 1; higher orders
        // have no n-grams on either side.
        let s = Chrf::CHRF.segment_stats("ab c", "abd");
        assert_eq!(s.0[..4], [[3, 3, 2], [2, 2, 1], [1, 1, 0], [0, 0, 0]]);
        let p = (2.0 / 3.0 + 0.5 + 0.0) / 3.0;
        let expected = 100.0 * 5.0 * p * p / (4.0 * p + p);
        let got = sentence_chrf(&Chrf::CHRF, "ab c", "abd");
        assert!((got - expected).abs() < 1e-12, "{got} {expected}");
        // A hypothesis n-gram counts only when the reference has that order.
        let s = Chrf::CHRF.segment_stats("abc", "ab");
        assert_eq!(s.0[2], [0, 0, 0]);
        assert_eq!(s.0[1], [2, 1, 1]);
    }

    #[test]
    fn corpus_sums_statistics_and_handles_empty() {
        let c = Chrf::CHRF_PLUS_PLUS;
        assert_eq!(
            c.corpus_score(&["Hà Nội."], &["Hà Nội."]).unwrap().score,
            100.0
        );
        assert_eq!(c.corpus_score(&[""], &["x"]).unwrap().score, 0.0);
        assert_eq!(c.corpus_score::<&str, &str>(&[], &[]).unwrap().score, 0.0);
        assert_eq!(sentence_chrf(&c, "abc", ""), 0.0);
        // Case-sensitive.
        assert!(sentence_chrf(&Chrf::CHRF, "Abc", "abc") < 100.0);
        let stats = c.corpus_stats(&["a b", "c d e"], &["a b", "c f"]).unwrap();
        let total = crate::metrics::sum(&stats);
        assert_eq!(total.0.len(), CHAR_ORDER + 2);
        assert_eq!(total.0[6], [5, 4, 3]);
    }
}
