//! `dich summarize`: one or more articles (text, translated first with any
//! translation model, or translation JSON reused as it is) into an aligned
//! bilingual summary.

use std::time::Instant;

use anyhow::{bail, Result};

use crate::cli::args::{GlobalArgs, SummarizeArgs};
use crate::cli::common::{
    emit, load_embedder, model_ref, resolve_embedder, resolve_translator, SegmentBar,
};
use crate::cli::options::{lang_or_auto, load_options, set_threads, TranslateFlags};
use dich::align::document::score_document;
use dich::input::{parse_document_json, read_input, Input};
use dich::model::device;
use dich::registry::ModelPaths;
use dich::summarize::{check_method, summarize_documents, Length, SummaryOptions};
use dich::translate::{translate_document, Engine};
use dich::types::{Flag, Lang, LangPair, Method, SummaryOutput, TranslationDocument};

/// One input as read: text to translate, or translations to reuse.
enum Source {
    Text(Input, Lang),
    Translated(Vec<TranslationDocument>),
}

fn length(args: &SummarizeArgs) -> Result<Length> {
    Ok(match (args.sentences, args.ratio) {
        (Some(0), _) => bail!("--sentences must be at least 1"),
        (Some(k), _) => Length::Sentences(k),
        (None, Some(r)) if !(r > 0.0 && r <= 1.0) => bail!("--ratio must be in (0, 1], got {r}"),
        (None, Some(r)) => Length::Ratio(r),
        (None, None) => SummaryOptions::default().length,
    })
}

/// Reads and checks every input before any model is loaded.
fn read_sources(args: &SummarizeArgs) -> Result<Vec<Source>> {
    let forced = lang_or_auto(&args.lang, "--lang")?;
    if args.files.iter().filter(|f| *f == "-").count() > 1 {
        bail!("stdin (`-`) can be given only once");
    }
    let mut sources = Vec::new();
    for f in &args.files {
        let input = read_input(f)?;
        if input.text.trim_start().starts_with('{') {
            sources.push(Source::Translated(parse_document_json(&input)?));
        } else {
            let lang = forced.unwrap_or_else(|| dich::text::lang::detect(&input.text));
            sources.push(Source::Text(input, lang));
        }
    }
    Ok(sources)
}

/// Every text input is in a language the model translates from.
fn check_pairs(paths: &ModelPaths, sources: &[Source]) -> Result<()> {
    let can = Engine::pairs_of(paths)?;
    for s in sources {
        if let Source::Text(input, from) = s {
            let pair = LangPair::from_source(*from);
            if !can.contains(&pair) {
                let list: Vec<String> = can.iter().map(|p| p.to_string()).collect();
                bail!(
                    "{}: the text is {}, but {} translates {} only; give a model for {pair}, or that text's translation as JSON",
                    input.name,
                    from.name(),
                    paths.name,
                    list.join(", ")
                );
            }
        }
    }
    Ok(())
}

pub fn run(g: &GlobalArgs, args: SummarizeArgs) -> Result<()> {
    let start = Instant::now();
    set_threads(args.runtime.threads)?;
    let length = length(&args)?;
    let method: Method = args.method.into();
    let sources = read_sources(&args)?;
    let needs_model =
        method == Method::Abstractive || sources.iter().any(|s| matches!(s, Source::Text(..)));
    let device = device::select(&args.runtime.device)?;
    let flags = TranslateFlags {
        prompt: None,
        decode: &args.decode,
        lanes: 1,
        temperature: None,
        top_p: None,
        seed: args.seed,
    };
    // As in `translate`: check the model and its settings, then fetch the
    // embedder, then start the long work.
    let engine = match needs_model {
        true => {
            let paths = resolve_translator(g, args.runtime.model.as_deref())?;
            let load = load_options(&args.runtime, &args.decode)?;
            Engine::check(
                &paths,
                None,
                &flags.options(LangPair::from_source(Lang::Vi))?,
                &load,
            )?;
            check_method(&paths.name, Engine::kind_of(&paths), method)?;
            check_pairs(&paths, &sources)?;
            Some(Engine::load(&paths, &load)?)
        }
        false => None,
    };
    let emb_paths = resolve_embedder(g, args.embedder.as_deref())?;
    let mut documents = Vec::new();
    for source in sources {
        match source {
            Source::Translated(docs) => documents.extend(docs),
            Source::Text(input, from) => {
                let Some(engine) = &engine else {
                    bail!("internal error: text input without a loaded model");
                };
                let pair = LangPair::from_source(from);
                tracing::info!("{}: {pair}", input.name);
                let bar = SegmentBar::new(format!("translating {}", input.name));
                let doc = translate_document(engine, pair, &flags.options(pair)?, &input, &|ev| {
                    bar.event(ev)
                })?;
                bar.finish();
                documents.push(doc);
            }
        }
    }
    let embedder = load_embedder(&emb_paths, &device)?;
    for doc in documents.iter_mut().filter(|d| d.scorer.is_none()) {
        score_document(&embedder, model_ref(&emb_paths), doc)?;
    }
    let opts = SummaryOptions {
        method,
        length,
        ..SummaryOptions::default()
    };
    let lm = engine.as_ref().and_then(Engine::chat);
    let summary = summarize_documents(lm, &embedder, &documents, &opts, args.seed)?;
    let unsupported = summary
        .sentences
        .iter()
        .filter(|s| s.flags.contains(&Flag::Unsupported))
        .count();
    tracing::info!(
        "{} summary sentences from {} document(s) ({} unsupported) in {:.1}s",
        summary.sentences.len(),
        documents.len(),
        unsupported,
        start.elapsed().as_secs_f64()
    );
    let out = SummaryOutput { documents, summary };
    emit(
        &dich::render::summary::render(&out, args.format.into()),
        args.output.as_deref(),
    )
}
