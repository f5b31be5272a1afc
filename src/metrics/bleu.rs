//! BLEU (Papineni et al., 2002) as sacreBLEU computes it by default:
//! `13a` tokenization, n-grams up to 4, `exp` smoothing (mteval-v13a's),
//! no effective order, case-sensitive, one reference per segment.
//!
//! The floating-point operations are sacreBLEU's, in its order, so scores
//! agree to the last bit or nearly (the fixtures in
//! `tests/fixtures/sacrebleu` pin them).

use std::collections::HashMap;

use crate::metrics::tok13a::tokenize_13a;
use crate::metrics::{pystr, Metric, Score, Stats, SACREBLEU_VERSION};

/// The largest n-gram order.
pub const MAX_NGRAM_ORDER: usize = 4;

/// Matched and total hypothesis n-grams per order, and the lengths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BleuStats {
    pub hyp_len: u64,
    pub ref_len: u64,
    pub correct: [u64; MAX_NGRAM_ORDER],
    pub total: [u64; MAX_NGRAM_ORDER],
}

impl Stats for BleuStats {
    fn add(&mut self, other: &Self) {
        self.hyp_len += other.hyp_len;
        self.ref_len += other.ref_len;
        for n in 0..MAX_NGRAM_ORDER {
            self.correct[n] += other.correct[n];
            self.total[n] += other.total[n];
        }
    }
}

/// A BLEU score (0-100) with what sacreBLEU prints after it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BleuScore {
    pub score: f64,
    /// Matched n-grams per order.
    pub counts: [u64; MAX_NGRAM_ORDER],
    /// Hypothesis n-grams per order.
    pub totals: [u64; MAX_NGRAM_ORDER],
    /// Smoothed n-gram precisions, 0-100.
    pub precisions: [f64; MAX_NGRAM_ORDER],
    /// Brevity penalty.
    pub bp: f64,
    /// Hypothesis length over reference length (0 with no reference words).
    pub ratio: f64,
    pub hyp_len: u64,
    pub ref_len: u64,
}

impl Score for BleuScore {
    fn value(&self) -> f64 {
        self.score
    }

    /// `65.2/41.3/27.9/19.4 (BP = 0.951 ratio = 0.952 hyp_len = 118 ref_len = 124)`.
    fn verbose(&self) -> Option<String> {
        let precisions: Vec<String> = self.precisions.iter().map(|p| format!("{p:.1}")).collect();
        Some(format!(
            "{} (BP = {:.3} ratio = {:.3} hyp_len = {} ref_len = {})",
            precisions.join("/"),
            self.bp,
            self.ratio,
            self.hyp_len,
            self.ref_len
        ))
    }
}

/// BLEU with sacreBLEU's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bleu;

impl Metric for Bleu {
    type Stats = BleuStats;
    type Score = BleuScore;

    fn name(&self) -> &'static str {
        "BLEU"
    }

    fn signature(&self) -> String {
        format!("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:{SACREBLEU_VERSION}")
    }

    fn segment_stats(&self, hyp: &str, reference: &str) -> BleuStats {
        let hyp = tokenize_13a(pystr::rstrip(hyp));
        let reference = tokenize_13a(pystr::rstrip(reference));
        let hyp: Vec<&str> = pystr::split(&hyp).collect();
        let reference: Vec<&str> = pystr::split(&reference).collect();
        let ref_ngrams = ngram_counts(&reference);
        let mut stats = BleuStats {
            hyp_len: hyp.len() as u64,
            ref_len: reference.len() as u64,
            ..BleuStats::default()
        };
        for (ngram, count) in ngram_counts(&hyp) {
            let n = ngram.len() - 1;
            stats.total[n] += count;
            if let Some(&r) = ref_ngrams.get(ngram) {
                stats.correct[n] += count.min(r);
            }
        }
        stats
    }

    /// sacreBLEU's `BLEU.compute_bleu` with `smooth_method='exp'`.
    fn compute(&self, stats: &BleuStats) -> BleuScore {
        let (sys_len, ref_len) = (stats.hyp_len, stats.ref_len);
        let bp = if sys_len < ref_len {
            if sys_len > 0 {
                (1.0 - ref_len as f64 / sys_len as f64).exp()
            } else {
                0.0
            }
        } else {
            1.0
        };
        let mut score = BleuScore {
            score: 0.0,
            counts: stats.correct,
            totals: stats.total,
            precisions: [0.0; MAX_NGRAM_ORDER],
            bp,
            ratio: if ref_len > 0 {
                sys_len as f64 / ref_len as f64
            } else {
                0.0
            },
            hyp_len: sys_len,
            ref_len,
        };
        // No match at any order: 0 without taking logs (sacreBLEU #141).
        if stats.correct.iter().all(|&c| c == 0) {
            return score;
        }
        let mut smooth_mteval = 1.0;
        for n in 0..MAX_NGRAM_ORDER {
            let (correct, total) = (stats.correct[n], stats.total[n]);
            if total == 0 {
                break;
            }
            score.precisions[n] = if correct == 0 {
                smooth_mteval *= 2.0;
                100.0 / (smooth_mteval * total as f64)
            } else {
                100.0 * correct as f64 / total as f64
            };
        }
        // Python's `sum()` of a list: left to right from 0.
        let mut log_sum = 0.0;
        for &p in &score.precisions {
            log_sum += my_log(p);
        }
        score.score = bp * (log_sum / MAX_NGRAM_ORDER as f64).exp();
        score
    }
}

/// sacreBLEU's `my_log`: the log, floored at -9999999999 for 0.
fn my_log(x: f64) -> f64 {
    if x == 0.0 {
        -9_999_999_999.0
    } else {
        x.ln()
    }
}

/// Counts of all n-grams of orders 1..=4.
fn ngram_counts<'a>(tokens: &'a [&'a str]) -> HashMap<&'a [&'a str], u64> {
    let mut counts = HashMap::new();
    for n in 1..=MAX_NGRAM_ORDER {
        for ngram in tokens.windows(n) {
            *counts.entry(ngram).or_insert(0) += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_counts_and_smooths_missing_orders() {
        // hyp: "the the the cat" (4 tokens), ref: "the cat sat" (3 tokens).
        let s = Bleu.segment_stats("the the the cat", "the cat sat");
        assert_eq!(s.correct, [2, 1, 0, 0]);
        assert_eq!(s.total, [4, 3, 2, 1]);
        let b = Bleu.compute(&s);
        // exp smoothing: 100 / (2 * 2) and 100 / (4 * 1).
        assert_eq!(b.precisions, [50.0, 100.0 / 3.0, 25.0, 25.0]);
        assert_eq!(b.bp, 1.0);
        let expected = (0.25f64 * (50f64.ln() + (100.0f64 / 3.0).ln() + 2.0 * 25f64.ln())).exp();
        assert!((b.score - expected).abs() < 1e-12, "{}", b.score);
        assert_eq!(
            b.verbose().unwrap(),
            "50.0/33.3/25.0/25.0 (BP = 1.000 ratio = 1.333 hyp_len = 4 ref_len = 3)"
        );
    }

    #[test]
    fn identical_is_100_and_short_hypothesis_pays_brevity() {
        let b = Bleu
            .corpus_score(&["A man, a plan."], &["A man, a plan."])
            .unwrap();
        assert!((b.score - 100.0).abs() < 1e-9);
        let b = Bleu
            .corpus_score(&["a b c d"], &["a b c d e f g h"])
            .unwrap();
        assert!((b.bp - (1.0f64 - 2.0).exp()).abs() < 1e-15);
        assert!((b.score - 100.0 * (-1.0f64).exp()).abs() < 1e-9);
    }

    #[test]
    fn empty_and_case_sensitive() {
        let b = Bleu.corpus_score(&["", ""], &["x y", "z"]).unwrap();
        assert_eq!((b.score, b.bp, b.hyp_len, b.ref_len), (0.0, 0.0, 0, 3));
        let b = Bleu.corpus_score::<&str, &str>(&[], &[]).unwrap();
        assert_eq!((b.score, b.ratio), (0.0, 0.0));
        let b = Bleu.corpus_score(&["The Cat"], &["the cat"]).unwrap();
        assert_eq!(b.counts, [0, 0, 0, 0]);
        assert!(Bleu.corpus_score(&["a"], &["a", "b"]).is_err());
    }
}
