//! Arguments turned into library options, once, before any work starts:
//! languages, threads, translation and load options, formats.

use std::sync::Arc;

use anyhow::{bail, Context, Result};

use super::args::{self, DecodeArgs, PromptArgs, RuntimeArgs};
use dich::input::read_input;
use dich::model::marian::WeightFormat;
use dich::render;
use dich::translate::examples::ExamplePool;
use dich::translate::glossary::Glossary;
use dich::translate::{DecodingChoices, LoadOptions, TranslateOptions, DEFAULT_SEED};
use dich::types::{Lang, LangPair, Method};

pub fn lang(code: &str, flag: &str) -> Result<Lang> {
    Lang::parse(code).with_context(|| format!("{flag} `{code}`: supported languages are vi and en"))
}

/// `--lang auto|vi|en`: `None` for auto.
pub fn lang_or_auto(code: &str, flag: &str) -> Result<Option<Lang>> {
    match code {
        "auto" => Ok(None),
        code => lang(code, flag).map(Some),
    }
}

/// `--from` and `--to`: two different supported languages.
pub fn lang_pair(from: &str, to: &str) -> Result<LangPair> {
    let (from, to) = (lang(from, "--from")?, lang(to, "--to")?);
    match LangPair::new(from, to) {
        Some(p) => Ok(p),
        None => bail!("--from and --to are both `{}`", from.code()),
    }
}

/// `--threads N`: the worker pools candle and rayon size once, before any
/// model work starts.
pub fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        // candle sizes its worker pool (which our kernels share) from
        // CANDLE_NUM_THREADS, else RAYON_NUM_THREADS, once, before any
        // model work starts.
        std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    Ok(())
}

impl DecodeArgs {
    /// The decoding flags given (the others take the model's defaults).
    pub fn choices(&self) -> DecodingChoices {
        DecodingChoices {
            beam: self.beam,
            n_best: self.n_best,
            length_penalty: self.length_penalty,
            max_length: self.max_length,
            no_repeat_ngram: self.no_repeat_ngram,
            repetition_penalty: self.repetition_penalty,
            temperature: None,
            top_p: None,
            seed: DEFAULT_SEED,
        }
    }

    /// `--quantize f32|q8`.
    pub fn quantize(&self) -> Result<Option<WeightFormat>> {
        self.quantize
            .as_deref()
            .map(|q| {
                WeightFormat::parse(q)
                    .with_context(|| format!("--quantize `{q}`: expected f32 or q8"))
            })
            .transpose()
    }
}

/// Where and how to load the translation model.
pub fn load_options(runtime: &RuntimeArgs, decode: &DecodeArgs) -> Result<LoadOptions> {
    Ok(LoadOptions {
        device: runtime.device.clone(),
        quantize: decode.quantize()?,
    })
}

/// The translation options of a command: the decoding flags, the prompt
/// flags (reading `--glossary` and `--examples`, whose user glossary applies
/// to `pair`), lanes, sampling and the seed.
pub struct TranslateFlags<'a> {
    pub prompt: Option<&'a PromptArgs>,
    pub decode: &'a DecodeArgs,
    pub lanes: usize,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub seed: u64,
}

impl TranslateFlags<'_> {
    pub fn options(&self, pair: LangPair) -> Result<TranslateOptions> {
        let mut opts = TranslateOptions {
            lanes: self.lanes,
            batch_sentences: self.decode.batch_sentences,
            ..TranslateOptions::default()
        };
        opts.decoding = DecodingChoices {
            temperature: self.temperature.filter(|t| *t > 0.0),
            top_p: self.top_p,
            seed: self.seed,
            ..self.decode.choices()
        };
        if let Some(p) = self.prompt {
            apply_prompt_args(p, pair, &mut opts)?;
        }
        Ok(opts)
    }
}

/// Applies `--no-context`, `--no-glossary`, `--glossary` and `--examples`.
fn apply_prompt_args(args: &PromptArgs, pair: LangPair, opts: &mut TranslateOptions) -> Result<()> {
    opts.candidates.n = args.candidates;
    opts.candidates.method =
        dich::translate::select::Method::parse(&args.select).unwrap_or_default();
    opts.candidates.temperature = args.candidate_temperature;
    opts.candidates.epsilon = args.epsilon;
    let p = &mut opts.prompt;
    p.context = !args.no_context;
    p.builtin_glossary = !args.no_glossary;
    if let Some(path) = &args.glossary {
        let input = read_input(&path.to_string_lossy())?;
        let g = Glossary::from_tsv(&input.name, &input.text)?;
        tracing::info!("glossary {}: {} entries", input.name, g.len());
        p.user_glossary = Some(Arc::new((pair.from, pair.to, g)));
    }
    if let Some(path) = &args.examples {
        let input = read_input(&path.to_string_lossy())?;
        let pool = ExamplePool::from_tsv(&input.name, &input.text)?;
        tracing::info!("translation memory {}: {} pairs", input.name, pool.len());
        p.memory = Some(Arc::new(pool));
        p.memory_examples = args.examples_per_sentence;
    }
    Ok(())
}

impl From<args::DocumentFormat> for render::DocumentFormat {
    fn from(f: args::DocumentFormat) -> Self {
        match f {
            args::DocumentFormat::Text => render::DocumentFormat::Text,
            args::DocumentFormat::Json => render::DocumentFormat::Json,
            args::DocumentFormat::Markdown => render::DocumentFormat::Markdown,
        }
    }
}

impl From<args::SummaryFormat> for render::SummaryFormat {
    fn from(f: args::SummaryFormat) -> Self {
        match f {
            args::SummaryFormat::Text => render::SummaryFormat::Text,
            args::SummaryFormat::Json => render::SummaryFormat::Json,
            args::SummaryFormat::Markdown => render::SummaryFormat::Markdown,
            args::SummaryFormat::Html => render::SummaryFormat::Html,
        }
    }
}

impl From<args::AlignFormat> for render::AlignFormat {
    fn from(f: args::AlignFormat) -> Self {
        match f {
            args::AlignFormat::Tsv => render::AlignFormat::Tsv,
            args::AlignFormat::Json => render::AlignFormat::Json,
        }
    }
}

impl From<args::Method> for Method {
    fn from(m: args::Method) -> Self {
        match m {
            args::Method::Extractive => Method::Extractive,
            args::Method::Abstractive => Method::Abstractive,
        }
    }
}

impl From<args::Task> for dich::batch::Task {
    fn from(t: args::Task) -> Self {
        match t {
            args::Task::Translate => dich::batch::Task::Translate,
            args::Task::Summarize => dich::batch::Task::Summarize,
        }
    }
}

impl From<args::RecordFormat> for dich::batch::RecordFormat {
    fn from(f: args::RecordFormat) -> Self {
        match f {
            args::RecordFormat::Full => dich::batch::RecordFormat::Full,
            args::RecordFormat::Compact => dich::batch::RecordFormat::Compact,
        }
    }
}
