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
//! Models load once per process; each language pair's instruction prefix
//! is computed once and reused for every document.

pub mod input;
pub mod journal;
pub mod manifest;
pub mod merge;
pub mod shard;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::backend::embedder::Embedder;
use crate::backend::LoadedLm;
use crate::error::{Error, Result};
use crate::models::ModelPaths;
use crate::output::{ModelRef, SegmentOut, TranslationDocument};
use crate::summarize::{Length, Method, Summary, SummaryOptions};
use crate::translate::{Lang, TranslateOptions, Translator};
use input::{BatchInput, Record, RecordError, Work};
use journal::{Journal, Recovery};
use manifest::{Counts, InputInfo, Manifest, RunInfo};
use shard::Shard;

/// What each record gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// The translation: segments with byte spans, flags and scores.
    Translate,
    /// The translation plus an aligned bilingual summary.
    Summarize,
}

/// How much of each segment a record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
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
    /// Decoding and context options; `from`/`to` are set per record.
    pub translate: TranslateOptions,
    pub summary: SummaryOptions,
}

/// The loaded models a run uses.
pub struct Models<'a> {
    pub lm: &'a LoadedLm,
    pub lm_paths: &'a ModelPaths,
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
        )
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
            return Err(Error::InvalidDocument {
                input: opts.output.display().to_string(),
                message: "is also the input; write the output to another file".into(),
            });
        }
    }
    let input = input::read(&opts.input, opts.max_chars)?;
    if input.records.is_empty() {
        return Err(Error::InvalidDocument {
            input: input.name.clone(),
            message: match input.kind {
                input::InputKind::Dir => "no .txt files in this directory".into(),
                _ => "no records: the input is empty or has only blank lines".into(),
            },
        });
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
            return Err(Error::InvalidDocument {
                input: opts.output.display().to_string(),
                message: format!(
                    "this output belongs to shard {}, not {}; give each shard its own output",
                    prev.shard.map_or("(none)".into(), |s| s.to_string()),
                    opts.shard.map_or("(none)".into(), |s| s.to_string())
                ),
            });
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

fn other(l: Lang) -> Lang {
    match l {
        Lang::Vi => Lang::En,
        Lang::En => Lang::Vi,
    }
}

/// Input fields that would collide with what dich writes are kept under
/// `input_fields` instead.
const RESERVED: [&str; 10] = [
    "id",
    "line",
    "input_fields",
    "source_lang",
    "target_lang",
    "translation",
    "segments",
    "summary",
    "error",
    "timings",
];

#[derive(Serialize)]
struct OutRecord<'a> {
    id: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(flatten)]
    fields: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_fields: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_lang: Option<Lang>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_lang: Option<Lang>,
    #[serde(skip_serializing_if = "Option::is_none")]
    translation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    segments: Option<Segments<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a RecordError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timings: Option<Timings>,
}

/// Per-record timings (seconds) and token counts.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    pub wall_s: f64,
    pub translate_s: f64,
    pub score_s: f64,
    pub summarize_s: f64,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prompt_s: f64,
    pub generate_s: f64,
}

struct Processed {
    doc: TranslationDocument,
    summary: Option<Summary>,
    timings: Timings,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Segments<'a> {
    Full(&'a [SegmentOut]),
    Compact(Vec<CompactSegment<'a>>),
}

#[derive(Serialize)]
struct CompactSegment<'a> {
    id: usize,
    source_span: [usize; 2],
    target: &'a str,
    flags: &'a [String],
}

/// The output line of a record (JSON, no newline).
fn render(
    rec: &Record,
    result: &std::result::Result<Processed, RecordError>,
    opts: &BatchOptions,
) -> String {
    let mut fields = Map::new();
    let mut moved = Map::new();
    for (k, v) in &rec.fields {
        if RESERVED.contains(&k.as_str()) {
            moved.insert(k.clone(), v.clone());
        } else {
            fields.insert(k.clone(), v.clone());
        }
    }
    let null = Value::Null;
    let mut out = OutRecord {
        id: rec.id.as_ref().unwrap_or(&null),
        line: rec.line,
        fields,
        input_fields: (!moved.is_empty()).then_some(moved),
        source_lang: None,
        target_lang: None,
        translation: None,
        segments: None,
        summary: None,
        error: None,
        timings: None,
    };
    match result {
        Ok(p) => {
            out.source_lang = Some(p.doc.source_lang);
            out.target_lang = Some(p.doc.target_lang);
            out.translation = Some(p.doc.to_text().trim_end_matches('\n').to_string());
            out.segments = Some(match opts.format {
                RecordFormat::Full => Segments::Full(&p.doc.segments),
                RecordFormat::Compact => Segments::Compact(
                    p.doc
                        .segments
                        .iter()
                        .map(|s| CompactSegment {
                            id: s.id,
                            source_span: s.source_span,
                            target: &s.target,
                            flags: &s.flags,
                        })
                        .collect(),
                ),
            });
            out.summary = p.summary.as_ref();
            out.timings = opts.timings.then_some(p.timings);
        }
        Err(e) => out.error = Some(e),
    }
    // Maps of strings and numbers always serialize.
    serde_json::to_string(&out).unwrap_or_default()
}

fn record_error(rec: &Record, e: Error) -> RecordError {
    let label = rec.label();
    match e {
        Error::NothingToTranslate { .. } => RecordError::new(
            "nothing-to-translate",
            format!("{label}: no text to translate was found"),
        ),
        Error::NothingToSummarize => RecordError::new(
            "nothing-to-summarize",
            format!("{label}: no sentence to summarize (only headings, bylines or captions)"),
        ),
        Error::ContextOverflow { .. } => RecordError::new("too-long", format!("{label}: {e}")),
        other => RecordError::new("failed", format!("{label}: {other}")),
    }
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

impl Prepared {
    /// Whether any record still to do needs the models (error records do not).
    pub fn needs_models(&self) -> bool {
        self.todo
            .iter()
            .any(|&i| self.input.records[i].work.is_ok())
    }

    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    pub fn input_name(&self) -> &str {
        &self.input.name
    }

    pub fn todo(&self) -> usize {
        self.todo.len()
    }

    pub fn selected(&self) -> usize {
        self.selected.len()
    }

    fn settings(&self, models: Option<&Models>) -> Value {
        let o = &self.opts;
        let t = &o.translate;
        let (translator, embedder) = match models {
            Some(m) => (
                serde_json::json!({"name": m.lm_paths.name, "sha256": m.lm_paths.sha256}),
                m.embedder
                    .as_ref()
                    .map(|(_, r)| serde_json::json!({"name": r.name, "sha256": r.sha256}))
                    .unwrap_or(Value::Null),
            ),
            // Nothing will be produced: the earlier run's models stand.
            None => match &self.previous {
                Some(p) => (
                    p.settings.get("translator").cloned().unwrap_or_default(),
                    p.settings.get("embedder").cloned().unwrap_or_default(),
                ),
                None => (Value::Null, Value::Null),
            },
        };
        let summary = (o.task == Task::Summarize).then(|| {
            serde_json::json!({
                "method": o.summary.method,
                "sentences": match o.summary.length { Length::Sentences(k) => Some(k), _ => None },
                "ratio": match o.summary.length { Length::Ratio(r) => Some(r), _ => None },
            })
        });
        let mut settings = serde_json::json!({
            "task": o.task,
            "format": o.format,
            "translator": translator,
            "embedder": embedder,
            "score": o.score || o.task == Task::Summarize,
            "lang": o.lang.map(|l| l.code()),
            "context": t.context,
            "temperature": t.temperature,
            "top_p": t.top_p,
            "seed": t.seed,
            "summary": summary,
            "timings": o.timings,
        });
        // Only when set, so manifests written before lanes existed still match.
        if t.lanes > 1 {
            settings["lanes"] = serde_json::json!(t.lanes);
        }
        settings
    }

    fn manifest(&self, settings: &Value, runs: Vec<RunInfo>, complete: bool) -> Manifest {
        let ok_failed = self.journal.failed();
        Manifest {
            dich_version: env!("CARGO_PKG_VERSION").to_string(),
            status: if complete { "complete" } else { "running" }.into(),
            output: self.opts.output.display().to_string(),
            input: InputInfo {
                path: self.input.name.clone(),
                kind: self.input.kind,
                sha256: self.input.sha256.clone(),
                records: self.input.records.len(),
            },
            shard: self.opts.shard,
            settings: settings.clone(),
            options: serde_json::json!({
                "max_chars": self.opts.max_chars,
                "retry_failed": self.opts.retry_failed,
                "checkpoint_secs": self.opts.checkpoint_secs,
            }),
            counts: Counts {
                input: self.input.records.len(),
                selected: self.selected.len(),
                written: self.journal.len(),
                ok: self.journal.len() - ok_failed,
                failed: ok_failed,
            },
            started: self
                .previous
                .as_ref()
                .map(|p| p.started.clone())
                .unwrap_or_else(|| manifest::timestamp(self.started)),
            ended: complete.then(|| manifest::timestamp(SystemTime::now())),
            runs,
        }
    }

    /// Processes every record still to do, appending each result as soon
    /// as it is finished. `models` may be `None` only when
    /// [`Self::needs_models`] is false.
    pub fn run(mut self, models: Option<&Models>) -> Result<Report> {
        let start = Instant::now();
        if self.needs_models() && models.is_none() {
            return Err(Error::Internal("batch run without models".into()));
        }
        if self.opts.task == Task::Summarize
            && self.needs_models()
            && models.is_some_and(|m| m.embedder.is_none())
        {
            return Err(Error::Internal("summaries need the embedder".into()));
        }
        let settings = self.settings(models);
        let mut runs = Vec::new();
        if let Some(prev) = &self.previous {
            let diff = manifest::settings_diff(&prev.settings, &settings);
            if !diff.is_empty() && !self.todo.is_empty() {
                return Err(Error::InvalidDocument {
                    input: self.opts.output.display().to_string(),
                    message: format!(
                        "was made with other settings, so resuming would mix records made differently:\n  {}\nUse another output path, or the settings of the earlier run",
                        diff.join("\n  ")
                    ),
                });
            }
            runs = prev.runs.clone();
        }
        let done_before = self.journal.len();
        runs.push(RunInfo {
            started: manifest::timestamp(SystemTime::now()),
            host: manifest::hostname(),
            done_before,
            ..RunInfo::default()
        });
        self.manifest(&settings, runs.clone(), false)
            .save(&self.manifest_path)?;

        // Errors first (instant), then the documents grouped by language
        // pair and longest first: memory peaks show early, and each pair's
        // translator (with its cached prefix) serves a contiguous stretch.
        let mut todo = std::mem::take(&mut self.todo);
        let forced = self.opts.lang;
        let recs = &self.input.records;
        todo.sort_by_key(|&i| match &recs[i].work {
            Err(_) => (0u8, 0u8, 0usize, recs[i].order),
            Ok(w) => (
                1,
                source_lang(w, forced) as u8,
                usize::MAX - w.text.len(),
                recs[i].order,
            ),
        });
        let total_chars: u64 = todo
            .iter()
            .filter_map(|&i| recs[i].work.as_ref().ok())
            .map(|w| w.text.chars().count() as u64)
            .sum();
        let bar = crate::progress::batch(total_chars.max(1));
        bar.set_message(format!("0/{}", todo.len()));
        let mut translators: HashMap<(Lang, Lang), Translator> = HashMap::new();
        let mut c = RunCounters::default();
        let mut last_checkpoint = Instant::now();
        let todo_len = todo.len();
        for &i in &todo {
            let rec = &self.input.records[i];
            let t0 = Instant::now();
            let result = match &rec.work {
                Err(e) => Err(e.clone()),
                Ok(w) => {
                    let models = models.ok_or_else(|| Error::Internal("no models".into()))?;
                    // Within a long document the bar shows its segments.
                    let segments = std::sync::Mutex::new((0usize, 0usize));
                    let base = bar.message();
                    let on_segment = |ev: crate::pipeline::ProgressEvent| {
                        let mut seg = segments.lock().unwrap_or_else(|p| p.into_inner());
                        let (done, n) = *seg;
                        let now = match ev {
                            crate::pipeline::ProgressEvent::Start(n) => (0, n),
                            crate::pipeline::ProgressEvent::Segment => (done + 1, n),
                        };
                        *seg = now;
                        drop(seg);
                        if !bar.is_hidden() {
                            bar.set_message(format!("{base} · seg {}/{}", now.0, now.1));
                        }
                    };
                    let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        process(models, &mut translators, rec, w, &self.opts, &on_segment)
                    }));
                    match run {
                        Ok(r) => r,
                        Err(panic) => {
                            let what = panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default();
                            // A panic may leave a translator half-way; start over.
                            translators.clear();
                            Err(RecordError::new(
                                "internal",
                                format!(
                                    "{}: dich failed unexpectedly ({what}); please report this",
                                    rec.label()
                                ),
                            ))
                        }
                    }
                }
            };
            let line = render(rec, &result, &self.opts);
            self.journal.append(&rec.key, &line, result.is_err())?;
            c.processed += 1;
            if let Ok(w) = &rec.work {
                c.documents += 1;
                bar.inc(w.text.chars().count() as u64);
            }
            let elapsed = start.elapsed().as_secs_f64().max(1e-9);
            match &result {
                Ok(p) => {
                    c.generated += p.timings.generated_tokens;
                    c.prompt += p.timings.prompt_tokens;
                    c.generate_s += p.timings.generate_s;
                    if bar.is_hidden() {
                        tracing::info!(
                            "[{}/{todo_len}] {}: {} segments, {} tokens generated in {:.1}s",
                            c.processed,
                            rec.label(),
                            p.doc.segments.len(),
                            p.timings.generated_tokens,
                            t0.elapsed().as_secs_f64()
                        );
                    }
                }
                Err(e) => {
                    c.failed += 1;
                    bar.suspend(|| tracing::warn!("{} ({})", e.message, e.kind));
                }
            }
            bar.set_message(format!(
                "{}/{todo_len} · {:.1} docs/min · {:.1} tok/s · {} failed",
                c.processed,
                c.documents as f64 * 60.0 / elapsed,
                c.generated as f64 / elapsed,
                c.failed
            ));
            if self.opts.checkpoint_secs > 0
                && last_checkpoint.elapsed().as_secs() >= self.opts.checkpoint_secs
            {
                self.journal.checkpoint(&self.order)?;
                // A run that is killed later keeps these counts.
                if let Some(run) = runs.last_mut() {
                    c.fill(run, secs(start.elapsed()));
                }
                self.manifest(&settings, runs.clone(), false)
                    .save(&self.manifest_path)?;
                last_checkpoint = Instant::now();
            }
        }
        bar.finish_and_clear();
        let complete = self
            .selected
            .iter()
            .all(|&i| self.journal.is_done(&self.input.records[i].key));
        let wall_s = secs(start.elapsed());
        if let Some(run) = runs.last_mut() {
            run.ended = Some(manifest::timestamp(SystemTime::now()));
            c.fill(run, wall_s);
        }
        let order = std::mem::take(&mut self.order);
        let written = self.journal.len();
        let failed_total = self.journal.failed();
        let manifest = self.manifest(&settings, runs.clone(), complete);
        let Prepared {
            journal,
            manifest_path,
            opts,
            input,
            selected,
            ..
        } = self;
        journal.finish(&order)?;
        manifest.save(&manifest_path)?;
        Ok(Report {
            input_records: input.records.len(),
            selected: selected.len(),
            done_before,
            processed: c.processed,
            ok: c.processed - c.failed,
            failed: c.failed,
            written,
            failed_total,
            wall_s,
            generated_tokens: c.generated,
            documents: c.documents,
            documents_per_min: rate(c.documents as f64 * 60.0, wall_s),
            generated_tokens_per_s: rate(c.generated as f64, wall_s),
            output: opts.output,
            manifest: manifest_path,
        })
    }
}

/// A run's running totals, written into its manifest entry.
#[derive(Default)]
struct RunCounters {
    /// Records written, and how many of them are errors.
    processed: usize,
    failed: usize,
    /// Records that went through the model (input errors take no time).
    documents: usize,
    prompt: usize,
    generated: usize,
    generate_s: f64,
}

impl RunCounters {
    fn fill(&self, run: &mut RunInfo, wall_s: f64) {
        run.processed = self.processed;
        run.failed = self.failed;
        run.wall_s = wall_s;
        run.documents = self.documents;
        run.documents_per_min = round2(rate(self.documents as f64 * 60.0, wall_s));
        run.prompt_tokens = self.prompt;
        run.generated_tokens = self.generated;
        run.generated_tokens_per_s = round2(rate(self.generated as f64, wall_s));
        run.decode_tokens_per_s = round2(rate(self.generated as f64, self.generate_s));
    }
}

/// `n / s`, or 0 for an empty interval.
fn rate(n: f64, s: f64) -> f64 {
    if s > 0.0 {
        n / s
    } else {
        0.0
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Translates (and scores, and summarizes) one record.
fn process<'a>(
    models: &Models<'a>,
    translators: &mut HashMap<(Lang, Lang), Translator<'a>>,
    rec: &Record,
    w: &Work,
    opts: &BatchOptions,
    progress: &(dyn Fn(crate::pipeline::ProgressEvent) + Sync),
) -> std::result::Result<Processed, RecordError> {
    let from = source_lang(w, opts.lang);
    let to = other(from);
    let translator = match translators.entry((from, to)) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => {
            let t = Translator::new(
                models.lm,
                TranslateOptions {
                    from,
                    to,
                    ..opts.translate.clone()
                },
            )
            .map_err(|e| record_error(rec, e))?;
            v.insert(t)
        }
    };
    // The prefix is a per-process cost, not this record's.
    let start = Instant::now();
    let t_start = Instant::now();
    let input = crate::input::Input {
        name: rec.label(),
        text: w.text.clone(),
    };
    let mut doc = crate::pipeline::translate_with(translator, models.lm_paths, &input, progress)
        .map_err(|e| record_error(rec, e))?;
    let translate_s = secs(t_start.elapsed());
    let summarize = opts.task == Task::Summarize;
    let t_score = Instant::now();
    if opts.score || summarize {
        if let Some((embedder, r)) = &models.embedder {
            crate::pipeline::score_translation(*embedder, r.clone(), &mut doc)
                .map_err(|e| record_error(rec, e))?;
        }
    }
    let score_s = secs(t_score.elapsed());
    let t_sum = Instant::now();
    let summary = match (&models.embedder, summarize) {
        (Some((embedder, _)), true) => Some(
            crate::pipeline::summarize_documents(
                (opts.summary.method == Method::Abstractive).then_some(models.lm),
                *embedder,
                std::slice::from_ref(&doc),
                &opts.summary,
                opts.translate.seed,
            )
            .map_err(|e| record_error(rec, e))?,
        ),
        _ => None,
    };
    let summarize_s = secs(t_sum.elapsed());
    let s = &doc.stats;
    let timings = Timings {
        wall_s: secs(start.elapsed()),
        translate_s,
        score_s,
        summarize_s,
        prompt_tokens: s.prompt_tokens,
        generated_tokens: s.generated_tokens,
        prompt_s: s.prompt_s,
        generate_s: s.generate_s,
    };
    Ok(Processed {
        doc,
        summary,
        timings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_records_keep_id_line_and_fields() {
        let bytes = b"{\"id\": \"x\", \"text\": \"\", \"source\": \"vnexpress\", \"error\": 1}\n";
        let inp = input::parse_jsonl("in", input::InputKind::Jsonl, bytes, 100);
        let rec = &inp.records[0];
        let opts = BatchOptions {
            input: "in".into(),
            output: "o.jsonl".into(),
            task: Task::Translate,
            format: RecordFormat::Full,
            lang: None,
            max_chars: 100,
            shard: None,
            score: true,
            timings: true,
            retry_failed: false,
            checkpoint_secs: 0,
            translate: TranslateOptions::default(),
            summary: SummaryOptions::default(),
        };
        let result = Err(rec.work.clone().unwrap_err());
        let line = render(rec, &result, &opts);
        assert_eq!(
            line,
            r#"{"id":"x","line":1,"source":"vnexpress","input_fields":{"error":1},"error":{"kind":"empty-text","message":"line 1: the text is empty or only whitespace"}}"#
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(journal::record_key(&v), Some(("id:x".to_string(), true)));
    }
}
