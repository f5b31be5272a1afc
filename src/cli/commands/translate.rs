//! `dich translate`: one document with any translation model, scored by the
//! embedder unless `--no-score`.

use std::time::Instant;

use anyhow::Result;

use crate::cli::args::{GlobalArgs, TranslateArgs};
use crate::cli::common::{
    attach_qe, emit, load_embedder, model_ref, resolve_embedder, resolve_translator, SegmentBar,
};
use crate::cli::options::{lang_pair, load_options, set_threads, TranslateFlags};
use dich::align::document::score_document;
use dich::input::read_input;
use dich::model::{device, ModelKind};
use dich::translate::{translate_document, Engine};
use dich::util::num::{rate, round_to};

pub fn run(g: &GlobalArgs, args: TranslateArgs) -> Result<()> {
    let start = Instant::now();
    let pair = lang_pair(&args.from, &args.to)?;
    set_threads(args.runtime.threads)?;
    // Read and check the input before spending seconds on the model.
    let input = read_input(&args.file)?;
    // A bad --device fails before any model is fetched.
    device::select(&args.runtime.device)?;
    let model = resolve_translator(g, args.runtime.model.as_deref())?;
    let load = load_options(&args.runtime, &args.decode)?;
    let mut opts = TranslateFlags {
        prompt: Some(&args.prompt),
        decode: &args.decode,
        lanes: args.lanes as usize,
        temperature: args.temperature,
        top_p: args.top_p,
        seed: args.seed,
    }
    .options(pair)?;
    if Engine::kind_of(&model) == ModelKind::ChatLm {
        attach_qe(g, args.embedder.as_deref(), &args.runtime.device, &mut opts)?;
    }
    // Settings the model does not take fail before anything is loaded.
    Engine::check(&model, Some(pair), &opts, &load)?;
    // A bad model file fails in seconds, before anything else is fetched.
    let engine = Engine::load(&model, &load)?;
    // Resolve (and fetch) the embedder before minutes of translation, so a
    // missing embedder fails now rather than at the end.
    let scorer = if args.no_score {
        None
    } else {
        Some(resolve_embedder(g, args.embedder.as_deref())?)
    };
    let bar = SegmentBar::new(format!("translating {}", input.name));
    let mut doc = translate_document(&engine, pair, &opts, &input, &|ev| bar.event(ev))?;
    bar.finish();
    if let Some(paths) = &scorer {
        // Encoder-decoder models run on the CPU, and so does their scorer.
        let spec = match engine.kind() {
            ModelKind::ChatLm => args.runtime.device.as_str(),
            ModelKind::EncoderDecoder => "cpu",
        };
        let embedder = load_embedder(paths, &device::select(spec)?)?;
        score_document(&embedder, model_ref(paths), &mut doc)?;
    }
    doc.stats.wall_s = round_to(start.elapsed().as_secs_f64(), 3);
    let s = &doc.stats;
    let generated = format!(
        "generated {} tokens in {:.1}s ({:.1} tok/s)",
        s.generated_tokens,
        s.generate_s,
        rate(s.generated_tokens as f64, s.generate_s)
    );
    match engine.kind() {
        ModelKind::ChatLm => tracing::info!(
            "{} segments; load {:.1}s; prompt {} tokens in {:.1}s ({:.1} tok/s); {generated}; wall {:.1}s",
            doc.segments.len(),
            s.load_s,
            s.prompt_tokens,
            s.prompt_s,
            rate(s.prompt_tokens as f64, s.prompt_s),
            s.wall_s
        ),
        ModelKind::EncoderDecoder => tracing::info!(
            "{} segments; load {:.1}s; {} source tokens; {generated}; wall {:.1}s",
            doc.segments.len(),
            s.load_s,
            s.prompt_tokens,
            s.wall_s
        ),
    }
    emit(
        &dich::render::document::render(&doc, args.format.into()),
        args.output.as_deref(),
    )
}
