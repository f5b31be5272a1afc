//! Translation: one interface for every kind of model, and one
//! `translate_document` over it.
//!
//! - [`Translator`]: a translator for one language pair; `translate` maps
//!   the segments of a text to exactly one target each, with flags and
//!   token counts. [`llm::LlmTranslator`] prompts a chat model sentence by
//!   sentence in context; [`marian::MarianTranslator`] decodes an
//!   encoder-decoder model in batches.
//! - [`Engine`]: a loaded translation model of either kind; it says which
//!   pairs it translates and makes a translator per pair. It is the one
//!   place that knows the model kinds.
//! - [`document`]: `translate_document` (input text -> segments ->
//!   translations -> a `TranslationDocument`).
//! - [`check`], [`glossary`], [`examples`]: reply checks, fixed renderings
//!   and a translation memory, used by the chat-model translator.
//! - [`lexicon`], [`fidelity`]: names and terms from registry data, and the
//!   checks that hold names and numbers to the source.
//! - [`select`]: choosing among several candidates of a sentence (MBR with
//!   chrF, e5 quality estimation), the hard checks first.

pub mod check;
pub mod document;
pub mod engine;
pub mod examples;
pub mod fidelity;
pub mod glossary;
pub mod lexicon;
pub mod llm;
pub mod marian;
pub mod select;

use std::sync::Arc;

use serde::Serialize;

pub use document::{translate_document, translate_with, ProgressEvent};
pub use engine::{Engine, LoadOptions};

use crate::error::Result;
use crate::types::{Alternative, Flag, Lang, LangPair, Segment};

/// What a user chose about decoding. A field left `None` takes the
/// translator's own default (chat models: greedy, a length cap from the
/// source length; encoder-decoder models: greedy, at most 256 tokens); a
/// setting the model kind cannot use is an error, not ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodingChoices {
    pub beam: Option<usize>,
    pub n_best: Option<usize>,
    pub length_penalty: Option<f32>,
    pub max_length: Option<usize>,
    pub no_repeat_ngram: Option<usize>,
    pub repetition_penalty: Option<f32>,
    /// Sample at this temperature instead of greedy decoding (chat models).
    pub temperature: Option<f64>,
    /// Nucleus sampling threshold, with `temperature`.
    pub top_p: Option<f64>,
    /// Seed of the sampler.
    pub seed: u64,
}

/// The default seed of sampling.
pub const DEFAULT_SEED: u64 = 299_792_458;

/// How a chat model is prompted; `Default` is the documented default.
#[derive(Debug, Clone)]
pub struct PromptOptions {
    /// Keep earlier sentences of the paragraph (and the previous paragraph's
    /// last sentence) in the conversation. Default: on.
    pub context: bool,
    /// Rebuild the conversation from the prefix when it grows past this many
    /// tokens. Default: 1536.
    pub context_budget: usize,
    /// Cap on generated tokens per sentence: `base + factor * source tokens`.
    /// Default: 32 + 2.5x.
    pub max_tokens_base: usize,
    pub max_tokens_factor: f32,
    /// Penalty used when a reply loops. Default: 1.3 over the last 64 tokens.
    pub loop_penalty: (f32, usize),
    /// Show the built-in glossary's entries to the model. Default: on.
    pub builtin_glossary: bool,
    /// A user glossary for one direction, over the built-in one.
    pub user_glossary: Option<Arc<(Lang, Lang, glossary::Glossary)>>,
    /// A translation memory: each sentence is preceded by its most similar
    /// pairs as worked examples.
    pub memory: Option<Arc<examples::ExamplePool>>,
    /// Memory pairs shown per sentence. Default: 4.
    pub memory_examples: usize,
    /// Never show a memory pair whose source is the sentence itself (for
    /// evaluation on the memory's own pairs). Default: off.
    pub memory_skip_identical: bool,
}

/// The penalty a chat model's looping reply is decoded again with: 1.3 over
/// the last 64 tokens.
pub const LOOP_PENALTY: (f32, usize) = (1.3, 64);

impl Default for PromptOptions {
    fn default() -> Self {
        Self {
            context: true,
            context_budget: 1536,
            max_tokens_base: 32,
            max_tokens_factor: 2.5,
            loop_penalty: LOOP_PENALTY,
            builtin_glossary: true,
            user_glossary: None,
            memory: None,
            memory_examples: 4,
            memory_skip_identical: false,
        }
    }
}

/// Several candidates per sentence, and how one is chosen (chat models).
#[derive(Debug, Clone)]
pub struct CandidateOptions {
    /// Candidates per sentence: the greedy one plus `n - 1` samples,
    /// decoded as one batch. 1 is plain greedy decoding, exactly.
    pub n: usize,
    pub method: select::Method,
    /// Temperature of the samples. Default: 1.0.
    pub temperature: f64,
    /// Epsilon sampling threshold. Default: 0.02.
    pub epsilon: f32,
    /// The quality estimator (`qe` and `mbr+qe` need it).
    pub qe: Option<select::Qe>,
}

impl Default for CandidateOptions {
    fn default() -> Self {
        Self {
            n: 1,
            method: select::Method::Mbr,
            temperature: 1.0,
            epsilon: 0.02,
            qe: None,
        }
    }
}

/// Options of a translation run (the language pair is given when a
/// translator is made); `Default` is the documented default.
#[derive(Debug, Clone)]
pub struct TranslateOptions {
    pub decoding: DecodingChoices,
    /// Chat models only.
    pub candidates: CandidateOptions,
    /// Chat models only.
    pub prompt: PromptOptions,
    /// Chat models: translate N runs of whole paragraphs side by side, their
    /// decoding batched. Default: 1.
    pub lanes: usize,
    /// Encoder-decoder models: sentences per forward batch. Default: 16.
    pub batch_sentences: Option<usize>,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        Self {
            decoding: DecodingChoices {
                seed: DEFAULT_SEED,
                ..DecodingChoices::default()
            },
            prompt: PromptOptions::default(),
            candidates: CandidateOptions::default(),
            lanes: 1,
            batch_sentences: None,
        }
    }
}

/// The translation of one segment.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentTranslation {
    pub target: String,
    /// What was needed to get it, or what is doubtful about it (see
    /// [`Flag`]).
    pub flags: Vec<Flag>,
    /// With an n-best list: every hypothesis, best first, with its score.
    pub alternatives: Vec<Alternative>,
    /// Chosen among candidates: the chosen one's selection score.
    pub selection: Option<f64>,
}

impl SegmentTranslation {
    /// A byline, kept as it is.
    pub fn verbatim(source: &str) -> Self {
        Self {
            target: source.trim().to_string(),
            flags: vec![Flag::Verbatim],
            alternatives: Vec::new(),
            selection: None,
        }
    }
}

/// Token counts and times of a piece of translation work.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunStats {
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prompt_s: f64,
    pub generate_s: f64,
}

impl RunStats {
    pub fn merge(&mut self, other: &RunStats) {
        self.prompt_tokens += other.prompt_tokens;
        self.generated_tokens += other.generated_tokens;
        self.prompt_s += other.prompt_s;
        self.generate_s += other.generate_s;
    }
}

/// The result of [`Translator::translate`].
#[derive(Debug, Clone, Default)]
pub struct Translated {
    /// Exactly one per segment, in order.
    pub segments: Vec<SegmentTranslation>,
    /// This call's work.
    pub stats: RunStats,
}

/// Called with a segment's index as soon as it is translated (from any
/// thread).
pub type OnSegment<'a> = &'a (dyn Fn(usize) + Sync);

/// A translator for one language pair.
pub trait Translator {
    fn pair(&self) -> LangPair;
    /// Translates `segments` of `text` (spans into it): exactly one result
    /// per segment, in order. Bylines are kept as they are.
    fn translate(
        &mut self,
        text: &str,
        segments: &[Segment],
        on_segment: OnSegment,
    ) -> Result<Translated>;
    /// The work done once, when the translator was made (a chat model's
    /// instruction prefix); a document that pays for it counts it.
    fn setup_stats(&self) -> RunStats;
}
