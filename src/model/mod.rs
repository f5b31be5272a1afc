//! Models: the two traits decoding works over ([`CausalLm`], a decoder-only
//! LM with an external key/value cache; [`Seq2Seq`], an encoder-decoder with
//! per-source memory and per-hypothesis state), their implementations
//! (decoder-only Qwen2/Llama/Qwen3/Gemma 3 on GGUF weights, Marian on
//! Hugging Face checkpoints), the BERT
//! sentence embedder, the [`batcher`] that turns sequential users of a
//! `CausalLm` into batched forward passes, and device selection.
//!
//! Loaders take paths (`crate::registry` decides which files) and read them
//! through `crate::format`; computation runs on `crate::kernels`.

pub mod batcher;
pub mod causal;
pub mod decoder;
pub mod device;
pub mod embedder;
pub mod lm;
pub mod marian;
pub mod seq2seq;

pub use causal::{CausalLm, KvCache};
pub use decoder::SUPPORTED_ARCHITECTURES;
pub use lm::{ChatFormat, LoadedLm};
pub use seq2seq::Seq2Seq;

use crate::format::{candle_root, FormatError};
use crate::util::fs::PathError;

pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// Loading or running a model failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Format(#[from] FormatError),

    #[error(transparent)]
    Io(#[from] PathError),

    #[error("device `{spec}`: {message}")]
    Device { spec: String, message: String },

    #[error("the text needs {needed} tokens of context, more than the model's {max}")]
    ContextOverflow { needed: usize, max: usize },

    #[error("tokenizer: {0}")]
    Tokenize(tokenizers::Error),

    #[error("model computation failed: {0}")]
    Candle(candle_core::Error),

    /// A broken invariant between our own components, not a user error.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<candle_core::Error> for ModelError {
    fn from(e: candle_core::Error) -> Self {
        ModelError::Candle(candle_root(e))
    }
}

impl ModelError {
    pub fn io(path: impl Into<std::path::PathBuf>, error: std::io::Error) -> Self {
        ModelError::Io(PathError::new(path, error))
    }
}

/// The kinds of translation model dich runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// A GGUF chat model, prompted to translate ([`LoadedLm`]).
    ChatLm,
    /// An encoder-decoder translation model (Marian / OPUS-MT).
    EncoderDecoder,
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModelKind::ChatLm => "a GGUF chat model",
            ModelKind::EncoderDecoder => "an encoder-decoder translation model",
        })
    }
}
