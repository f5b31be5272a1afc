//! The library error: each lower layer's own error ([`InputError`],
//! [`FormatError`], [`RegistryError`], [`ModelError`], decoding's
//! [`OptionError`]) wrapped as it is, plus what the tasks above them report
//! (nothing to summarize, a language pair or a setting a model does not
//! take). Messages say what and where; advice that names a command-line
//! flag or command is added by the binary.

use crate::decode::{DecodeError, OptionError};
use crate::format::FormatError;
use crate::input::InputError;
use crate::model::{ModelError, ModelKind};
use crate::registry::RegistryError;
use crate::types::LangPair;
use crate::util::fs::PathError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),

    #[error(transparent)]
    Format(#[from] FormatError),

    #[error(transparent)]
    Registry(#[from] RegistryError),

    #[error(transparent)]
    Model(#[from] ModelError),

    #[error(transparent)]
    Options(#[from] OptionError),

    #[error(transparent)]
    Io(#[from] PathError),

    #[error(
        "nothing to summarize: the inputs have no sentences (only headings, bylines or captions)"
    )]
    NothingToSummarize,

    #[error("unsupported language pair {from} -> {to}; supported: vi -> en, en -> vi")]
    LanguagePair { from: String, to: String },

    /// The model translates other language pairs only.
    #[error("{model} translates {}, not {asked}", list(supported))]
    PairNotSupported {
        model: String,
        supported: Vec<LangPair>,
        asked: LangPair,
    },

    /// A setting this kind of model does not take.
    #[error("{setting} is not supported by {model} ({kind})")]
    Unsupported {
        model: String,
        kind: ModelKind,
        setting: Setting,
    },

    /// A setting out of its range.
    #[error("{setting} must be {requirement}")]
    Invalid {
        setting: Setting,
        requirement: &'static str,
    },

    /// A broken invariant between our own components, not a user error.
    #[error("internal error: {0}")]
    Internal(String),
}

fn list(pairs: &[LangPair]) -> String {
    pairs
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Options(o) => Error::Options(o),
            DecodeError::Model(m) => Error::Model(m),
        }
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Model(e.into())
    }
}

impl Error {
    pub fn io(path: impl Into<std::path::PathBuf>, error: std::io::Error) -> Self {
        Error::Io(PathError::new(path, error))
    }
}

/// A setting of a translation run, as errors name it. The binary maps each
/// to its command-line flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Beam,
    NBest,
    LengthPenalty,
    MaxLength,
    NoRepeatNgram,
    RepetitionPenalty,
    Quantize,
    BatchSentences,
    Temperature,
    TopP,
    Lanes,
    Glossary,
    Examples,
    Device,
    AbstractiveSummary,
    Candidates,
    Select,
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Setting::Beam => "beam search",
            Setting::NBest => "an n-best list",
            Setting::LengthPenalty => "a length penalty",
            Setting::MaxLength => "a maximum length",
            Setting::NoRepeatNgram => "no-repeat n-grams",
            Setting::RepetitionPenalty => "a repetition penalty",
            Setting::Quantize => "quantizing the weights",
            Setting::BatchSentences => "the sentences per batch",
            Setting::Temperature => "sampling",
            Setting::TopP => "nucleus sampling",
            Setting::Lanes => "translating in lanes",
            Setting::Glossary => "a user glossary",
            Setting::Examples => "a translation memory",
            Setting::Device => "this device",
            Setting::Candidates => "several candidates per sentence",
            Setting::Select => "the choice among candidates",
            Setting::AbstractiveSummary => "an abstractive summary",
        })
    }
}
