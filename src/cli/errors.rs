//! Library errors as the command line words them: the library says what
//! went wrong and where; here the message gains the flag that caused it and
//! the command that fixes it. Every other error prints as it is.

use dich::decode::OptionError;
use dich::error::Setting;
use dich::model::ModelKind;
use dich::registry::RegistryError;
use dich::Error;

/// The whole chain of `e`, `outer: inner: root`, each link worded for the
/// command line where it is one of the library's errors.
pub fn message(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| explain(c).unwrap_or_else(|| c.to_string()))
        .collect::<Vec<_>>()
        .join(": ")
}

fn explain(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = e.downcast_ref::<Error>() {
        return library(e);
    }
    if let Some(e) = e.downcast_ref::<RegistryError>() {
        return Some(registry(e));
    }
    if let Some(e) = e.downcast_ref::<OptionError>() {
        return Some(option(e));
    }
    None
}

fn library(e: &Error) -> Option<String> {
    Some(match e {
        Error::Registry(r) => registry(r),
        Error::Options(o) => option(o),
        Error::Unsupported {
            model,
            kind,
            setting,
        } => unsupported(model, *kind, *setting),
        Error::Invalid {
            setting,
            requirement,
        } => format!("{} must be {requirement}", flag(*setting)),
        Error::PairNotSupported {
            model,
            supported,
            asked,
        } => {
            let can: Vec<String> = supported.iter().map(|p| p.to_string()).collect();
            format!(
                "{model} translates {}, but --from {} --to {} was asked",
                can.join(" and "),
                asked.from.code(),
                asked.to.code()
            )
        }
        _ => return None,
    })
}

fn registry(e: &RegistryError) -> String {
    match e {
        RegistryError::NotCachedOffline { name, role } => format!(
            "model `{name}` ({role}) is not cached and --offline is set; run `dich models pull {name}` first"
        ),
        RegistryError::WrongRole { .. } => format!("{e} (see `dich models list`)"),
        _ => match e.model_to_pull() {
            Some(name) => format!("{e}; run `dich models pull {name}` again"),
            None => e.to_string(),
        },
    }
}

fn option(e: &OptionError) -> String {
    match e {
        OptionError::BeamZero => "--beam must be at least 1".into(),
        OptionError::NBest { n_best, beam } => {
            format!("--n-best must be between 1 and --beam ({beam}), got {n_best}")
        }
        OptionError::MaxLengthZero => "--max-length must be at least 1".into(),
        OptionError::MinAboveMax { min, max } => {
            format!("--min-length ({min}) must not exceed --max-length ({max})")
        }
        OptionError::RepetitionPenalty(p) => {
            format!("--repetition-penalty must be a positive number, got {p}")
        }
        OptionError::LengthPenalty => "--length-penalty must be a finite number".into(),
        OptionError::SamplingWithBeam(b) => {
            format!("--temperature samples one hypothesis; it does not go with --beam {b}")
        }
    }
}

/// The flag that sets `s`.
pub fn flag(s: Setting) -> &'static str {
    match s {
        Setting::Beam => "--beam",
        Setting::NBest => "--n-best",
        Setting::LengthPenalty => "--length-penalty",
        Setting::MaxLength => "--max-length",
        Setting::NoRepeatNgram => "--no-repeat-ngram",
        Setting::RepetitionPenalty => "--repetition-penalty",
        Setting::Quantize => "--quantize",
        Setting::BatchSentences => "--batch-sentences",
        Setting::Temperature => "--temperature",
        Setting::TopP => "--top-p",
        Setting::Lanes => "--lanes",
        Setting::Glossary => "--glossary",
        Setting::Examples => "--examples",
        Setting::Device => "--device",
        Setting::AbstractiveSummary => "--method abstractive",
        Setting::Candidates => "--candidates",
        Setting::Select => "--select",
    }
}

fn unsupported(model: &str, kind: ModelKind, setting: Setting) -> String {
    let f = flag(setting);
    match (kind, setting) {
        (ModelKind::ChatLm, _) => format!(
            "{f} is not supported by {model} (a GGUF chat model: it decodes greedily, or samples with --temperature); \
             beam search and the other decoding flags work with encoder-decoder models such as opus-mt-vi-en"
        ),
        (ModelKind::EncoderDecoder, Setting::Device) => {
            format!("{f}: Marian models run on the CPU in this version; use --device cpu or auto")
        }
        (ModelKind::EncoderDecoder, Setting::AbstractiveSummary) => format!(
            "{f} is not supported by {model} (an encoder-decoder translation model): \
             abstractive summaries are written by a GGUF chat model; use --method extractive, or --model with a chat model"
        ),
        (ModelKind::EncoderDecoder, _) => format!(
            "{f} is not supported by {model} (an encoder-decoder translation model: no prompt, no sampling; \
             it takes --beam, --n-best, --length-penalty, --max-length, --no-repeat-ngram, --repetition-penalty, --quantize)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dich::types::{Lang, LangPair};

    #[test]
    fn library_errors_gain_their_flags_and_advice() {
        let e = anyhow::Error::from(Error::Unsupported {
            model: "opus-mt-vi-en".into(),
            kind: ModelKind::EncoderDecoder,
            setting: Setting::Temperature,
        });
        assert!(message(&e).starts_with("--temperature is not supported by opus-mt-vi-en"));
        let e = anyhow::Error::from(Error::Registry(RegistryError::NotCachedOffline {
            name: "m".into(),
            role: "translator".into(),
        }));
        assert_eq!(
            message(&e),
            "model `m` (translator) is not cached and --offline is set; run `dich models pull m` first"
        );
        let e = anyhow::Error::from(Error::from(OptionError::NBest { n_best: 3, beam: 2 }));
        assert_eq!(
            message(&e),
            "--n-best must be between 1 and --beam (2), got 3"
        );
        let e = anyhow::Error::from(Error::PairNotSupported {
            model: "opus-mt-vi-en".into(),
            supported: vec![LangPair::from_source(Lang::Vi)],
            asked: LangPair::from_source(Lang::En),
        });
        assert_eq!(
            message(&e),
            "opus-mt-vi-en translates vi -> en, but --from en --to vi was asked"
        );
        // Context from the command line stays in front.
        let e = anyhow::Error::from(Error::NothingToSummarize).context("summarizing a.txt");
        assert!(message(&e).starts_with("summarizing a.txt: nothing to summarize"));
    }
}
