//! Evaluation of translations: `eval translate` runs the pipeline over
//! `source<TAB>reference` pairs ([`pairs`]) and reports BLEU and chrF with
//! signatures, the paired bootstrap against a baseline and the worst
//! sentences ([`report`]). The metrics themselves live in
//! [`crate::metrics`] and are re-exported here under their old paths.

pub mod pairs;
pub mod report;

pub use crate::metrics::{
    bleu, bootstrap, chrf, corpus, pystr, rouge, sum, ter, tok13a, EvalError, Metric, Score, Stats,
    SACREBLEU_VERSION,
};
