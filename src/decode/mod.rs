//! Decoding: turning a model's next-token logits into token sequences, for
//! every model kind and every caller (the LLM translator, the Marian
//! translator, the abstractive summarizer, the benchmark).
//!
//! One options struct ([`DecodingOptions`]: greedy, sampling or beam
//! search, n-best lists, length penalty, repetition penalty, no-repeat
//! n-grams, minimum and maximum length, stop tokens, loop guard) drives one
//! set of logits processors ([`processors`]) and two searches ([`search`]:
//! greedy/sampling and beam), written once over a small stepping interface.
//! Two adapters put the model traits behind it:
//!
//! - [`causal`]: a `CausalLm` with its external key/value cache; the first
//!   step feeds the prompt after what the cache holds.
//! - [`seq2seq`]: a `Seq2Seq` model; sources are encoded once and every
//!   hypothesis starts from the decoder start token.
//!
//! Beam search ranks candidates by their summed log-probability. A stop
//! candidate among the best `beam` of a step ends a hypothesis, scored
//! `logprob / length^length_penalty`. A source is done when its best
//! candidate of a step ends, or when `beam` hypotheses have ended, or at
//! the length limit (running hypotheses then end unfinished). With
//! `beam = 1` this is exactly greedy search (tested).

pub mod causal;
pub mod processors;
pub mod search;
pub mod select;
pub mod seq2seq;

use serde::Serialize;

pub use processors::LoopGuard;
pub use search::{Hooks, StopWhen};

use crate::model::ModelError;

pub type Result<T, E = DecodeError> = std::result::Result<T, E>;

/// Sampling instead of taking the most likely token (with `beam == 1`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sampling {
    /// Logits are divided by this; 0 or less means greedy.
    pub temperature: f64,
    /// Nucleus sampling: only the most likely tokens whose probabilities
    /// add up to `top_p`.
    pub top_p: Option<f64>,
    /// The generator is seeded with this at the start of every search, so
    /// the same input always gives the same output.
    pub seed: u64,
    /// Epsilon sampling (Hewitt et al. 2022, as Freitag et al. 2023 use for
    /// MBR candidates): tokens whose probability is below this are never
    /// drawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f32>,
}

/// How to decode; `Default` is greedy with a 256-token limit and nothing
/// else on. Validate with [`DecodingOptions::validate`] (every search does).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecodingOptions {
    /// Beam size; 1 is greedy search (or sampling, with `sampling`).
    pub beam: usize,
    /// Hypotheses returned per source, best first (at most `beam`).
    pub n_best: usize,
    /// Sample instead of taking the most likely token (beam 1 only).
    pub sampling: Option<Sampling>,
    /// Exponent of the length normalization of scores (0 = raw
    /// log-probability).
    pub length_penalty: f32,
    /// Most tokens generated per source, the stop token included.
    pub max_length: usize,
    /// Stop tokens are not allowed before this many tokens.
    pub min_length: usize,
    /// Ban any n-gram of this size from appearing twice (0 = off).
    pub no_repeat_ngram: usize,
    /// CTRL-style penalty on tokens already generated: positive logits are
    /// divided by it, negative ones multiplied (1 = off).
    pub repetition_penalty: f32,
    /// Only the last this many generated tokens are penalized (`None`: all).
    pub repetition_window: Option<usize>,
    /// Tokens that end a hypothesis besides the model's own end token.
    pub stop_tokens: Vec<u32>,
    /// Cut a hypothesis whose tail is one unit repeated (`None`: off).
    pub loop_guard: Option<LoopGuard>,
    /// Keep each hypothesis' log-probability and score. Beam search always
    /// does; greedy search and sampling skip a log-softmax over the
    /// vocabulary per token when this is off.
    pub scores: bool,
}

impl Default for DecodingOptions {
    fn default() -> Self {
        Self {
            beam: 1,
            n_best: 1,
            sampling: None,
            length_penalty: 1.0,
            max_length: 256,
            min_length: 0,
            no_repeat_ngram: 0,
            repetition_penalty: 1.0,
            repetition_window: None,
            stop_tokens: Vec::new(),
            loop_guard: None,
            scores: true,
        }
    }
}

/// An option out of range, or options that do not fit together. The
/// messages name the options as fields; the command line maps them to its
/// flags.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptionError {
    #[error("the beam size must be at least 1")]
    BeamZero,
    #[error("n-best must be between 1 and the beam size ({beam}), got {n_best}")]
    NBest { n_best: usize, beam: usize },
    #[error("the maximum length must be at least 1")]
    MaxLengthZero,
    #[error("the minimum length ({min}) must not exceed the maximum length ({max})")]
    MinAboveMax { min: usize, max: usize },
    #[error("the repetition penalty must be a positive number, got {0}")]
    RepetitionPenalty(f32),
    #[error("the length penalty must be a finite number")]
    LengthPenalty,
    #[error("sampling needs beam size 1, got {0}")]
    SamplingWithBeam(usize),
}

/// Decoding failed: bad options, or the model failed under it.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Options(#[from] OptionError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl From<candle_core::Error> for DecodeError {
    fn from(e: candle_core::Error) -> Self {
        DecodeError::Model(e.into())
    }
}

impl DecodingOptions {
    /// Checks ranges and combinations.
    pub fn validate(&self) -> std::result::Result<(), OptionError> {
        if self.beam == 0 {
            return Err(OptionError::BeamZero);
        }
        if self.n_best == 0 || self.n_best > self.beam {
            return Err(OptionError::NBest {
                n_best: self.n_best,
                beam: self.beam,
            });
        }
        if self.max_length == 0 {
            return Err(OptionError::MaxLengthZero);
        }
        if self.min_length > self.max_length {
            return Err(OptionError::MinAboveMax {
                min: self.min_length,
                max: self.max_length,
            });
        }
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return Err(OptionError::RepetitionPenalty(self.repetition_penalty));
        }
        if !self.length_penalty.is_finite() {
            return Err(OptionError::LengthPenalty);
        }
        if self.sampling.is_some() && self.beam > 1 {
            return Err(OptionError::SamplingWithBeam(self.beam));
        }
        Ok(())
    }
}

/// Why a hypothesis ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The model produced a stop token (end of sentence, end of turn).
    End,
    /// The length limit was reached.
    MaxLength,
    /// The loop guard cut a repetition loop.
    Loop,
}

/// One decoded hypothesis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hypothesis {
    /// Generated tokens, without the stop token.
    pub tokens: Vec<u32>,
    /// Summed log-probability of the tokens, the stop token included (0
    /// when scores are off).
    pub logprob: f32,
    /// `logprob / length^length_penalty`; n-best lists are ranked by it.
    pub score: f32,
    pub stop: StopReason,
}

impl Hypothesis {
    /// Ended with a stop token (not cut by the length limit or the loop guard).
    pub fn finished(&self) -> bool {
        self.stop == StopReason::End
    }
}

/// Where the time of a search went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SearchStats {
    /// Tokens fed in the first step (prompts, or start tokens).
    pub prompt_tokens: usize,
    /// The first step: the prompts (or the encoder and the first token).
    pub prompt_s: f64,
    /// Every later step.
    pub decode_s: f64,
    /// Forward passes run.
    pub steps: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated() {
        let ok = DecodingOptions::default();
        assert!(ok.validate().is_ok());
        let bad = |o: DecodingOptions| o.validate().unwrap_err();
        assert_eq!(
            bad(DecodingOptions {
                beam: 0,
                ..ok.clone()
            }),
            OptionError::BeamZero
        );
        assert_eq!(
            bad(DecodingOptions {
                n_best: 2,
                ..ok.clone()
            }),
            OptionError::NBest { n_best: 2, beam: 1 }
        );
        assert_eq!(
            bad(DecodingOptions {
                min_length: 300,
                ..ok.clone()
            }),
            OptionError::MinAboveMax { min: 300, max: 256 }
        );
        assert_eq!(
            bad(DecodingOptions {
                repetition_penalty: 0.0,
                ..ok.clone()
            }),
            OptionError::RepetitionPenalty(0.0)
        );
        assert_eq!(
            bad(DecodingOptions {
                beam: 2,
                sampling: Some(Sampling {
                    temperature: 1.0,
                    top_p: None,
                    seed: 1,
                    epsilon: None,
                }),
                ..ok.clone()
            }),
            OptionError::SamplingWithBeam(2)
        );
    }
}
