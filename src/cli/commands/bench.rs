//! `dich bench`: the decoding hot path of a chat model on this machine
//! (and the seed article's wall time); `dich bench marian`: an
//! encoder-decoder model measured as CTranslate2 is.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::cli::args::{BenchMarianArgs, BenchRunArgs, GlobalArgs};
use crate::cli::common::{model_ref, resolve_translator};
use crate::cli::options::set_threads;
use dich::bench::marian::{bench_marian, MarianBenchOptions};
use dich::bench::{BenchOptions, LONG_PROMPT, SHORT_PROMPT};
use dich::input::{read_input, Input};
use dich::model::marian::random::{write_checkpoint, RandomSpec};
use dich::model::marian::{MarianMt, WeightFormat};
use dich::model::{device, ModelKind};
use dich::translate::{translate_document, Engine, LoadOptions, TranslateOptions};
use dich::types::{Lang, LangPair};

/// `table` or `json`.
fn json_format(format: &str) -> Result<bool> {
    match format {
        "table" => Ok(false),
        "json" => Ok(true),
        other => bail!("--format `{other}`: expected table or json"),
    }
}

pub fn marian(g: &GlobalArgs, args: BenchMarianArgs) -> Result<()> {
    let json = json_format(&args.format)?;
    set_threads(args.threads)?;
    let format = WeightFormat::parse(&args.quantize)
        .with_context(|| format!("--quantize `{}`: expected f32 or q8", args.quantize))?;
    if args.batch == 0 || args.src_len < 2 || args.new_tokens == 0 || args.rounds == 0 {
        bail!("--batch, --rounds and --new-tokens must be at least 1, --src-len at least 2");
    }
    if let Some(preset) = &args.write_random {
        let spec = match preset.as_str() {
            "opus-mt" => RandomSpec::opus_mt(args.seed),
            "tiny" => RandomSpec::tiny(args.seed),
            other => bail!("--write-random `{other}`: expected opus-mt or tiny"),
        };
        let dir = Path::new(&args.model);
        if !dir.join("model.safetensors").is_file() {
            let spm = std::env::temp_dir().join(format!("dich-random-{}.spm", std::process::id()));
            std::fs::write(&spm, include_bytes!("../../../tests/fixtures/spm/tiny.spm"))
                .with_context(|| format!("cannot write {}", spm.display()))?;
            let r = write_checkpoint(dir, &spec, &spm);
            let _ = std::fs::remove_file(&spm);
            r?;
            tracing::info!("wrote a random {preset} checkpoint to {}", dir.display());
        }
    }
    let model = resolve_translator(g, Some(&args.model))?;
    if Engine::kind_of(&model) != ModelKind::EncoderDecoder {
        bail!("{} is not a Marian checkpoint directory", model.name);
    }
    let mt = MarianMt::load(&model.path, format)?;
    if args.src_len > mt.model.max_positions() || args.new_tokens > mt.model.max_positions() {
        bail!(
            "--src-len and --new-tokens must fit the model's {} positions",
            mt.model.max_positions()
        );
    }
    let sources = match &args.sources {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Some(
                serde_json::from_str::<Vec<Vec<u32>>>(&text).with_context(|| {
                    format!("{}: expected a JSON list of lists of ids", p.display())
                })?,
            )
        }
        None => None,
    };
    let opts = MarianBenchOptions {
        batch: args.batch,
        src_len: args.src_len,
        new_tokens: args.new_tokens,
        beam: args.beam,
        rounds: args.rounds,
        seed: args.seed,
        sources,
    };
    let report = bench_marian(&mt, &model.name, &opts)?;
    if let Some(out) = &args.tokens_out {
        let v = serde_json::json!({"sources": report.sources, "outputs": report.outputs});
        std::fs::write(out, v.to_string())
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} ({} weights, {:.0} MiB), {} threads: batch {} x {} source tokens -> {} tokens, beam {}: {:.1} tokens/s (median of {} rounds {:?}; {:.1} ms per round), peak RSS {:.0} MiB",
            report.model,
            report.weights,
            report.weight_mb,
            report.threads,
            report.batch,
            report.src_len,
            report.new_tokens,
            report.beam,
            report.tokens_per_s,
            report.rounds,
            report.round_tokens_per_s,
            report.round_ms,
            report.peak_rss_mb
        );
    }
    Ok(())
}

pub fn run(g: &GlobalArgs, args: BenchRunArgs) -> Result<()> {
    let json = json_format(&args.format)?;
    if args.decode_tokens == 0 || args.lanes == 0 {
        bail!("--decode-tokens and --lanes must be at least 1");
    }
    set_threads(args.runtime.threads)?;
    let input = match &args.text {
        Some(path) => read_input(&path.display().to_string())?,
        None => Input {
            name: "seeds/vi-vtc-hanoi-convention-signing.txt".into(),
            text: include_str!("../../../seeds/vi-vtc-hanoi-convention-signing.txt").into(),
        },
    };
    let text = input.text.clone();
    device::select(&args.runtime.device)?;
    let model = resolve_translator(g, args.runtime.model.as_deref())?;
    if Engine::kind_of(&model) != ModelKind::ChatLm {
        bail!(
            "{} is a Marian (encoder-decoder) model: `dich bench` measures GGUF chat models; use `dich bench marian --model {}`",
            model.name,
            args.runtime.model.as_deref().unwrap_or_default()
        );
    }
    let load = LoadOptions {
        device: args.runtime.device.clone(),
        quantize: None,
    };
    let engine = Engine::load(&model, &load)?;
    let Some(lm) = engine.chat() else {
        bail!("internal error: a chat model loaded as something else");
    };
    let bytes = std::fs::metadata(&model.path).map(|m| m.len()).unwrap_or(0);
    if let Some(out) = &args.prompts_out {
        let ids = serde_json::json!({
            "short": dich::bench::prompt_ids(lm, &text, SHORT_PROMPT)?,
            "long": dich::bench::prompt_ids(lm, &text, LONG_PROMPT)?,
        });
        std::fs::write(out, ids.to_string())
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    let opts = BenchOptions {
        decode_tokens: args.decode_tokens,
        seed_lanes: args.lanes,
    };
    let name = model_ref(&model).name;
    let mut report = dich::bench::run(lm, &name, bytes, &text, &opts)?;
    if !args.no_seed {
        tracing::info!("translating {} (--lanes {})", input.name, args.lanes);
        let topts = TranslateOptions {
            lanes: args.lanes,
            ..TranslateOptions::default()
        };
        let t = Instant::now();
        translate_document(
            &engine,
            LangPair::from_source(Lang::Vi),
            &topts,
            &input,
            &|_| {},
        )?;
        report.seed_wall_s = Some(dich::util::num::round_to(t.elapsed().as_secs_f64(), 1));
        report.peak_rss_mb = dich::bench::peak_rss_mb();
    }
    if model.entry.is_some() && lm.model.device().is_cpu() {
        record(&name, &report);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

/// Keeps a catalog model's measured speeds for `dich models list`
/// (`<cache>/bench/<name>.json`). A failure to write is only reported.
fn record(name: &str, report: &dich::bench::BenchReport) {
    let path = dich::registry::Store::default()
        .home()
        .join("bench")
        .join(format!("{name}.json"));
    let written = std::fs::create_dir_all(path.parent().unwrap_or(std::path::Path::new(".")))
        .and_then(|_| {
            let json = serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?;
            dich::util::fs::write_atomic(&path, &json)
        });
    match written {
        Ok(()) => tracing::info!("recorded for `dich models list` in {}", path.display()),
        Err(e) => tracing::warn!("cannot record the results in {}: {e}", path.display()),
    }
}
