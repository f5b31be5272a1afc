//! A translation model loaded and ready to make translators: the one place
//! that knows the kinds of translation model (a GGUF chat model, an
//! encoder-decoder Marian checkpoint), which settings each takes, and which
//! language pairs it translates. Everything above works with an [`Engine`]
//! and the [`Translator`] it makes.

use super::llm::LlmTranslator;
use super::marian::{MarianTranslator, DEFAULT_BATCH_SENTENCES};
use super::{DecodingChoices, TranslateOptions, Translator};
use crate::decode::DecodingOptions;
use crate::error::{Error, Result, Setting};
use crate::model::marian::{MarianMt, WeightFormat};
use crate::model::{device, LoadedLm, ModelKind};
use crate::registry::{ModelFormat, ModelPaths};
use crate::types::{Lang, LangPair, ModelRef};

/// How to load a translation model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `auto`, `cpu`, `cuda`, `cuda:N` or `metal` (see
    /// [`device::select`]). Encoder-decoder models run on the CPU: `auto`
    /// means the CPU for them, and an accelerator is an error.
    pub device: String,
    /// Weights of an encoder-decoder model's linear layers; `None` is f32.
    /// Chat models take their quantization from their file.
    pub quantize: Option<WeightFormat>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            device: "auto".into(),
            quantize: None,
        }
    }
}

enum Loaded {
    Chat(Box<LoadedLm>),
    Marian(Box<MarianMt>),
}

/// A loaded translation model.
pub struct Engine {
    /// Name and weights hash, as documents record them.
    pub model: ModelRef,
    pub load_seconds: f64,
    /// The pair the catalog or the model's files state, for single-pair
    /// models.
    stated_pair: Option<LangPair>,
    loaded: Loaded,
}

/// Both directions.
fn both() -> Vec<LangPair> {
    vec![
        LangPair::from_source(Lang::Vi),
        LangPair::from_source(Lang::En),
    ]
}

impl Engine {
    /// The kind of model `paths` holds. (An embedder is never resolved as
    /// a translator: `registry::resolve` checks the role; loading one as a
    /// GGUF chat model fails with a clear error.)
    pub fn kind_of(paths: &ModelPaths) -> ModelKind {
        match paths.format {
            ModelFormat::MarianDir => ModelKind::EncoderDecoder,
            ModelFormat::Gguf | ModelFormat::Embedder => ModelKind::ChatLm,
        }
    }

    /// Checks, before anything is loaded, that `opts` and `load` fit the
    /// kind of model `paths` holds, and (when given) that it translates
    /// `pair`. Cheap: it reads at most a small JSON file.
    pub fn check(
        paths: &ModelPaths,
        pair: Option<LangPair>,
        opts: &TranslateOptions,
        load: &LoadOptions,
    ) -> Result<()> {
        let kind = Self::kind_of(paths);
        let unsupported = |setting| Error::Unsupported {
            model: paths.name.clone(),
            kind,
            setting,
        };
        let d = &opts.decoding;
        match kind {
            ModelKind::ChatLm => {
                let given = [
                    (Setting::Beam, d.beam.is_some()),
                    (Setting::NBest, d.n_best.is_some() && opts.candidates.n <= 1),
                    (Setting::LengthPenalty, d.length_penalty.is_some()),
                    (Setting::MaxLength, d.max_length.is_some()),
                    (Setting::NoRepeatNgram, d.no_repeat_ngram.is_some()),
                    (Setting::RepetitionPenalty, d.repetition_penalty.is_some()),
                    (Setting::Quantize, load.quantize.is_some()),
                    (Setting::BatchSentences, opts.batch_sentences.is_some()),
                ];
                if let Some((s, _)) = given.iter().find(|(_, on)| *on) {
                    return Err(unsupported(*s));
                }
                if opts.candidates.n == 0 {
                    return Err(Error::Invalid {
                        setting: Setting::Candidates,
                        requirement: "at least 1",
                    });
                }
                let c = &opts.candidates;
                if c.n > 1 && c.method.needs_qe() && c.qe.is_none() {
                    return Err(Error::Invalid {
                        setting: Setting::Select,
                        requirement: "qe and mbr+qe need the embedder loaded as the quality estimator (not available in this command)",
                    });
                }
                if let Some(k) = d.n_best {
                    if k == 0 || k > opts.candidates.n {
                        return Err(Error::Invalid {
                            setting: Setting::NBest,
                            requirement: "between 1 and the number of candidates",
                        });
                    }
                }
                device::select(&load.device)?;
            }
            ModelKind::EncoderDecoder => {
                let given = [
                    (Setting::Temperature, d.temperature.is_some()),
                    (Setting::TopP, d.top_p.is_some()),
                    (Setting::Lanes, opts.lanes > 1),
                    (Setting::Glossary, opts.prompt.user_glossary.is_some()),
                    (Setting::Examples, opts.prompt.memory.is_some()),
                    (Setting::Candidates, opts.candidates.n > 1),
                ];
                if let Some((s, _)) = given.iter().find(|(_, on)| *on) {
                    return Err(unsupported(*s));
                }
                if let Some(pair) = pair {
                    let stated = Self::stated_pair(paths)?;
                    Self::check_pair(&paths.name, stated, pair)?;
                }
                if !matches!(load.device.as_str(), "auto" | "cpu") {
                    return Err(unsupported(Setting::Device));
                }
                marian_decoding(d).validate()?;
                if opts.batch_sentences == Some(0) {
                    return Err(Error::Invalid {
                        setting: Setting::BatchSentences,
                        requirement: "at least 1",
                    });
                }
            }
        }
        Ok(())
    }

    /// The pairs the model `paths` names translates, read before loading
    /// it (cheap: at most a small JSON file).
    pub fn pairs_of(paths: &ModelPaths) -> Result<Vec<LangPair>> {
        Ok(match Self::stated_pair(paths)? {
            Some(p) => vec![p],
            None => both(),
        })
    }

    /// The pair a single-pair model states: the catalog's `languages`, else
    /// its `tokenizer_config.json`.
    fn stated_pair(paths: &ModelPaths) -> Result<Option<LangPair>> {
        if let Some(p) = paths.entry.as_ref().and_then(|e| e.pair()) {
            return Ok(Some(p));
        }
        match paths.format {
            ModelFormat::MarianDir => {
                let files = crate::format::marian::MarianFiles::find(&paths.path)?;
                Ok(files.language_pair()?)
            }
            _ => Ok(None),
        }
    }

    fn check_pair(model: &str, stated: Option<LangPair>, asked: LangPair) -> Result<()> {
        match stated {
            Some(s) if s != asked => Err(Error::PairNotSupported {
                model: model.to_string(),
                supported: vec![s],
                asked,
            }),
            _ => Ok(()),
        }
    }

    /// Loads the model `paths` names.
    pub fn load(paths: &ModelPaths, load: &LoadOptions) -> Result<Self> {
        let model = ModelRef {
            name: paths.name.clone(),
            sha256: paths.sha256.clone(),
        };
        let (loaded, load_seconds, stated_pair) = match Self::kind_of(paths) {
            ModelKind::ChatLm => {
                let device = device::select(&load.device)?;
                let lm = LoadedLm::from_gguf(&paths.path, &device)?;
                let secs = lm.load_seconds;
                (Loaded::Chat(Box::new(lm)), secs, None)
            }
            ModelKind::EncoderDecoder => {
                let format = load.quantize.unwrap_or(WeightFormat::F32);
                let mt = MarianMt::load(&paths.path, format)?;
                let secs = mt.load_seconds;
                let stated = paths.entry.as_ref().and_then(|e| e.pair()).or(mt.pair);
                if stated.is_none() {
                    tracing::warn!(
                        "{}: the model states no language pair (no tokenizer_config.json with source_lang and target_lang); it is used for the pair asked",
                        paths.name
                    );
                }
                (Loaded::Marian(Box::new(mt)), secs, stated)
            }
        };
        Ok(Self {
            model,
            load_seconds,
            stated_pair,
            loaded,
        })
    }

    pub fn kind(&self) -> ModelKind {
        match self.loaded {
            Loaded::Chat(_) => ModelKind::ChatLm,
            Loaded::Marian(_) => ModelKind::EncoderDecoder,
        }
    }

    /// The pairs this model translates.
    pub fn pairs(&self) -> Vec<LangPair> {
        match self.stated_pair {
            Some(p) => vec![p],
            None => both(),
        }
    }

    /// Whether this model translates `pair`.
    pub fn translates(&self, pair: LangPair) -> bool {
        self.pairs().contains(&pair)
    }

    /// A translator for `pair` with `opts`.
    pub fn translator(
        &self,
        pair: LangPair,
        opts: &TranslateOptions,
    ) -> Result<Box<dyn Translator + '_>> {
        Self::check_pair(&self.model.name, self.stated_pair, pair)?;
        match &self.loaded {
            Loaded::Chat(lm) => Ok(Box::new(LlmTranslator::new(lm, pair, opts.clone())?)),
            Loaded::Marian(mt) => Ok(Box::new(MarianTranslator::new(
                mt,
                pair,
                marian_decoding(&opts.decoding),
                opts.batch_sentences.unwrap_or(DEFAULT_BATCH_SENTENCES),
            )?)),
        }
    }

    /// The chat model, for the work only a chat model does (abstractive
    /// summaries, the decoding benchmark).
    /// [`Self::translator`] as its concrete type when the model is a chat
    /// model (which can fork lanes for batched decoding); `None` for an
    /// encoder-decoder model.
    pub fn chat_translator(
        &self,
        pair: LangPair,
        opts: &TranslateOptions,
    ) -> Result<Option<LlmTranslator<'_>>> {
        Self::check_pair(&self.model.name, self.stated_pair, pair)?;
        match &self.loaded {
            Loaded::Chat(lm) => Ok(Some(LlmTranslator::new(lm, pair, opts.clone())?)),
            Loaded::Marian(_) => Ok(None),
        }
    }

    pub fn chat(&self) -> Option<&LoadedLm> {
        match &self.loaded {
            Loaded::Chat(lm) => Some(lm),
            Loaded::Marian(_) => None,
        }
    }

    /// The encoder-decoder model.
    pub fn marian(&self) -> Option<&MarianMt> {
        match &self.loaded {
            Loaded::Marian(mt) => Some(mt),
            Loaded::Chat(_) => None,
        }
    }
}

/// An encoder-decoder model's decoding: the user's choices over greedy
/// search with at most 256 tokens.
fn marian_decoding(c: &DecodingChoices) -> DecodingOptions {
    let d = DecodingOptions::default();
    DecodingOptions {
        beam: c.beam.unwrap_or(d.beam),
        n_best: c.n_best.unwrap_or(d.n_best),
        length_penalty: c.length_penalty.unwrap_or(d.length_penalty),
        max_length: c.max_length.unwrap_or(d.max_length),
        no_repeat_ngram: c.no_repeat_ngram.unwrap_or(d.no_repeat_ngram),
        repetition_penalty: c.repetition_penalty.unwrap_or(d.repetition_penalty),
        ..d
    }
}
