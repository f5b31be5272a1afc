//! Choosing one translation among several candidates of a sentence.
//!
//! Candidates that break the hard checks (a structural problem such as an
//! empty or untranslated reply, or a fidelity finding: a name missed or
//! added, a number missed, added or requalified) are set aside while any
//! candidate passes; among the rest, the choice is by
//!
//! - `mbr`: minimum Bayes risk with sentence chrF as utility: the
//!   candidate most similar, on average, to all the others (the model's
//!   consensus; Freitag et al. 2022);
//! - `qe`: a reference-free estimate, the cosine of the e5 embeddings of
//!   source and candidate;
//! - `mbr+qe`: the sum of both, each scaled to 0..1 over the candidates.
//!
//! Ties go to the earliest candidate (the greedy one comes first), so the
//! choice is deterministic.

use std::sync::Arc;

use crate::metrics::chrf::{sentence_chrf, Chrf};
use crate::model::embedder::{EmbedKind, Embedder};
use crate::model::Result as ModelResult;

/// How to choose among candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    Mbr,
    Qe,
    MbrQe,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Mbr => "mbr",
            Method::Qe => "qe",
            Method::MbrQe => "mbr+qe",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Some(match s {
            "mbr" => Method::Mbr,
            "qe" => Method::Qe,
            "mbr+qe" => Method::MbrQe,
            _ => return None,
        })
    }

    pub fn needs_qe(self) -> bool {
        matches!(self, Method::Qe | Method::MbrQe)
    }
}

/// The reference-free quality estimator: an embedder shared by the
/// translators of a run.
#[derive(Clone)]
pub struct Qe(pub Arc<dyn Embedder>);

impl std::fmt::Debug for Qe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Qe(embedder)")
    }
}

impl Qe {
    /// Cosine of source and each candidate (e5 `query:` embeddings, unit
    /// length).
    pub fn scores(&self, source: &str, candidates: &[&str]) -> ModelResult<Vec<f64>> {
        let mut texts = vec![source];
        texts.extend_from_slice(candidates);
        let vecs = self.0.embed(&texts, EmbedKind::Query)?;
        let (src, rest) = vecs.split_first().expect("the source was embedded");
        Ok(rest
            .iter()
            .map(|v| v.iter().zip(src).map(|(a, b)| (a * b) as f64).sum())
            .collect())
    }
}

/// Each candidate's MBR utility: its mean sentence chrF against every other
/// candidate (as pseudo-references), on sacreBLEU's 0-100 scale.
pub fn mbr_scores(candidates: &[&str]) -> Vec<f64> {
    let n = candidates.len();
    if n < 2 {
        return vec![0.0; n];
    }
    let metric = Chrf::CHRF;
    (0..n)
        .map(|i| {
            let total: f64 = (0..n)
                .filter(|&j| j != i)
                .map(|j| sentence_chrf(&metric, candidates[i], candidates[j]))
                .sum();
            total / (n - 1) as f64
        })
        .collect()
}

/// The values scaled to 0..1 (all 0 when they are all equal).
fn unit_scale(v: &[f64]) -> Vec<f64> {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if hi - lo <= 1e-12 {
        return vec![0.0; v.len()];
    }
    v.iter().map(|x| (x - lo) / (hi - lo)).collect()
}

/// The selection of one sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Index of the chosen candidate.
    pub index: usize,
    /// Each candidate's selection score (higher is better; eligible or not).
    pub scores: Vec<f64>,
}

/// Chooses among `candidates`, whose hard-check weights are `weights` (0 =
/// passes everything): the lowest weight first, then the best score of
/// `method`; `qe` holds the QE scores when the method needs them.
pub fn choose(candidates: &[&str], weights: &[u32], method: Method, qe: Option<&[f64]>) -> Choice {
    let mbr = match method {
        Method::Qe => vec![0.0; candidates.len()],
        _ => mbr_scores(candidates),
    };
    let scores: Vec<f64> = match (method, qe) {
        (Method::Mbr, _) | (_, None) => mbr,
        (Method::Qe, Some(q)) => q.to_vec(),
        (Method::MbrQe, Some(q)) => unit_scale(&mbr)
            .iter()
            .zip(unit_scale(q))
            .map(|(a, b)| a + b)
            .collect(),
    };
    let min_weight = weights.iter().copied().min().unwrap_or(0);
    let mut index = 0;
    let mut best = f64::NEG_INFINITY;
    for (i, &s) in scores.iter().enumerate() {
        if weights.get(i).copied().unwrap_or(0) != min_weight {
            continue;
        }
        if s > best {
            best = s;
            index = i;
        }
    }
    Choice { index, scores }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbr_picks_the_consensus_and_hard_checks_come_first() {
        let c = [
            "The British Ambassador stressed the convention.",
            "The US Ambassador stressed the convention.",
            "The British Ambassador emphasized the convention.",
            "The British Ambassador stressed the treaty.",
        ];
        let choice = choose(&c, &[0, 0, 0, 0], Method::Mbr, None);
        assert_eq!(choice.index, 0, "{:?}", choice.scores);
        // The consensus fails a hard check: the next best that passes wins.
        let choice = choose(&c, &[1, 0, 0, 0], Method::Mbr, None);
        assert_ne!(choice.index, 0);
        assert_eq!(choice.scores.len(), 4);
    }

    #[test]
    fn ties_go_to_the_first_and_qe_can_decide() {
        let c = ["a b c", "a b c"];
        assert_eq!(choose(&c, &[0, 0], Method::Mbr, None).index, 0);
        let c = ["x y z", "x y w", "p q r"];
        assert_eq!(
            choose(&c, &[0, 0, 0], Method::Qe, Some(&[0.8, 0.7, 0.9])).index,
            2
        );
        let both = choose(&c, &[0, 0, 0], Method::MbrQe, Some(&[0.8, 0.7, 0.9]));
        assert_eq!(both.scores.len(), 3);
        assert_eq!(Method::parse("mbr+qe"), Some(Method::MbrQe));
        assert_eq!(Method::parse("x"), None);
    }
}
