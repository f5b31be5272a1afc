//! `dich batch`: many documents, resumable and shardable, with any
//! translation model; `dich batch merge` joins shard outputs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};

use crate::cli::args::{BatchRunArgs, GlobalArgs, MergeArgs};
use crate::cli::common::{load_embedder, model_ref, resolve_embedder, resolve_translator};
use crate::cli::options::{lang_or_auto, load_options, set_threads, TranslateFlags};
use crate::cli::{EXIT_FAILED_RECORDS, EXIT_INCOMPLETE};
use dich::batch::shard::{Shard, ShardError};
use dich::batch::{self, BatchOptions, Task};
use dich::model::device;
use dich::summarize::{check_method, Length, SummaryOptions};
use dich::translate::Engine;
use dich::types::{Lang, LangPair};

/// `--shard K/N` or `--shard auto`, with the flag in the message.
fn shard(spec: &str) -> Result<Shard> {
    Shard::parse(spec).map_err(|e| match e {
        ShardError::Spec { .. } => anyhow!("--shard: {e}"),
        ShardError::Environment(_) => anyhow!("--shard auto: {e}"),
        ShardError::NoScheduler => anyhow!("--shard auto: {e}; use --shard K/N"),
    })
}

fn options(
    args: &BatchRunArgs,
    input: String,
    output: String,
    shard: Option<Shard>,
) -> Result<BatchOptions> {
    let output = match shard {
        Some(s) => output
            .replace("{shard}", &s.index.to_string())
            .replace("{shards}", &s.count.to_string()),
        None if output.contains("{shard}") => {
            bail!("-o {output}: `{{shard}}` needs --shard")
        }
        None => output,
    };
    if args.sentences == 0 {
        bail!("--sentences must be at least 1");
    }
    if args.max_chars == 0 {
        bail!("--max-chars must be at least 1");
    }
    // A user glossary applies to Vietnamese -> English records.
    let translate = TranslateFlags {
        prompt: Some(&args.prompt),
        decode: &args.decode,
        lanes: args.lanes as usize,
        temperature: None,
        top_p: None,
        seed: args.seed,
    }
    .options(LangPair::from_source(Lang::Vi))?;
    Ok(BatchOptions {
        input,
        output: PathBuf::from(&output),
        task: args.task.into(),
        format: args.format.into(),
        lang: lang_or_auto(&args.lang, "--lang")?,
        max_chars: args.max_chars,
        shard,
        score: !args.no_score,
        timings: !args.no_timings,
        retry_failed: args.retry_failed,
        checkpoint_secs: args.checkpoint_secs,
        max_batch: args.max_batch.map(usize::from),
        translate,
        quantize: args.decode.quantize()?,
        summary: SummaryOptions {
            method: args.method.into(),
            length: Length::Sentences(args.sentences),
            ..SummaryOptions::default()
        },
        stop: Default::default(),
    })
}

pub fn run(g: &GlobalArgs, args: BatchRunArgs) -> Result<ExitCode> {
    let (Some(input), Some(output)) = (args.input.clone(), args.output.clone()) else {
        bail!("dich batch needs INPUT and -o OUTPUT");
    };
    set_threads(args.runtime.threads)?;
    let shard = args.shard.as_deref().map(shard).transpose()?;
    let opts = options(&args, input, output.clone(), shard)?;
    on_signals(&opts.stop)?;
    // Input and output first: a bad input file or a locked output fails in
    // milliseconds, before any model is fetched or loaded.
    let prepared = batch::prepare(opts.clone())?;
    if let Some(s) = shard {
        tracing::info!("shard {s}: {} of the input's records", prepared.selected());
    }
    tracing::info!(
        "{}: {} records to do, {} already in {}",
        prepared.input_name(),
        prepared.todo(),
        prepared.recovery().finished,
        opts.output.display()
    );
    let report = if prepared.needs_models() {
        device::select(&args.runtime.device)?;
        let paths = resolve_translator(g, args.runtime.model.as_deref())?;
        let load = load_options(&args.runtime, &args.decode)?;
        Engine::check(&paths, None, &opts.translate, &load)?;
        if opts.task == Task::Summarize {
            check_method(&paths.name, Engine::kind_of(&paths), opts.summary.method)?;
        }
        let engine = Engine::load(&paths, &load)?;
        let needs_embedder = opts.score || opts.task == Task::Summarize;
        let emb_paths = if needs_embedder {
            Some(resolve_embedder(g, args.embedder.as_deref())?)
        } else {
            None
        };
        let embedder = match &emb_paths {
            Some(p) => Some(load_embedder(p, &device::select(&args.runtime.device)?)?),
            None => None,
        };
        let models = batch::Models {
            engine: &engine,
            embedder: embedder
                .as_ref()
                .zip(emb_paths.as_ref())
                .map(|(e, p)| (e as &dyn dich::model::embedder::Embedder, model_ref(p))),
        };
        prepared.run(Some(&models))?
    } else {
        prepared.run(None)?
    };
    // The one-line summary is the run's result for humans: always printed.
    eprintln!("{}", report.line());
    Ok(if let Some(sig) = report.interrupted {
        // 128 + the signal, as a shell reports a process it ended (130 for
        // SIGINT, 143 for SIGTERM).
        ExitCode::from((128 + sig).clamp(0, 255) as u8)
    } else if report.failed_total > 0 {
        ExitCode::from(EXIT_FAILED_RECORDS)
    } else {
        ExitCode::SUCCESS
    })
}

/// SIGINT and SIGTERM: the first asks the run to stop (`stop`: no record
/// starts after it, the ones in flight finish and are journaled, the
/// manifest is written, exit 130 or 143); a second ends the process at
/// once with that code (finished records are safe in the journal either
/// way).
fn on_signals(stop: &dich::batch::stop::Stop) -> Result<()> {
    #[cfg(unix)]
    {
        use anyhow::Context as _;
        use signal_hook::consts::{SIGINT, SIGTERM};
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        let again = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&again))
                .context("installing a signal handler")?;
            signal_hook::flag::register(sig, Arc::clone(&again))
                .context("installing a signal handler")?;
            signal_hook::flag::register_usize(sig, Arc::clone(stop.flag()), sig as usize)
                .context("installing a signal handler")?;
        }
    }
    #[cfg(not(unix))]
    let _ = stop;
    Ok(())
}

pub fn merge(args: MergeArgs) -> Result<ExitCode> {
    let opts = dich::batch::merge::MergeOptions {
        shards: args.shards,
        output: args.output.clone(),
        input: args.input.clone(),
        allow_gaps: args.allow_gaps,
    };
    let report = dich::batch::merge::merge(&opts)?;
    if !report.complete() {
        eprint!("{}", report.describe(20));
        if args.input.is_none() {
            eprintln!("(give --input INPUT to check against the input the shards ran over and list the missing records)");
        }
    }
    eprintln!(
        "merge: {} records ({} failed) from {} shard output(s){}; {}",
        report.records,
        report.failed,
        opts.shards.len(),
        if report.checked_against_input {
            ", checked against the input"
        } else {
            ", checked against the shard manifests"
        },
        if report.written {
            format!("wrote {}", args.output.display())
        } else {
            "nothing written (use --allow-gaps to write anyway)".to_string()
        }
    );
    Ok(if !report.complete() {
        ExitCode::from(EXIT_INCOMPLETE)
    } else if report.failed > 0 {
        ExitCode::from(EXIT_FAILED_RECORDS)
    } else {
        ExitCode::SUCCESS
    })
}
