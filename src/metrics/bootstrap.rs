//! Paired bootstrap resampling (Koehn 2004) as sacreBLEU's `paired_bs`
//! (`significance.py`) runs it: the same resampled segment indices for both
//! systems, each resample scored from summed segment statistics; the test
//! statistic is the absolute score difference, and the p-value counts the
//! resamples whose mean-centred difference exceeds the actual one:
//! `(count + 1) / (n_samples + 1)`. Each system also gets the mean of its
//! resampled scores and half the width of their central 95% interval.
//!
//! The procedure is sacreBLEU's, the random draws are not: sacreBLEU draws
//! indices with NumPy's `default_rng` (PCG64), which a small self-contained
//! SplitMix64 replaces here. With the same seed dich is deterministic, but its p-values
//! and intervals differ from sacreBLEU's by resampling noise. (sacreBLEU also
//! sums statistics in float32; the counts here are exact integers.)

use crate::metrics::{EvalError, Metric, Score, Stats};

/// sacreBLEU's default number of resamples for the paired bootstrap test.
pub const DEFAULT_SAMPLES: usize = 1000;
/// sacreBLEU's default seed (`SACREBLEU_SEED`).
pub const DEFAULT_SEED: u64 = 12345;

/// A score with its bootstrap mean and 95% confidence half-width.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub score: f64,
    pub mean: f64,
    pub ci: f64,
}

/// The paired test of `system` against `baseline`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PairedResult {
    pub baseline: Estimate,
    pub system: Estimate,
    pub p_value: f64,
    pub n_samples: usize,
    pub seed: u64,
}

/// Tests whether `system` differs from `baseline` given both systems'
/// per-segment statistics on the same test set. `n_samples` of 0 is taken
/// as 1.
pub fn paired_bootstrap<M: Metric>(
    metric: &M,
    baseline: &[M::Stats],
    system: &[M::Stats],
    n_samples: usize,
    seed: u64,
) -> Result<PairedResult, EvalError> {
    if baseline.len() != system.len() {
        return Err(EvalError::LengthMismatch {
            hyps: system.len(),
            refs: baseline.len(),
        });
    }
    let n_samples = n_samples.max(1);
    let score = |stats: &M::Stats| metric.compute(stats).value();
    let bl_score = score(&crate::metrics::sum(baseline));
    let sys_score = score(&crate::metrics::sum(system));

    let mut rng = SplitMix64::new(seed);
    let n = baseline.len();
    let mut bl_scores = Vec::with_capacity(n_samples);
    let mut sys_scores = Vec::with_capacity(n_samples);
    for _ in 0..n_samples {
        let (mut bl, mut sys) = (M::Stats::default(), M::Stats::default());
        for _ in 0..n {
            let i = rng.below(n as u64) as usize;
            bl.add(&baseline[i]);
            sys.add(&system[i]);
        }
        bl_scores.push(score(&bl));
        sys_scores.push(score(&sys));
    }

    // Test statistic: |system - baseline|, with the resampled differences
    // centred on their mean (the null hypothesis).
    let diff = (bl_score - sys_score).abs();
    let sample_diffs: Vec<f64> = sys_scores
        .iter()
        .zip(&bl_scores)
        .map(|(s, b)| (s - b).abs())
        .collect();
    let mean_diff = mean(&sample_diffs);
    let count = sample_diffs
        .iter()
        .filter(|&&d| d - mean_diff > diff)
        .count();
    let p_value = (count + 1) as f64 / (n_samples + 1) as f64;

    Ok(PairedResult {
        baseline: estimate_ci(bl_score, bl_scores),
        system: estimate_ci(sys_score, sys_scores),
        p_value,
        n_samples,
        seed,
    })
}

/// sacreBLEU's `estimate_ci`: the mean of the resampled scores and half the
/// distance between the 2.5% and 97.5% order statistics.
fn estimate_ci(score: f64, mut scores: Vec<f64>) -> Estimate {
    scores.sort_by(f64::total_cmp);
    let n = scores.len();
    let lower_idx = n / 40;
    let upper_idx = n.saturating_sub(lower_idx + 1);
    let ci = match (scores.get(lower_idx), scores.get(upper_idx)) {
        (Some(lo), Some(hi)) => 0.5 * (hi - lo),
        _ => 0.0,
    };
    Estimate {
        score,
        mean: mean(&scores),
        ci,
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, seedable, and good enough
/// for drawing resample indices.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` without modulo bias (Lemire's multiply-and-reject);
    /// 0 for `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::bleu::Bleu;
    use crate::metrics::chrf::Chrf;

    const REFS: [&str; 6] = [
        "The cat sat on the mat.",
        "It was raining in Hanoi this morning.",
        "The minister spoke at the conference.",
        "Prices rose by 3.5% last year.",
        "He said the talks would continue.",
        "Many companies came to Vietnam.",
    ];
    const GOOD: [&str; 6] = [
        "The cat sat on the mat.",
        "It rained in Hanoi this morning.",
        "The minister spoke at the conference.",
        "Prices rose 3.5% last year.",
        "He said talks would continue.",
        "Many companies came to Vietnam.",
    ];
    const BAD: [&str; 6] = [
        "A cat is on a mat.",
        "Rain in Hanoi.",
        "Minister talks conference.",
        "Price up.",
        "He speaks.",
        "Companies Vietnam.",
    ];

    #[test]
    fn splitmix_matches_reference_values_and_is_unbiased_in_range() {
        // First outputs for seed 1234567 from the reference implementation.
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
        let mut r = SplitMix64::new(7);
        let mut seen = [0u32; 3];
        for _ in 0..3000 {
            seen[r.below(3) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 900), "{seen:?}");
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn same_seed_same_result_and_clear_difference_is_significant() {
        let m = Chrf::CHRF;
        let good = m.corpus_stats(&GOOD, &REFS).unwrap();
        let bad = m.corpus_stats(&BAD, &REFS).unwrap();
        let a = paired_bootstrap(&m, &bad, &good, 1000, 12345).unwrap();
        let b = paired_bootstrap(&m, &bad, &good, 1000, 12345).unwrap();
        assert_eq!(a, b);
        let c = paired_bootstrap(&m, &bad, &good, 1000, 54321).unwrap();
        assert_ne!(a.system.mean, c.system.mean);
        assert!(a.system.score > a.baseline.score);
        assert!(a.p_value < 0.05, "{}", a.p_value);
        // The p-value is (count + 1) / 1001.
        let count = a.p_value * 1001.0;
        assert!((count - count.round()).abs() < 1e-9);
        assert!(a.system.ci > 0.0);
        assert!((a.system.mean - a.system.score).abs() < 3.0 * a.system.ci + 1.0);
    }

    #[test]
    fn a_system_against_itself_gets_the_smallest_count() {
        let stats = Bleu.corpus_stats(&GOOD, &REFS).unwrap();
        let r = paired_bootstrap(&Bleu, &stats, &stats, 200, 1).unwrap();
        // Every resampled difference is 0 and none exceeds the actual 0, so
        // the count is 0 and p = 1 / 201, as sacreBLEU computes it.
        assert_eq!(r.p_value, 1.0 / 201.0);
        assert_eq!(r.baseline, r.system);
        let empty = paired_bootstrap(&Bleu, &[], &[], 10, 1).unwrap();
        assert_eq!(empty.system.score, 0.0);
        assert!(paired_bootstrap(&Bleu, &stats, &stats[..2], 10, 1).is_err());
    }
}
