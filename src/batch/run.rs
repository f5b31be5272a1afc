//! Running a prepared batch: every record still to do goes through the
//! pipeline (translate, score, summarize) and is journaled as soon as it is
//! finished; the manifest records the settings and each run's counts.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::time::{Instant, SystemTime};

use serde_json::Value;

use super::input::{Record, RecordError, Work};
use super::manifest::{self, Counts, InputInfo, Manifest, RunInfo};
use super::process::{complete_record, panic_error, secs, translate_record};
use super::record::{record_error, render, Processed};
use super::{schedule, source_lang, BatchOptions, Models, Prepared, Recovery, Report, Task};
use crate::error::{Error, Result};
use crate::input::InputError;
use crate::model::batcher::BatchStats;
use crate::summarize::Length;
use crate::translate::{ProgressEvent, Translator};
use crate::types::LangPair;
use crate::util::num::{rate, round_to};

/// The translators made so far, one per language pair.
type Translators<'a> = HashMap<LangPair, Box<dyn Translator + 'a>>;

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

    /// What made the records: compared with an earlier run's before resuming.
    fn settings(&self, models: Option<&Models>) -> Value {
        let o = &self.opts;
        let t = &o.translate;
        let (translator, embedder) = match models {
            Some(m) => (
                serde_json::json!({"name": m.engine.model.name, "sha256": m.engine.model.sha256}),
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
        let d = &t.decoding;
        let mut settings = serde_json::json!({
            "task": o.task,
            "format": o.format,
            "translator": translator,
            "embedder": embedder,
            "score": o.score || o.task == Task::Summarize,
            "lang": o.lang.map(|l| l.code()),
            "context": t.prompt.context,
            "temperature": d.temperature,
            "top_p": d.top_p,
            "seed": d.seed,
            "summary": summary,
            "timings": o.timings,
        });
        // Only when set, so manifests written before these settings existed
        // still match.
        let optional = [
            ("lanes", (t.lanes > 1).then(|| serde_json::json!(t.lanes))),
            ("beam", d.beam.map(|v| serde_json::json!(v))),
            ("n_best", d.n_best.map(|v| serde_json::json!(v))),
            (
                "length_penalty",
                d.length_penalty.map(|v| serde_json::json!(v)),
            ),
            ("max_length", d.max_length.map(|v| serde_json::json!(v))),
            (
                "no_repeat_ngram",
                d.no_repeat_ngram.map(|v| serde_json::json!(v)),
            ),
            (
                "repetition_penalty",
                d.repetition_penalty.map(|v| serde_json::json!(v)),
            ),
            (
                "batch_sentences",
                t.batch_sentences.map(|v| serde_json::json!(v)),
            ),
            (
                "quantize",
                o.quantize.map(|q| serde_json::json!(q.as_str())),
            ),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                settings[key] = v;
            }
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
                "max_batch": self.opts.max_batch,
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

    /// The runs recorded so far plus this one, after checking that this
    /// run's settings are those of the earlier runs of the same output.
    fn begin(&self, settings: &Value) -> Result<Vec<RunInfo>> {
        let mut runs = Vec::new();
        if let Some(prev) = &self.previous {
            let diff = manifest::settings_diff(&prev.settings, settings);
            if !diff.is_empty() && !self.todo.is_empty() {
                return Err(InputError::InvalidDocument {
                    input: self.opts.output.display().to_string(),
                    message: format!(
                        "was made with other settings, so resuming would mix records made differently:\n  {}\nUse another output path, or the settings of the earlier run",
                        diff.join("\n  ")
                    ),
                }
                .into());
            }
            runs = prev.runs.clone();
        }
        runs.push(RunInfo {
            started: manifest::timestamp(SystemTime::now()),
            host: manifest::hostname(),
            done_before: self.journal.len(),
            ..RunInfo::default()
        });
        Ok(runs)
    }

    /// The records to do in processing order: errors first (instant), then
    /// the documents grouped by language pair and longest first, so memory
    /// peaks show early and each pair's translator serves a contiguous
    /// stretch.
    fn ordered_todo(&mut self) -> Vec<usize> {
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
        todo
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
        let mut runs = self.begin(&settings)?;
        let done_before = self.journal.len();
        self.manifest(&settings, runs.clone(), false)
            .save(&self.manifest_path)?;

        let todo = self.ordered_todo();
        let total_chars: u64 = todo
            .iter()
            .filter_map(|&i| self.input.records[i].work.as_ref().ok())
            .map(|w| w.text.chars().count() as u64)
            .sum();
        let bar = crate::util::progress::batch(total_chars.max(1));
        bar.set_message(format!("0/{}", todo.len()));
        let mut tally = Tally {
            c: RunCounters::default(),
            runs: &mut runs,
            settings: &settings,
            last_checkpoint: Instant::now(),
            checkpoint_s: 0.0,
            bar: &bar,
            start,
            todo_len: todo.len(),
        };
        let plan = match models {
            Some(m) => self.plan(m, &todo).map(|p| (m, p)),
            None => None,
        };
        if let Some((m, (bases, max_batch))) = plan {
            let model = m
                .engine
                .chat()
                .ok_or_else(|| Error::Internal("batched run without a chat model".into()))?
                .model
                .as_ref();
            let records = std::sync::Arc::clone(&self.input.records);
            let opts = self.opts.clone();
            tally.c.max_batch = Some(max_batch);
            let stats = schedule::run_batched(
                m,
                &bases,
                model,
                records,
                &todo,
                &opts,
                max_batch,
                |f, stats| {
                    tally.c.passes = Some(stats.clone());
                    self.record_done(f.index, f.result, f.t0, &mut tally)
                },
            )?;
            tracing::info!(
                "batched decoding: {} forward passes of {:.2} documents and {:.1} token rows on average (at most {max_batch} documents), {:.1}s in them: {} with prompts ({} prompt tokens, {:.1}s), {} of decoding steps only ({:.1}s)",
                stats.passes,
                stats.mean_batch(),
                stats.rows as f64 / stats.passes.max(1) as f64,
                stats.forward_s,
                stats.prompt_passes,
                stats.prompt_rows,
                stats.prompt_s,
                stats.passes - stats.prompt_passes,
                stats.forward_s - stats.prompt_s
            );
            tally.c.passes = Some(stats);
        } else {
            let mut translators: Translators = HashMap::new();
            for &i in &todo {
                if self.opts.stop.requested().is_some() {
                    break;
                }
                let rec = &self.input.records[i];
                let t0 = Instant::now();
                let result = match &rec.work {
                    Err(e) => Err(e.clone()),
                    Ok(w) => {
                        let models = models.ok_or_else(|| Error::Internal("no models".into()))?;
                        guarded(models, &mut translators, rec, w, &self.opts, &bar)
                    }
                };
                self.record_done(i, result, t0, &mut tally)?;
            }
        }
        let c = tally.c;
        bar.finish_and_clear();
        let interrupted = self.opts.stop.requested();
        if let Some(sig) = interrupted {
            tracing::warn!(
                "{}: stopped after {} of {} records; the ones in flight finished and are in the output",
                super::stop::signal_name(sig),
                c.processed,
                todo.len()
            );
        }
        self.finish(settings, runs, c, done_before, start, interrupted)
    }

    /// Whether to run the records batched, and how many at once: with a
    /// chat model, two documents or more to do, and a batch size above 1
    /// (given, or chosen from the memory available). The translators
    /// (one per language pair) are made here.
    fn plan<'a>(&self, m: &Models<'a>, todo: &[usize]) -> Option<(schedule::Bases<'a>, usize)> {
        let records = &self.input.records;
        let docs = todo.iter().filter(|&&i| records[i].work.is_ok()).count();
        if docs < 2 || self.opts.max_batch == Some(1) {
            return None;
        }
        m.engine.chat()?;
        let bases = schedule::bases(m, records, todo, &self.opts)?;
        let max_batch = match self.opts.max_batch {
            Some(n) => n,
            None => {
                let seq = bases
                    .values()
                    .map(|t| t.sequence_bytes())
                    .max()
                    .unwrap_or(0);
                let n = schedule::auto_max_batch(seq, crate::util::mem_available_bytes());
                tracing::info!(
                    "up to {n} documents in flight (key/value caches up to {} MB each)",
                    seq >> 20
                );
                n
            }
        };
        let max_batch = max_batch.min(docs);
        (max_batch > 1).then_some((bases, max_batch))
    }

    /// Journals a finished record, counts it, and checkpoints when due.
    fn record_done(
        &mut self,
        i: usize,
        result: std::result::Result<Processed, RecordError>,
        t0: Instant,
        t: &mut Tally,
    ) -> Result<()> {
        let rec = &self.input.records[i];
        let line = render(rec, &result, &self.opts);
        if rec.work.is_err() {
            // An input error is made again in microseconds: synced with
            // the next record that is not one.
            self.journal
                .append_deferred(&rec.key, &line, result.is_err())?;
        } else {
            self.journal.append(&rec.key, &line, result.is_err())?;
        }
        t.c.count(rec, &result, t.bar, t0, t.start, t.todo_len);
        // A checkpoint rewrites the whole output: at most every
        // `checkpoint_secs`, and never more often than 20 times its own
        // duration, so that checkpoints take at most 5% of a run however
        // large the output grows (not a cost growing with its square).
        let due = (self.opts.checkpoint_secs as f64).max(20.0 * t.checkpoint_s);
        if self.opts.checkpoint_secs > 0 && t.last_checkpoint.elapsed().as_secs_f64() >= due {
            let began = Instant::now();
            self.journal.checkpoint(&self.order)?;
            t.checkpoint_s = began.elapsed().as_secs_f64();
            // A run that is killed later keeps these counts.
            if let Some(run) = t.runs.last_mut() {
                t.c.fill(run, secs(t.start.elapsed()));
            }
            self.manifest(t.settings, t.runs.clone(), false)
                .save(&self.manifest_path)?;
            t.last_checkpoint = Instant::now();
        }
        Ok(())
    }

    /// Writes the final output and manifest.
    fn finish(
        mut self,
        settings: Value,
        mut runs: Vec<RunInfo>,
        c: RunCounters,
        done_before: usize,
        start: Instant,
        interrupted: Option<i32>,
    ) -> Result<Report> {
        let complete = self
            .selected
            .iter()
            .all(|&i| self.journal.is_done(&self.input.records[i].key));
        let wall_s = secs(start.elapsed());
        if let Some(run) = runs.last_mut() {
            run.ended = Some(manifest::timestamp(SystemTime::now()));
            c.fill(run, wall_s);
            run.interrupted = interrupted.map(super::stop::signal_name);
        }
        let order = std::mem::take(&mut self.order);
        let written = self.journal.len();
        let failed_total = self.journal.failed();
        let mut manifest = self.manifest(&settings, runs, complete);
        if interrupted.is_some() && !complete {
            // Ended on request, records left to do: resumable.
            manifest.status = "stopped".into();
        }
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
            interrupted: interrupted.filter(|_| !complete),
        })
    }
}

/// [`process`] with the bar showing a long document's segments, and a
/// panic turned into an `internal` error record (the rest go on).
fn guarded<'a>(
    models: &Models<'a>,
    translators: &mut Translators<'a>,
    rec: &Record,
    w: &Work,
    opts: &BatchOptions,
    bar: &indicatif::ProgressBar,
) -> std::result::Result<Processed, RecordError> {
    let segments = std::sync::Mutex::new((0usize, 0usize));
    let base = bar.message();
    let on_segment = |ev: ProgressEvent| {
        let mut seg = segments.lock().unwrap_or_else(|p| p.into_inner());
        let (done, n) = *seg;
        let now = match ev {
            ProgressEvent::Start(n) => (0, n),
            ProgressEvent::Segment => (done + 1, n),
        };
        *seg = now;
        drop(seg);
        if !bar.is_hidden() {
            bar.set_message(format!("{base} · seg {}/{}", now.0, now.1));
        }
    };
    let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
        process(models, translators, rec, w, opts, &on_segment)
    }));
    run.unwrap_or_else(|panic| {
        // A panic may leave a translator half-way; start over.
        translators.clear();
        Err(panic_error(rec, panic))
    })
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
    /// Batched runs: the most documents in flight, and the forward
    /// passes so far.
    max_batch: Option<usize>,
    passes: Option<BatchStats>,
}

/// What [`Prepared::record_done`] needs of the run in progress.
struct Tally<'r> {
    c: RunCounters,
    runs: &'r mut Vec<RunInfo>,
    settings: &'r Value,
    last_checkpoint: Instant,
    /// Seconds the last checkpoint took.
    checkpoint_s: f64,
    bar: &'r indicatif::ProgressBar,
    start: Instant,
    todo_len: usize,
}

impl RunCounters {
    /// Counts a finished record and tells the user about it.
    fn count(
        &mut self,
        rec: &Record,
        result: &std::result::Result<Processed, RecordError>,
        bar: &indicatif::ProgressBar,
        t0: Instant,
        start: Instant,
        todo_len: usize,
    ) {
        self.processed += 1;
        if let Ok(w) = &rec.work {
            self.documents += 1;
            bar.inc(w.text.chars().count() as u64);
        }
        let elapsed = start.elapsed().as_secs_f64().max(1e-9);
        match result {
            Ok(p) => {
                self.generated += p.timings.generated_tokens;
                self.prompt += p.timings.prompt_tokens;
                self.generate_s += p.timings.generate_s;
                if bar.is_hidden() {
                    tracing::info!(
                        "[{}/{todo_len}] {}: {} segments, {} tokens generated in {:.1}s",
                        self.processed,
                        rec.label(),
                        p.doc.segments.len(),
                        p.timings.generated_tokens,
                        t0.elapsed().as_secs_f64()
                    );
                }
            }
            Err(e) => {
                self.failed += 1;
                bar.suspend(|| tracing::warn!("{} ({})", e.message, e.kind));
            }
        }
        let batch = match (&self.passes, self.max_batch) {
            (Some(p), Some(max)) => format!(" · batch {:.1}/{max}", p.mean_batch()),
            _ => String::new(),
        };
        bar.set_message(format!(
            "{}/{todo_len} · {:.1} docs/min · {:.1} tok/s{batch} · {} failed",
            self.processed,
            self.documents as f64 * 60.0 / elapsed,
            self.generated as f64 / elapsed,
            self.failed
        ));
    }

    fn fill(&self, run: &mut RunInfo, wall_s: f64) {
        run.processed = self.processed;
        run.failed = self.failed;
        run.wall_s = wall_s;
        run.documents = self.documents;
        run.documents_per_min = round_to(rate(self.documents as f64 * 60.0, wall_s), 2);
        run.prompt_tokens = self.prompt;
        run.generated_tokens = self.generated;
        run.generated_tokens_per_s = round_to(rate(self.generated as f64, wall_s), 2);
        run.decode_tokens_per_s = round_to(rate(self.generated as f64, self.generate_s), 2);
        run.max_batch = self.max_batch;
        run.mean_batch = self.passes.as_ref().map(|p| round_to(p.mean_batch(), 2));
        run.forward_passes = self.passes.as_ref().map(|p| p.passes);
        run.forward_rows = self.passes.as_ref().map(|p| p.rows);
        run.forward_s = self.passes.as_ref().map(|p| round_to(p.forward_s, 3));
        run.prompt_passes = self.passes.as_ref().map(|p| p.prompt_passes);
        run.prompt_pass_rows = self.passes.as_ref().map(|p| p.prompt_rows);
        run.prompt_pass_s = self.passes.as_ref().map(|p| round_to(p.prompt_s, 3));
    }
}

/// Translates (and scores, and summarizes) one record with the pair's
/// translator from `translators` (made on first use).
fn process<'a>(
    models: &Models<'a>,
    translators: &mut Translators<'a>,
    rec: &Record,
    w: &Work,
    opts: &BatchOptions,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> std::result::Result<Processed, RecordError> {
    let pair = LangPair::from_source(source_lang(w, opts.lang));
    let translator = match translators.entry(pair) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => {
            let t = models
                .engine
                .translator(pair, &opts.translate)
                .map_err(|e| record_error(rec, e))?;
            v.insert(t)
        }
    };
    // The translator's setup is a per-process cost, not this record's.
    let start = Instant::now();
    let doc = translate_record(translator.as_mut(), models, rec, w, progress)?;
    complete_record(models, rec, doc, opts, start)
}
