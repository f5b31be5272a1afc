//! Continuous batching across records: up to B documents in flight, each
//! translated on a worker thread by an ordinary sequential translator whose
//! forward passes go through a lane of one [`Batcher`].
//!
//! How it decides: the records are taken in the run's order (language pair,
//! then longest first). B translation slots are shared by B + 2 workers: a
//! worker that holds a slot takes the next record and joins the batch with
//! a new lane; when every document in flight has a request parked (a
//! sentence's prompt to feed, a token to decode, a paragraph's context),
//! one forward pass serves them all, so a newcomer's prompt is fed in the
//! same pass as the others' decoding steps. A document's sentences stay in
//! order (each one's context is the previous exchange), so the batch is
//! filled across documents. A document leaves the batch and gives its slot
//! back when its translation is done, before its pairs are scored and its
//! summary made: that work never holds the others back, and a spare worker
//! starts the next record at once, so the batch stays full meanwhile. Each
//! pair's instruction prefix is computed once and copied into every
//! document's translator, as on the one-at-a-time path.
//!
//! Nothing about a record depends on what else is in flight: the kernels
//! are batch-invariant, samplers are seeded per sentence, and a document's
//! translator is a fresh copy of its pair's. So records are identical to
//! those of `--max-batch 1` (tested), whatever order they finish in; the
//! journal takes them as they come and the output is written in input order.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::input::{Record, RecordError};
use super::process::{complete_record, panic_error, translate_record};
use super::record::{record_error, Processed};
use super::{source_lang, BatchOptions, Models};
use crate::model::batcher::{BatchStats, Batcher, LeaveGuard};
use crate::model::CausalLm;
use crate::translate::llm::LlmTranslator;
use crate::types::LangPair;

/// The most documents in flight by default: the kernels take up to 8 rows
/// per pass over the weights, so a ninth sequence costs a second pass.
pub const AUTO_MAX_BATCH: usize = 8;

/// The batch size chosen when the user gave none: [`AUTO_MAX_BATCH`], or
/// fewer when one document's key/value caches (`sequence_bytes`, see
/// [`LlmTranslator::sequence_bytes`]) times B would take more than half of
/// the memory available (`available`; unknown: 4).
pub fn auto_max_batch(sequence_bytes: u64, available: Option<u64>) -> usize {
    match available {
        None => 4,
        Some(avail) => {
            ((avail / 2) / sequence_bytes.max(1)).clamp(1, AUTO_MAX_BATCH as u64) as usize
        }
    }
}

/// Workers beyond the B translation slots: they score and summarize
/// finished documents while the slots translate the next ones.
const SPARE_WORKERS: usize = 2;

/// Counts the documents translating at once (at most B).
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A held slot, given back when dropped (also while unwinding).
struct Slot<'s>(&'s Slots);

impl Slots {
    fn new(n: usize) -> Self {
        Self {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free slot; `None` as soon as `stopped()` says so.
    fn take(&self, stopped: impl Fn() -> bool) -> Option<Slot<'_>> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if stopped() {
                return None;
            }
            if *free > 0 {
                *free -= 1;
                return Some(Slot(self));
            }
            // A stop request raises no notification: look again now and then.
            free = self
                .freed
                .wait_timeout(free, Duration::from_millis(50))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// One finished record, in the order records finish.
pub(super) struct Finished {
    pub index: usize,
    pub result: Result<Processed, RecordError>,
    pub t0: Instant,
}

/// Each language pair's translator, its instruction prefix computed once.
pub(super) type Bases<'a> = HashMap<LangPair, LlmTranslator<'a>>;

/// The translators for every pair among `todo`'s documents, or `None` when
/// the model is not a chat model (or a translator cannot be made: the
/// one-at-a-time path then reports it per record).
pub(super) fn bases<'a>(
    models: &Models<'a>,
    records: &[Record],
    todo: &[usize],
    opts: &BatchOptions,
) -> Option<Bases<'a>> {
    let mut out = HashMap::new();
    for &i in todo {
        let Ok(w) = &records[i].work else { continue };
        let pair = LangPair::from_source(source_lang(w, opts.lang));
        if out.contains_key(&pair) {
            continue;
        }
        match models.engine.chat_translator(pair, &opts.translate) {
            Ok(Some(t)) => {
                out.insert(pair, t);
            }
            Ok(None) => return None,
            Err(e) => {
                tracing::debug!("no batched translator for {pair:?}: {e}");
                return None;
            }
        }
    }
    Some(out)
}

/// Runs the records `todo` (indices into `records`) with up to `max_batch`
/// in flight, handing each to `done` on the calling thread as it finishes.
/// An error from `done` (the journal could not be written) stops the run:
/// no record is started after it, the ones in flight finish, and the error
/// is returned; so does a stop request ([`BatchOptions::stop`]), without
/// an error. Returns how full the forward passes were.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_batched<'a>(
    models: &Models<'a>,
    bases: &Bases<'a>,
    model: &dyn CausalLm,
    records: Arc<Vec<Record>>,
    todo: &[usize],
    opts: &BatchOptions,
    max_batch: usize,
    mut done: impl FnMut(Finished, &BatchStats) -> crate::error::Result<()>,
) -> crate::error::Result<BatchStats> {
    let batcher = Batcher::new(model);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Finished>();
    let slots = Slots::new(max_batch.max(1));
    let workers = (max_batch.max(1) + SPARE_WORKERS).min(todo.len().max(1));
    let outcome = std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (records, batcher, next, stop, slots) = (&records, &batcher, &next, &stop, &slots);
            scope.spawn(move || loop {
                let stopped = || stop.load(Ordering::SeqCst) || opts.stop.requested().is_some();
                let Some(slot) = slots.take(stopped) else {
                    break;
                };
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&index) = todo.get(k) else { break };
                let rec = &records[index];
                let t0 = Instant::now();
                let result = match &rec.work {
                    Err(e) => Err(e.clone()),
                    Ok(_) => {
                        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            process(models, bases, batcher, rec, opts, slot)
                        }));
                        run.unwrap_or_else(|p| Err(panic_error(rec, p)))
                    }
                };
                if tx.send(Finished { index, result, t0 }).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for finished in rx.iter() {
            if let Err(e) = done(finished, &batcher.stats()) {
                stop.store(true, Ordering::SeqCst);
                return Err(e);
            }
        }
        Ok(())
    });
    outcome.map(|()| batcher.stats())
}

/// One record: translated through a lane of `batcher` (left, and `slot`
/// given back, as soon as the translation is done), then scored and
/// summarized.
fn process<'a>(
    models: &Models<'a>,
    bases: &Bases<'a>,
    batcher: &Batcher,
    rec: &Record,
    opts: &BatchOptions,
    slot: Slot<'_>,
) -> Result<Processed, RecordError> {
    let w = rec.work.as_ref().map_err(Clone::clone)?;
    let pair = LangPair::from_source(source_lang(w, opts.lang));
    let base = bases.get(&pair).ok_or_else(|| {
        record_error(
            rec,
            crate::error::Error::Internal(format!("no translator for {pair:?}")),
        )
    })?;
    let start = Instant::now();
    let doc = {
        let lane = batcher.lane();
        let _leave = LeaveGuard(&lane);
        let mut translator = base.fork(&lane);
        translate_record(&mut translator, models, rec, w, &|_| {})
    };
    // The lane has left: the next record may take the slot.
    drop(slot);
    let doc = doc?;
    complete_record(models, rec, doc, opts, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_hold_at_most_n_and_a_stop_frees_the_waiters() {
        let slots = Slots::new(2);
        let a = slots.take(|| false).unwrap();
        let _b = slots.take(|| false).unwrap();
        // Full: a waiter returns None once stopped.
        assert!(slots.take(|| true).is_none());
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| slots.take(|| stop.load(Ordering::SeqCst)).is_some());
            std::thread::sleep(Duration::from_millis(120));
            stop.store(true, Ordering::SeqCst);
            assert!(!waiter.join().unwrap());
        });
        // A slot given back is taken by the next waiter.
        drop(a);
        assert!(slots.take(|| false).is_some());
        assert_eq!(*slots.free.lock().unwrap(), 1);
    }

    #[test]
    fn automatic_batch_follows_the_memory_available() {
        let gb = 1u64 << 30;
        // The default model: about 147 MB of keys and values per document.
        let seq = 147 * (1 << 20);
        assert_eq!(auto_max_batch(seq, Some(20 * gb)), AUTO_MAX_BATCH);
        assert_eq!(auto_max_batch(seq, Some(gb)), 3);
        assert_eq!(auto_max_batch(seq, Some(100 << 20)), 1);
        assert_eq!(auto_max_batch(0, Some(0)), 1);
        assert_eq!(auto_max_batch(seq, None), 4);
    }
}
