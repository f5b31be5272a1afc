//! The library's error type: every variant says what went wrong and where
//! (path, byte offset, model name), so the binary can print one clear line.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The I/O error's text is part of the message, so it is not also
    // exposed as `source` (the binary prints the chain: it would repeat).
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("{input}: not valid UTF-8 at byte offset {offset}")]
    InvalidUtf8 { input: String, offset: usize },

    #[error(
        "{input}: looks like a binary file (NUL byte at offset {offset}); expected UTF-8 text"
    )]
    BinaryInput { input: String, offset: usize },

    #[error("{input}: the input is empty")]
    EmptyInput { input: String },

    #[error("{input}: the input contains only whitespace")]
    BlankInput { input: String },

    #[error("{input}: no text to translate was found")]
    NothingToTranslate { input: String },

    #[error("{input}: {message}")]
    InvalidDocument { input: String, message: String },

    #[error(
        "nothing to summarize: the inputs have no sentences (only headings, bylines or captions)"
    )]
    NothingToSummarize,

    #[error("unknown model `{name}`: not in the catalog ({known}) and not an existing path to a .gguf file or model directory")]
    UnknownModel { name: String, known: String },

    #[error("model `{name}` has the role `{role}`; this command needs a `{needed}` model (see `dich models list`)")]
    WrongRole {
        name: String,
        role: String,
        needed: String,
    },

    #[error("model `{name}` ({role}) is not cached and --offline is set; run `dich models pull {name}` first")]
    NotCachedOffline { name: String, role: String },

    #[error("{}: size is {actual} bytes, expected {expected}: the file is truncated or incomplete; run `dich models pull {name}` again", path.display())]
    SizeMismatch {
        name: String,
        path: PathBuf,
        expected: u64,
        actual: u64,
    },

    #[error("{}: sha256 mismatch: expected {expected}, found {actual}: the file is corrupt or not this model; run `dich models pull {name}` again", path.display())]
    ChecksumMismatch {
        name: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },

    #[error("{}: no hash is recorded for this hub-verified file (it was not fetched by dich, or its record is gone); run `dich models pull {name}` again", path.display())]
    Unrecorded { name: String, path: PathBuf },

    #[error("could not fetch `{name}`: every source failed:\n{}", failures.iter().map(|f| format!("  - {f}")).collect::<Vec<_>>().join("\n"))]
    FetchFailed { name: String, failures: Vec<String> },

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

    /// Flags that do not fit together, or do not fit the model.
    #[error("{0}")]
    Usage(String),

    #[error("model catalog: {0}")]
    Catalog(String),

    #[error("device `{spec}`: {message}")]
    Device { spec: String, message: String },

    #[error("unsupported language pair {from} -> {to}; supported: vi -> en, en -> vi")]
    LanguagePair { from: String, to: String },

    #[error("the text needs {needed} tokens of context, more than the model's {max}")]
    ContextOverflow { needed: usize, max: usize },

    #[error("tokenizer: {0}")]
    Tokenize(tokenizers::Error),

    /// A broken invariant between our own components, not a user error.
    #[error("internal error: {0}")]
    Internal(String),

    #[error("model computation failed: {0}")]
    Candle(candle_core::Error),
}

/// candle attaches a captured backtrace to its errors when RUST_BACKTRACE is
/// set; users get the message, not the backtrace.
pub fn candle_root(e: candle_core::Error) -> candle_core::Error {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => candle_root(*inner),
        other => other,
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Candle(candle_root(e))
    }
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error: source,
        }
    }
}
