//! Scoring the 1:1 pairs of a translation. The pairs are known (one target
//! per source segment), so the question is only whether each target still
//! says what its source says. Every pair gets its cosine and ratio margin;
//! pairs that stand out against the document's own distribution are flagged:
//!
//! - `low-score`: the margin is below 1 (the target is no closer to its
//!   source than the source's usual nearest targets), or far below the
//!   document's median (more than [`OUTLIER_MADS`] scaled MADs);
//! - `likely-omission` / `likely-addition`: the target's length, relative to
//!   its source, is under half / over twice the document's median ratio
//!   (sources of at least [`MIN_LENGTH_CHARS`] characters only, since short
//!   headings vary too much).
//!
//! Embeddings catch a target about something else and gross length changes;
//! they do not catch a wrong name or number in an otherwise faithful
//! sentence (the translator's own checks flag some of those).

use serde::Serialize;

use super::{cosine_matrix, margin_matrix, MARGIN_K};
use crate::error::Result;
use crate::model::embedder::{EmbedKind, Embedder};
use crate::types::Flag;
use crate::util::num::round_to;

/// Robust z-score (in scaled MADs below the median) that marks an outlier.
pub const OUTLIER_MADS: f32 = 3.5;
/// Margin under which a pair is flagged whatever the distribution.
pub const LOW_MARGIN: f32 = 1.0;
/// Length ratio bounds, as factors of the document's median ratio.
pub const SHORT_FACTOR: f32 = 0.5;
pub const LONG_FACTOR: f32 = 2.0;
/// Sources shorter than this (non-space characters) get no length check.
pub const MIN_LENGTH_CHARS: usize = 40;
/// With fewer scored pairs than this, a document has no distribution to
/// compare against and only the absolute margin floor applies.
const MIN_PAIRS_FOR_STATS: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairScore {
    /// Ratio margin of the pair within the document (3 decimals).
    pub score: f64,
    pub cosine: f64,
    pub flags: Vec<Flag>,
}

/// Scores `pairs` (source, target). Entries with `false` in `scored` (bylines
/// copied verbatim) get `None` and do not enter the statistics.
pub fn score_pairs(
    embedder: &dyn Embedder,
    pairs: &[(&str, &str)],
    scored: &[bool],
) -> Result<Vec<Option<PairScore>>> {
    let idx: Vec<usize> = (0..pairs.len()).filter(|&i| scored[i]).collect();
    if idx.is_empty() {
        return Ok(vec![None; pairs.len()]);
    }
    let src: Vec<&str> = idx.iter().map(|&i| pairs[i].0).collect();
    let tgt: Vec<&str> = idx.iter().map(|&i| pairs[i].1).collect();
    let vs = embedder.embed(&src, EmbedKind::Query)?;
    let vt = embedder.embed(&tgt, EmbedKind::Query)?;
    let sim = cosine_matrix(&vs, &vt);
    let margins = margin_matrix(&sim, MARGIN_K);
    let scores: Vec<(f32, f32)> = (0..idx.len()).map(|k| (margins[k][k], sim[k][k])).collect();
    let lengths: Vec<(usize, usize)> = idx
        .iter()
        .map(|&i| (letters(pairs[i].0), letters(pairs[i].1)))
        .collect();
    let flags = flag_pairs(&scores, &lengths);
    let mut out = vec![None; pairs.len()];
    for ((k, &i), flags) in idx.iter().enumerate().zip(flags) {
        out[i] = Some(PairScore {
            score: round_to(scores[k].0 as f64, 3),
            cosine: round_to(scores[k].1 as f64, 3),
            flags,
        });
    }
    Ok(out)
}

/// Non-whitespace characters.
fn letters(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The flags of each pair from `(margin, cosine)` scores and `(source,
/// target)` lengths. Pure, so the rules are tested without a model.
pub fn flag_pairs(scores: &[(f32, f32)], lengths: &[(usize, usize)]) -> Vec<Vec<Flag>> {
    let n = scores.len();
    let with_stats = n >= MIN_PAIRS_FOR_STATS;
    let mut m: Vec<f32> = scores.iter().map(|s| s.0).collect();
    let med = median(&mut m);
    let mut dev: Vec<f32> = scores.iter().map(|s| (s.0 - med).abs()).collect();
    // 1.4826 scales the MAD to a standard deviation for normal data; the
    // floor keeps a very uniform document from flagging tiny dips.
    let mad = (median(&mut dev) * 1.4826).max(0.02);
    let mut ratios: Vec<f32> = lengths
        .iter()
        .filter(|(s, t)| *s >= MIN_LENGTH_CHARS && *t > 0)
        .map(|(s, t)| *t as f32 / *s as f32)
        .collect();
    let med_ratio = median(&mut ratios);
    let length_stats = ratios.len() >= MIN_PAIRS_FOR_STATS;
    scores
        .iter()
        .zip(lengths)
        .map(|((margin, _), (s, t))| {
            let mut f = Vec::new();
            let outlier = with_stats && (med - margin) / mad > OUTLIER_MADS;
            if *margin < LOW_MARGIN || outlier {
                f.push(Flag::LowScore);
            }
            if length_stats && *s >= MIN_LENGTH_CHARS {
                let r = *t as f32 / *s as f32;
                if r < med_ratio * SHORT_FACTOR {
                    f.push(Flag::LikelyOmission);
                } else if r > med_ratio * LONG_FACTOR {
                    f.push(Flag::LikelyAddition);
                }
            }
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Doc = (Vec<(f32, f32)>, Vec<(usize, usize)>);

    fn typical(n: usize) -> Doc {
        let scores = (0..n)
            .map(|i| (1.10 + 0.01 * (i % 3) as f32, 0.88))
            .collect();
        let lengths = (0..n).map(|_| (100, 95)).collect();
        (scores, lengths)
    }

    #[test]
    fn a_typical_document_has_no_flags() {
        let (s, l) = typical(10);
        assert!(flag_pairs(&s, &l).iter().all(Vec::is_empty));
    }

    #[test]
    fn outliers_and_sub_one_margins_are_low_score() {
        let (mut s, l) = typical(10);
        s[3] = (1.02, 0.84); // far below a median of 1.11
        s[7] = (0.97, 0.80); // below 1
        let f = flag_pairs(&s, &l);
        assert_eq!(f[3], vec!["low-score"]);
        assert_eq!(f[7], vec!["low-score"]);
        assert!(f[0].is_empty());
    }

    #[test]
    fn length_ratio_marks_omissions_and_additions() {
        let (s, mut l) = typical(10);
        l[1] = (100, 30); // a third of the usual length
        l[2] = (100, 250);
        l[4] = (20, 2); // too short a source to judge
        let f = flag_pairs(&s, &l);
        assert_eq!(f[1], vec!["likely-omission"]);
        assert_eq!(f[2], vec!["likely-addition"]);
        assert!(f[4].is_empty());
    }

    #[test]
    fn short_documents_use_only_the_absolute_floor() {
        let s = vec![(1.3, 0.9), (1.0001, 0.85), (0.9, 0.8)];
        let l = vec![(100, 10); 3];
        let f = flag_pairs(&s, &l);
        assert!(f[0].is_empty() && f[1].is_empty());
        assert_eq!(f[2], vec!["low-score"]);
    }
}
