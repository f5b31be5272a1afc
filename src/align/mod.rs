//! Sentence alignment between two texts in different languages, over
//! sentence embeddings.
//!
//! Raw cosine is a poor score with e5: every pair lands in a narrow high band
//! (translations about 0.86-0.92, unrelated sentences 0.70-0.83), and some
//! sentences are close to everything ("hubs"). Scores here are ratio margins
//! (Artetxe & Schwenk, 2019): a pair's cosine divided by the mean cosine of
//! each side's k nearest neighbours on the other side. A margin above 1 means
//! the two sentences are closer to each other than to their usual neighbours.
//!
//! [`align`] is a dynamic program over those scores allowing 1-1, 2-1, 1-2,
//! 1-0 and 0-1 links (as in vecalign / Gale-Church): each link earns
//! `margin - threshold`, a skipped sentence earns nothing, so a pair is only
//! linked when it beats the threshold. [`Scorer`] computes the scores from an
//! [`Embedder`]; the DP itself only sees numbers and is tested on tiny inputs.

pub mod document;
pub mod translation;

use serde::Serialize;

use crate::error::Result;
use crate::kernels::vecmath::dot;
use crate::model::embedder::{EmbedKind, Embedder};
pub use crate::types::LinkKind;

/// Neighbours averaged in the margin denominator.
pub const MARGIN_K: usize = 4;

/// Settings of the aligner; `Default` is the documented default.
#[derive(Debug, Clone, Copy)]
pub struct AlignConfig {
    /// Margin a link must exceed to be worth making. Default 1.0: a linked
    /// pair is closer than each side's average nearest neighbours.
    pub threshold: f32,
    /// Extra margin a 2-1 or 1-2 link must earn over a 1-1 link plus a skip.
    /// Default 0.02.
    pub merge_penalty: f32,
}

impl Default for AlignConfig {
    fn default() -> Self {
        Self {
            threshold: 1.0,
            merge_penalty: 0.02,
        }
    }
}

/// One link of an alignment: indices into the two sentence lists (0, 1 or 2
/// of each), with the margin score and cosine of the linked units (both 0
/// for a 1-0 or 0-1 link).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub kind: LinkKind,
    pub a: Vec<usize>,
    pub b: Vec<usize>,
    pub score: f32,
    pub cosine: f32,
}

/// Scores the DP needs. `merged_a[i][j]` is for sentences `a[i], a[i+1]`
/// against `b[j]`; `merged_b[i][j]` for `a[i]` against `b[j], b[j+1]`.
/// Each entry is `(margin, cosine)`.
#[derive(Debug, Clone)]
pub struct Scores {
    pub single: Vec<Vec<(f32, f32)>>,
    pub merged_a: Vec<Vec<(f32, f32)>>,
    pub merged_b: Vec<Vec<(f32, f32)>>,
}

/// Cosine similarities of unit vectors: `a.len() x b.len()`.
pub fn cosine_matrix(a: &[Vec<f32>], b: &[Vec<f32>]) -> Vec<Vec<f32>> {
    a.iter()
        .map(|x| b.iter().map(|y| dot(x, y)).collect())
        .collect()
}

/// Mean of the `k` largest values (all of them when there are fewer).
pub fn top_k_mean(values: impl Iterator<Item = f32>, k: usize) -> f32 {
    let mut v: Vec<f32> = values.collect();
    if v.is_empty() || k == 0 {
        return 0.0;
    }
    v.sort_by(|p, q| q.total_cmp(p));
    let k = k.min(v.len());
    v[..k].iter().sum::<f32>() / k as f32
}

/// Ratio margin of every pair of a cosine matrix.
pub fn margin_matrix(sim: &[Vec<f32>], k: usize) -> Vec<Vec<f32>> {
    let rows: Vec<f32> = sim
        .iter()
        .map(|r| top_k_mean(r.iter().copied(), k))
        .collect();
    let n_cols = sim.first().map_or(0, Vec::len);
    let cols: Vec<f32> = (0..n_cols)
        .map(|j| top_k_mean(sim.iter().map(|r| r[j]), k))
        .collect();
    sim.iter()
        .zip(&rows)
        .map(|(r, rk)| {
            r.iter()
                .zip(&cols)
                .map(|(s, ck)| margin(*s, *rk, *ck))
                .collect()
        })
        .collect()
}

fn margin(cos: f32, knn_x: f32, knn_y: f32) -> f32 {
    let denom = (knn_x + knn_y) / 2.0;
    if denom > 0.0 {
        cos / denom
    } else {
        0.0
    }
}

/// Index of the best value of each row (`None` for an empty row).
pub fn best_per_row(m: &[Vec<f32>]) -> Vec<Option<usize>> {
    m.iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .max_by(|x, y| x.1.total_cmp(y.1))
                .map(|(j, _)| j)
        })
        .collect()
}

/// The best monotonic alignment of `n` sentences against `m` under `scores`.
pub fn align(n: usize, m: usize, scores: &Scores, cfg: &AlignConfig) -> Vec<Link> {
    // best[i][j]: best total for a[..i] and b[..j]; back[i][j]: the last link.
    let mut best = vec![vec![f32::NEG_INFINITY; m + 1]; n + 1];
    let mut back = vec![vec![LinkKind::OneZero; m + 1]; n + 1];
    best[0][0] = 0.0;
    let gain = |s: (f32, f32)| s.0 - cfg.threshold;
    for i in 0..=n {
        for j in 0..=m {
            if i == 0 && j == 0 {
                continue;
            }
            let mut cands: Vec<(f32, LinkKind)> = Vec::with_capacity(5);
            if i >= 1 && j >= 1 {
                let v = best[i - 1][j - 1] + gain(scores.single[i - 1][j - 1]);
                cands.push((v, LinkKind::OneOne));
            }
            if i >= 1 {
                cands.push((best[i - 1][j], LinkKind::OneZero));
            }
            if j >= 1 {
                cands.push((best[i][j - 1], LinkKind::ZeroOne));
            }
            if i >= 2 && j >= 1 {
                let v = best[i - 2][j - 1] + gain(scores.merged_a[i - 2][j - 1]);
                cands.push((v - cfg.merge_penalty, LinkKind::TwoOne));
            }
            if i >= 1 && j >= 2 {
                let v = best[i - 1][j - 2] + gain(scores.merged_b[i - 1][j - 2]);
                cands.push((v - cfg.merge_penalty, LinkKind::OneTwo));
            }
            // Ties keep the earlier (simpler) link kind.
            for (v, k) in cands {
                if v > best[i][j] {
                    best[i][j] = v;
                    back[i][j] = k;
                }
            }
        }
    }
    let mut links = Vec::new();
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        let kind = back[i][j];
        let (di, dj, s) = match kind {
            LinkKind::OneOne => (1, 1, scores.single[i - 1][j - 1]),
            LinkKind::TwoOne => (2, 1, scores.merged_a[i - 2][j - 1]),
            LinkKind::OneTwo => (1, 2, scores.merged_b[i - 1][j - 2]),
            LinkKind::OneZero => (1, 0, (0.0, 0.0)),
            LinkKind::ZeroOne => (0, 1, (0.0, 0.0)),
        };
        links.push(Link {
            kind,
            a: (i - di..i).collect(),
            b: (j - dj..j).collect(),
            score: s.0,
            cosine: s.1,
        });
        i -= di;
        j -= dj;
    }
    links.reverse();
    links
}

/// Computes [`Scores`] for two sentence lists with an embedder: singles and
/// adjacent pairs are embedded (as symmetric `query:` texts), and margins use
/// each unit's k nearest singles on the other side.
pub struct Scorer<'a> {
    pub embedder: &'a dyn Embedder,
}

impl Scorer<'_> {
    pub fn scores(&self, a: &[&str], b: &[&str]) -> Result<Scores> {
        let pairs = |s: &[&str]| -> Vec<String> {
            s.windows(2).map(|w| format!("{} {}", w[0], w[1])).collect()
        };
        let (pa, pb) = (pairs(a), pairs(b));
        let mut texts: Vec<&str> = Vec::with_capacity(a.len() + b.len() + pa.len() + pb.len());
        texts.extend_from_slice(a);
        texts.extend_from_slice(b);
        texts.extend(pa.iter().map(String::as_str));
        texts.extend(pb.iter().map(String::as_str));
        let mut vecs = self.embedder.embed(&texts, EmbedKind::Query)?;
        let vpb = vecs.split_off(a.len() + b.len() + pa.len());
        let vpa = vecs.split_off(a.len() + b.len());
        let vb = vecs.split_off(a.len());
        let va = vecs;
        Ok(scores_from_vectors(&va, &vb, &vpa, &vpb))
    }
}

/// [`Scores`] from embeddings of the singles and the adjacent pairs.
pub fn scores_from_vectors(
    va: &[Vec<f32>],
    vb: &[Vec<f32>],
    vpa: &[Vec<f32>],
    vpb: &[Vec<f32>],
) -> Scores {
    let k = MARGIN_K;
    let sim = cosine_matrix(va, vb);
    let knn_a: Vec<f32> = sim
        .iter()
        .map(|r| top_k_mean(r.iter().copied(), k))
        .collect();
    let knn_b: Vec<f32> = (0..vb.len())
        .map(|j| top_k_mean(sim.iter().map(|r| r[j]), k))
        .collect();
    let single = sim
        .iter()
        .zip(&knn_a)
        .map(|(r, ka)| {
            r.iter()
                .zip(&knn_b)
                .map(|(c, kb)| (margin(*c, *ka, *kb), *c))
                .collect()
        })
        .collect();
    let merged_a = vpa
        .iter()
        .map(|x| {
            let row: Vec<f32> = vb.iter().map(|y| dot(x, y)).collect();
            let kx = top_k_mean(row.iter().copied(), k);
            row.iter()
                .zip(&knn_b)
                .map(|(c, kb)| (margin(*c, kx, *kb), *c))
                .collect()
        })
        .collect();
    let merged_b = va
        .iter()
        .zip(&knn_a)
        .map(|(x, ka)| {
            vpb.iter()
                .map(|y| {
                    let c = dot(x, y);
                    let ky = top_k_mean(va.iter().map(|z| dot(z, y)), k);
                    (margin(c, *ka, ky), c)
                })
                .collect()
        })
        .collect();
    Scores {
        single,
        merged_a,
        merged_b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores where only the listed links are good (margin 1.5); all else 0.8.
    fn scores(n: usize, m: usize, good: &[(LinkKind, usize, usize)]) -> Scores {
        let fill = |r: usize, c: usize| vec![vec![(0.8f32, 0.8f32); c]; r];
        let mut s = Scores {
            single: fill(n, m),
            merged_a: fill(n.saturating_sub(1), m),
            merged_b: fill(n, m.saturating_sub(1)),
        };
        for &(k, i, j) in good {
            match k {
                LinkKind::OneOne => s.single[i][j] = (1.5, 0.9),
                LinkKind::TwoOne => s.merged_a[i][j] = (1.5, 0.9),
                LinkKind::OneTwo => s.merged_b[i][j] = (1.5, 0.9),
                _ => {}
            }
        }
        s
    }

    fn kinds(links: &[Link]) -> Vec<LinkKind> {
        links.iter().map(|l| l.kind).collect()
    }

    #[test]
    fn diagonal_gives_one_to_one_links() {
        let good: Vec<_> = (0..3).map(|i| (LinkKind::OneOne, i, i)).collect();
        let links = align(3, 3, &scores(3, 3, &good), &AlignConfig::default());
        assert_eq!(kinds(&links), vec![LinkKind::OneOne; 3]);
        assert_eq!(links[2].a, vec![2]);
        assert_eq!(links[2].b, vec![2]);
        assert_eq!(links[0].score, 1.5);
    }

    #[test]
    fn finds_merges_and_skips() {
        use LinkKind::*;
        // a0 = b0; a1+a2 = b1; a3 has no counterpart; a4 = b2+b3; b4 extra.
        let good = [(OneOne, 0, 0), (TwoOne, 1, 1), (OneTwo, 4, 2)];
        let links = align(5, 5, &scores(5, 5, &good), &AlignConfig::default());
        assert_eq!(
            kinds(&links),
            vec![OneOne, TwoOne, OneZero, OneTwo, ZeroOne]
        );
        assert_eq!(links[1].a, vec![1, 2]);
        assert_eq!(links[3].b, vec![2, 3]);
        assert_eq!(links[2].b, Vec::<usize>::new());
    }

    #[test]
    fn a_merge_must_beat_one_to_one_plus_skip() {
        use LinkKind::*;
        let mut s = scores(2, 1, &[(OneOne, 0, 0)]);
        // The merged unit is only slightly better than the single: not worth it.
        s.merged_a[0][0] = (1.51, 0.9);
        let links = align(2, 1, &s, &AlignConfig::default());
        assert_eq!(kinds(&links), vec![OneOne, OneZero]);
        s.merged_a[0][0] = (1.6, 0.9);
        let links = align(2, 1, &s, &AlignConfig::default());
        assert_eq!(kinds(&links), vec![TwoOne]);
    }

    #[test]
    fn nothing_good_means_nothing_linked() {
        let links = align(2, 3, &scores(2, 3, &[]), &AlignConfig::default());
        assert!(links.iter().all(|l| l.a.len() + l.b.len() == 1));
        assert_eq!(links.len(), 5);
        assert!(align(0, 0, &scores(0, 0, &[]), &AlignConfig::default()).is_empty());
    }

    #[test]
    fn margin_discounts_hubs() {
        // b0 is close to everything (a hub); b1 is close only to a1.
        let sim = vec![vec![0.95, 0.70], vec![0.90, 0.88], vec![0.93, 0.70]];
        // By cosine a1 would pick the hub b0 (0.90 > 0.88); by margin it picks b1.
        assert_eq!(best_per_row(&sim)[1], Some(0));
        let m = margin_matrix(&sim, 2);
        assert_eq!(best_per_row(&m)[1], Some(1));
        assert_eq!(best_per_row(&m)[0], Some(0));
    }

    #[test]
    fn top_k_mean_handles_short_inputs() {
        assert_eq!(top_k_mean([0.5f32, 1.0, 0.0].into_iter(), 2), 0.75);
        assert_eq!(top_k_mean([0.5f32].into_iter(), 4), 0.5);
        assert_eq!(top_k_mean(std::iter::empty(), 4), 0.0);
    }
}
