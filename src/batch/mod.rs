//! `dich batch`: translation (and summaries) over many documents, built to
//! survive crashes, kills and bad records, and to shard across machines.
//!
//! - [`input`] reads JSONL (file or stdin) or a directory of `.txt` files;
//!   bad records become error records with their line number.
//! - [`journal`] writes the output with a write-ahead part file and atomic
//!   renames, and resumes from what earlier runs finished.
//! - [`shard`] splits the input by a stable hash of record ids (`--shard
//!   K/N`, or `auto` from Slurm / Kubernetes).
//! - [`manifest`] records what made the output; [`merge`] joins shards.
//!
//! - [`record`] writes each record's output line; [`run`] processes the
//!   records, journaling each as it finishes; [`stop`] ends a run early on
//!   request (a signal), resumable.
//!
//! Models load once per process; each language pair's translator (a chat
//! model's instruction prefix, computed once) serves every document. Any
//! translation model works; records in a language pair the model does not
//! translate are reported as errors.

pub mod input;
pub mod journal;
pub mod manifest;
pub mod merge;
pub mod process;
pub mod record;
pub mod run;
pub mod schedule;
pub mod shard;
pub mod stop;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::input::InputError;
use crate::model::embedder::Embedder;
use crate::model::marian::WeightFormat;
use crate::summarize::SummaryOptions;
use crate::translate::{Engine, TranslateOptions};
use crate::types::{Lang, ModelRef};
use input::{BatchInput, Record, Work};
use journal::{Journal, Recovery};
use manifest::Manifest;
use shard::Shard;

/// What each record gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// The translation: segments with byte spans, flags and scores.
    Translate,
    /// The translation plus an aligned bilingual summary.
    Summarize,
}

/// How much of each segment a record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordFormat {
    /// Every segment field, as `dich translate --format json` writes them
    /// (source text, span, target, kind, paragraph, flags, scores).
    Full,
    /// Segments as id, span, target and flags only (the source is the
    /// input text at the span).
    Compact,
}

#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// A JSONL file, a directory of .txt files, or `-` (JSONL on stdin).
    pub input: String,
    pub output: PathBuf,
    pub task: Task,
    pub format: RecordFormat,
    /// Source language of records without `lang`; `None` detects it per record.
    pub lang: Option<Lang>,
    pub max_chars: usize,
    pub shard: Option<Shard>,
    /// Score each (source, target) pair with the embedder (always on for
    /// summaries, which need the scores).
    pub score: bool,
    /// Per-record timings in the output. Off gives byte-identical records
    /// across runs with greedy decoding.
    pub timings: bool,
    /// Run failed records of earlier runs again.
    pub retry_failed: bool,
    /// Consolidate the output this often (seconds); 0: only at the end.
    pub checkpoint_secs: u64,
    /// Documents in flight at once, their decoding batched (chat models);
    /// `None` chooses from the memory available (see
    /// [`schedule::auto_max_batch`]); 1 runs them one after another.
    /// Records are the same either way.
    pub max_batch: Option<usize>,
    /// Translation options; the language pair is set per record.
    pub translate: TranslateOptions,
    /// How the model's weights were loaded (recorded in the manifest).
    pub quantize: Option<WeightFormat>,
    pub summary: SummaryOptions,
    /// A request to stop early (set by a signal handler): no record starts
    /// after it, the ones in flight finish.
    pub stop: stop::Stop,
}

/// The loaded models a run uses.
pub struct Models<'a> {
    pub engine: &'a Engine,
    /// The embedder and its catalog reference (needed to score or summarize).
    pub embedder: Option<(&'a dyn Embedder, ModelRef)>,
}

/// A run that has read its input and opened its output.
pub struct Prepared {
    opts: BatchOptions,
    input: BatchInput,
    journal: Journal,
    recovery: Recovery,
    order: HashMap<String, usize>,
    selected: Vec<usize>,
    todo: Vec<usize>,
    manifest_path: PathBuf,
    previous: Option<Manifest>,
    started: SystemTime,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub input_records: usize,
    pub selected: usize,
    pub done_before: usize,
    pub processed: usize,
    pub ok: usize,
    pub failed: usize,
    /// Records in the output now, and how many of them are errors.
    pub written: usize,
    pub failed_total: usize,
    pub wall_s: f64,
    pub generated_tokens: usize,
    /// Records that went through the model (ok or failed there).
    pub documents: usize,
    pub documents_per_min: f64,
    pub generated_tokens_per_s: f64,
    pub output: PathBuf,
    pub manifest: PathBuf,
    /// The signal that stopped the run early (records left to do), if any.
    pub interrupted: Option<i32>,
}

impl Report {
    /// One line for stderr at the end of every run.
    pub fn line(&self) -> String {
        format!(
            "batch: {} of {} input records selected; {} already done; {} processed now ({} ok, {} failed) in {}; {} documents at {:.2} docs/min, {:.1} generated tok/s; {} has {} records ({} failed); manifest {}",
            self.selected,
            self.input_records,
            self.done_before,
            self.processed,
            self.ok,
            self.failed,
            hms(self.wall_s),
            self.documents,
            self.documents_per_min,
            self.generated_tokens_per_s,
            self.output.display(),
            self.written,
            self.failed_total,
            self.manifest.display()
        ) + &match self.interrupted {
            Some(sig) => format!(
                "; stopped early by {} (run the same command again to resume)",
                stop::signal_name(sig)
            ),
            None => String::new(),
        }
    }
}

fn hms(s: f64) -> String {
    let s = s.round() as u64;
    format!("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60)
}

/// Reads the input, selects this shard's records and opens the output
/// (taking its lock, recovering an interrupted run). Cheap: no model is
/// touched, so bad input and a locked or corrupt output fail at once.
pub fn prepare(opts: BatchOptions) -> Result<Prepared> {
    let started = SystemTime::now();
    if opts.input != "-" {
        let same = |a: &str, b: &std::path::Path| matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y);
        if same(&opts.input, &opts.output) {
            return Err(InputError::InvalidDocument {
                input: opts.output.display().to_string(),
                message: "is also the input; write the output to another file".into(),
            }
            .into());
        }
    }
    let input = input::read(&opts.input, opts.max_chars)?;
    if input.records.is_empty() {
        return Err(InputError::InvalidDocument {
            input: input.name.clone(),
            message: match input.kind {
                input::InputKind::Dir => "no .txt files in this directory".into(),
                _ => "no records: the input is empty or has only blank lines".into(),
            },
        }
        .into());
    }
    let order: HashMap<String, usize> = input
        .records
        .iter()
        .map(|r| (r.key.clone(), r.order))
        .collect();
    let dups: Vec<&Record> = input
        .records
        .iter()
        .filter(|r| matches!(&r.work, Err(e) if e.kind == "duplicate-id"))
        .collect();
    if let Some(first) = dups.first() {
        tracing::warn!(
            "{}: {} record(s) reuse an id already seen (e.g. {}); each is reported as a `duplicate-id` error, not merged",
            input.name,
            dups.len(),
            first.label()
        );
    }
    let selected: Vec<usize> = (0..input.records.len())
        .filter(|&i| opts.shard.is_none_or(|s| s.contains(&input.records[i].key)))
        .collect();
    let manifest_path = manifest::manifest_path(&opts.output);
    let previous = Manifest::load(&manifest_path)?;
    if let Some(dir) = opts.output.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
    }
    let (journal, recovery) = Journal::open(&opts.output, &order, opts.retry_failed)?;
    // A manifest beside an empty output describes nothing that could be
    // mixed: the run starts afresh.
    let previous = previous.filter(|_| !journal.is_empty());
    if let Some(prev) = &previous {
        if prev.shard != opts.shard {
            return Err(InputError::InvalidDocument {
                input: opts.output.display().to_string(),
                message: format!(
                    "this output belongs to shard {}, not {}; give each shard its own output",
                    prev.shard.map_or("(none)".into(), |s| s.to_string()),
                    opts.shard.map_or("(none)".into(), |s| s.to_string())
                ),
            }
            .into());
        }
    }
    if recovery.from_part > 0 || recovery.dropped_partial {
        tracing::info!(
            "{}: recovered {} record(s) written by an interrupted run",
            opts.output.display(),
            recovery.from_part
        );
    }
    if recovery.finished > 0 && previous.is_none() {
        tracing::warn!(
            "{} has {} records but no manifest ({}); resuming without checking that they were made with the same settings",
            opts.output.display(),
            recovery.finished,
            manifest_path.display()
        );
    }
    if let Some(prev) = &previous {
        if prev.input.sha256 != input.sha256 && recovery.finished > 0 {
            tracing::info!(
                "{}: the input changed since the last run; finished records are matched by id",
                input.name
            );
        }
    }
    let todo: Vec<usize> = selected
        .iter()
        .copied()
        .filter(|&i| !journal.is_done(&input.records[i].key))
        .collect();
    Ok(Prepared {
        opts,
        input,
        journal,
        recovery,
        order,
        selected,
        todo,
        manifest_path,
        previous,
        started,
    })
}

/// The source language of a usable record: its `lang`, else `--lang`, else
/// detected from the text.
fn source_lang(w: &Work, forced: Option<Lang>) -> Lang {
    w.lang
        .or(forced)
        .unwrap_or_else(|| crate::text::lang::detect(&w.text))
}
