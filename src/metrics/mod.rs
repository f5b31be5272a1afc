//! Translation and summary metrics computed by dich itself (no Python
//! needed), below every task: the translator's candidate selection uses
//! sentence chrF, `eval` reports corpus scores.
//!
//! `rouge` scores summaries. `bleu`, `chrf` and `ter` score translations:
//! dich reimplements sacreBLEU's corpus metrics with sacreBLEU's default
//! settings (version [`SACREBLEU_VERSION`]), so the numbers and signatures
//! are comparable with published sacreBLEU scores; `bootstrap` is its paired
//! bootstrap test and `corpus` reads line-aligned files as its command line
//! does. Every metric works the sacreBLEU way: per-segment sufficient
//! statistics ([`Stats`]), summed over the corpus, then one score.

pub mod bleu;
pub mod bootstrap;
pub mod chrf;
pub mod corpus;
pub mod pystr;
pub mod rouge;
pub mod ter;
pub mod tok13a;

pub use corpus::EvalError;

/// The sacreBLEU release whose behaviour `bleu`, `chrf`, `ter` and
/// `tok13a` reproduce (and whose tests pin them); it ends every signature.
pub const SACREBLEU_VERSION: &str = "2.4.3";

/// Sufficient statistics of one segment; a corpus's are the sum of its
/// segments'.
pub trait Stats: Clone + Default {
    fn add(&mut self, other: &Self);
}

/// A corpus-level score: the number on sacreBLEU's 0-100 scale, and the
/// extra details sacreBLEU prints after it.
pub trait Score: serde::Serialize {
    fn value(&self) -> f64;
    /// Text printed after the score (BLEU's precisions and brevity penalty).
    fn verbose(&self) -> Option<String> {
        None
    }
}

/// A sacreBLEU metric with its default settings.
pub trait Metric {
    type Stats: Stats;
    type Score: Score;

    /// sacreBLEU's name for the score: `BLEU`, `chrF2`, `chrF2++`, `TER`.
    fn name(&self) -> &'static str;

    /// sacreBLEU's signature for these settings and one reference, e.g.
    /// `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3`.
    fn signature(&self) -> String;

    /// Statistics of one hypothesis against its reference, with the metric's
    /// own preprocessing (as sacreBLEU's `corpus_score` applies it).
    fn segment_stats(&self, hyp: &str, reference: &str) -> Self::Stats;

    /// The score of (summed) statistics.
    fn compute(&self, stats: &Self::Stats) -> Self::Score;

    /// Per-segment statistics of line-aligned hypotheses and references.
    fn corpus_stats<H: AsRef<str>, R: AsRef<str>>(
        &self,
        hyps: &[H],
        refs: &[R],
    ) -> Result<Vec<Self::Stats>, EvalError> {
        if hyps.len() != refs.len() {
            return Err(EvalError::LengthMismatch {
                hyps: hyps.len(),
                refs: refs.len(),
            });
        }
        Ok(hyps
            .iter()
            .zip(refs)
            .map(|(h, r)| self.segment_stats(h.as_ref(), r.as_ref()))
            .collect())
    }

    /// sacreBLEU's `corpus_score` with one reference per segment.
    fn corpus_score<H: AsRef<str>, R: AsRef<str>>(
        &self,
        hyps: &[H],
        refs: &[R],
    ) -> Result<Self::Score, EvalError> {
        Ok(self.compute(&sum(&self.corpus_stats(hyps, refs)?)))
    }
}

/// The sum of segment statistics (the corpus's statistics).
pub fn sum<S: Stats>(stats: &[S]) -> S {
    let mut total = S::default();
    for s in stats {
        total.add(s);
    }
    total
}
