//! Batched decoding for code written one sequence at a time.
//!
//! A [`Batcher`] owns no threads. Each *lane* (a thread running ordinary
//! sequential code: a translator working through its paragraphs, a
//! summarizer, a plain `generate` loop) gets a [`Lane`], which is a
//! [`CausalLm`]. A lane's `forward` parks its request; when every live lane
//! has a request parked, the last one to arrive runs them all as one
//! [`CausalLm::forward_batch`] (one pass over the weights for the whole
//! batch, each sequence at its own position with its own cache) and hands
//! each lane its row of logits. A lane that finishes leaves the batch, so the
//! others never wait for it.
//!
//! Because the model computes every row independently of the others in the
//! batch, each lane gets exactly the logits, hence exactly the tokens, it
//! would get alone.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard};

use candle_core::{Device, Tensor};

use super::causal::{CausalLm, KvCache};
use crate::model::{ModelError, Result};

pub struct Batcher<'m> {
    model: &'m dyn CausalLm,
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    /// Lanes created and not yet dropped.
    live: usize,
    parked: Vec<Parked>,
    /// Lanes with requests in `parked` (a lane may park several sequences).
    parked_lanes: usize,
    running: bool,
    next_ticket: u64,
    finished: HashMap<u64, Finished>,
    stats: BatchStats,
}

struct Parked {
    ticket: u64,
    tokens: Vec<u32>,
    cache: KvCache,
}

struct Finished {
    cache: KvCache,
    logits: std::result::Result<Tensor, String>,
}

/// How full the batches were.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BatchStats {
    /// Forward passes run.
    pub passes: usize,
    /// Sequences fed, summed over passes.
    pub sequences: usize,
    /// Token rows fed, summed over passes.
    pub rows: usize,
    /// The largest number of sequences in one pass.
    pub max_sequences: usize,
    /// Seconds spent inside the passes (the rest of a batched run's time
    /// is the lanes' own work between passes, while none runs).
    pub forward_s: f64,
    /// The passes that fed at least one prompt (a sequence of several
    /// tokens; the others fed decoding steps only), the prompt tokens they
    /// fed and the seconds they took (part of `forward_s`).
    pub prompt_passes: usize,
    pub prompt_rows: usize,
    pub prompt_s: f64,
}

impl BatchStats {
    /// Average sequences per forward pass.
    pub fn mean_batch(&self) -> f64 {
        if self.passes == 0 {
            0.0
        } else {
            self.sequences as f64 / self.passes as f64
        }
    }
}

impl<'m> Batcher<'m> {
    pub fn new(model: &'m dyn CausalLm) -> Self {
        Self {
            model,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        }
    }

    /// A new lane. Create all lanes before any of them starts calling
    /// `forward`, or the first requests run in smaller batches.
    pub fn lane(&self) -> Lane<'_, 'm> {
        self.lock().live += 1;
        Lane {
            batcher: self,
            left: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn stats(&self) -> BatchStats {
        self.lock().stats.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Parks one lane's sequences and waits until a pass has run them all;
    /// returns their rows of logits, in order.
    fn submit(&self, batch: &mut [(&[u32], &mut KvCache)]) -> Result<Vec<Tensor>> {
        let mut st = self.lock();
        let mut tickets = Vec::with_capacity(batch.len());
        for (tokens, cache) in batch.iter_mut() {
            let ticket = st.next_ticket;
            st.next_ticket += 1;
            st.parked.push(Parked {
                ticket,
                tokens: tokens.to_vec(),
                cache: std::mem::take(*cache),
            });
            tickets.push(ticket);
        }
        st.parked_lanes += 1;
        loop {
            if tickets.iter().all(|t| st.finished.contains_key(t)) {
                let mut rows = Vec::with_capacity(tickets.len());
                let mut error = None;
                for (t, (_, cache)) in tickets.iter().zip(batch.iter_mut()) {
                    if let Some(done) = st.finished.remove(t) {
                        **cache = done.cache;
                        match done.logits {
                            Ok(row) => rows.push(row),
                            Err(e) => error = Some(e),
                        }
                    }
                }
                return match error {
                    Some(e) => Err(ModelError::Internal(e)),
                    None => Ok(rows),
                };
            }
            if !st.running && !st.parked.is_empty() && st.parked_lanes >= st.live {
                let parked = std::mem::take(&mut st.parked);
                st.parked_lanes = 0;
                st.running = true;
                drop(st);
                let results = self.run(parked);
                st = self.lock();
                st.running = false;
                st.finished.extend(results);
                self.wake.notify_all();
                continue;
            }
            st = self.wake.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// One forward pass over every parked request.
    fn run(&self, mut parked: Vec<Parked>) -> Vec<(u64, Finished)> {
        let rows: usize = parked.iter().map(|p| p.tokens.len()).sum();
        let prompt_rows: usize = parked
            .iter()
            .map(|p| p.tokens.len())
            .filter(|&n| n > 1)
            .sum();
        let start = std::time::Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut batch: Vec<(&[u32], &mut KvCache)> = parked
                .iter_mut()
                .map(|p| (p.tokens.as_slice(), &mut p.cache))
                .collect();
            self.model.forward_batch(&mut batch)
        }));
        {
            let mut st = self.lock();
            st.stats.passes += 1;
            st.stats.sequences += parked.len();
            st.stats.rows += rows;
            st.stats.max_sequences = st.stats.max_sequences.max(parked.len());
            let seconds = start.elapsed().as_secs_f64();
            st.stats.forward_s += seconds;
            if prompt_rows > 0 {
                st.stats.prompt_passes += 1;
                st.stats.prompt_rows += prompt_rows;
                st.stats.prompt_s += seconds;
            }
        }
        let logits = match outcome {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("the model panicked in a batched forward pass".to_string()),
        };
        parked
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let row = match &logits {
                    Ok(t) => t.get(i).map_err(|e| e.to_string()),
                    Err(e) => Err(e.clone()),
                };
                (
                    p.ticket,
                    Finished {
                        cache: p.cache,
                        logits: row,
                    },
                )
            })
            .collect()
    }

    fn leave(&self) {
        let mut st = self.lock();
        st.live -= 1;
        drop(st);
        // The lanes still waiting may now be the whole batch.
        self.wake.notify_all();
    }
}

/// One sequential user of a [`Batcher`]; see the module docs.
pub struct Lane<'b, 'm> {
    batcher: &'b Batcher<'m>,
    left: std::sync::atomic::AtomicBool,
}

impl Lane<'_, '_> {
    /// Leaves the batch: the other lanes stop waiting for this one. Called
    /// by `Drop` too; only the first call counts. A lane must not call
    /// `forward` after leaving.
    pub fn leave(&self) {
        if !self.left.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.batcher.leave();
        }
    }
}

impl Drop for Lane<'_, '_> {
    fn drop(&mut self) {
        self.leave();
    }
}

/// Calls [`Lane::leave`] when dropped, including while unwinding from a
/// panic, so a failing lane never leaves the others waiting.
pub struct LeaveGuard<'l, 'b, 'm>(pub &'l Lane<'b, 'm>);

impl Drop for LeaveGuard<'_, '_, '_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl CausalLm for Lane<'_, '_> {
    fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        if self.left.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ModelError::Internal("forward on a lane that left".into()));
        }
        let mut one = [(tokens, cache)];
        let mut rows = self.batcher.submit(&mut one)?;
        rows.pop()
            .ok_or_else(|| ModelError::Internal("a batched pass returned no row".into()))
    }

    /// All of this lane's sequences go into the same pass as the other
    /// lanes' requests.
    fn forward_batch(&self, batch: &mut [(&[u32], &mut KvCache)]) -> Result<Tensor> {
        if self.left.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ModelError::Internal("forward on a lane that left".into()));
        }
        let rows = self.batcher.submit(batch)?;
        Ok(Tensor::stack(&rows, 0)?)
    }

    fn new_cache(&self) -> KvCache {
        self.batcher.model.new_cache()
    }

    fn context_length(&self) -> usize {
        self.batcher.model.context_length()
    }

    fn vocab_size(&self) -> usize {
        self.batcher.model.vocab_size()
    }

    fn device(&self) -> &Device {
        self.batcher.model.device()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A toy model: the logits are a function of the sequence's position and
    /// last token, and it records the size of each batch.
    struct Toy {
        batches: Mutex<Vec<usize>>,
        calls: AtomicUsize,
        fail_at: Option<usize>,
    }

    impl CausalLm for Toy {
        fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
            Ok(self.forward_batch(&mut [(tokens, cache)])?.get(0)?)
        }
        fn forward_batch(&self, batch: &mut [(&[u32], &mut KvCache)]) -> Result<Tensor> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if Some(n) == self.fail_at {
                return Err(ModelError::Internal("boom".into()));
            }
            self.batches.lock().unwrap().push(batch.len());
            let mut rows = Vec::new();
            for (tokens, cache) in batch.iter_mut() {
                cache.len += tokens.len();
                let last = *tokens.last().unwrap() as f32;
                rows.push(Tensor::new(&[last, cache.len as f32], &Device::Cpu)?);
            }
            Ok(Tensor::stack(&rows, 0)?)
        }
        fn new_cache(&self) -> KvCache {
            KvCache::host(1)
        }
        fn context_length(&self) -> usize {
            1 << 20
        }
        fn vocab_size(&self) -> usize {
            2
        }
        fn device(&self) -> &Device {
            &Device::Cpu
        }
    }

    fn toy(fail_at: Option<usize>) -> Toy {
        Toy {
            batches: Mutex::new(Vec::new()),
            calls: AtomicUsize::new(0),
            fail_at,
        }
    }

    #[test]
    fn lanes_share_passes_and_leave_when_done() {
        let model = toy(None);
        let batcher = Batcher::new(&model);
        let lanes: Vec<_> = (0..3).map(|_| batcher.lane()).collect();
        std::thread::scope(|s| {
            for (i, lane) in lanes.into_iter().enumerate() {
                s.spawn(move || {
                    let mut cache = lane.new_cache();
                    // Lane i runs 2 + 2i steps; each sees its own positions.
                    for step in 0..(2 + 2 * i) {
                        let tokens = if step == 0 {
                            vec![9, 9, i as u32]
                        } else {
                            vec![i as u32]
                        };
                        let out = lane.forward(&tokens, &mut cache).unwrap();
                        let v = out.to_vec1::<f32>().unwrap();
                        assert_eq!(v, vec![i as f32, (3 + step) as f32]);
                    }
                });
            }
        });
        let batches = model.batches.lock().unwrap().clone();
        // 2 passes with all three, 2 with the two left, 2 with the last.
        assert_eq!(batches, vec![3, 3, 2, 2, 1, 1]);
        let st = batcher.stats();
        assert_eq!((st.passes, st.sequences, st.max_sequences), (6, 12, 3));
        // Only the first pass fed prompts (three tokens a lane).
        assert_eq!((st.prompt_passes, st.prompt_rows, st.rows), (1, 9, 18));
        assert!(st.prompt_s <= st.forward_s);
    }

    #[test]
    fn a_lane_may_send_several_sequences_into_one_pass() {
        let model = toy(None);
        let batcher = Batcher::new(&model);
        let lanes: Vec<_> = (0..2).map(|_| batcher.lane()).collect();
        std::thread::scope(|s| {
            for (i, lane) in lanes.into_iter().enumerate() {
                s.spawn(move || {
                    // Lane 0 sends 3 sequences a step, lane 1 one.
                    let k = if i == 0 { 3 } else { 1 };
                    let mut caches: Vec<KvCache> = (0..k).map(|_| lane.new_cache()).collect();
                    for step in 0..2u32 {
                        let tokens: Vec<Vec<u32>> = (0..k)
                            .map(|j| vec![10 * i as u32 + j as u32 + step])
                            .collect();
                        let mut batch: Vec<(&[u32], &mut KvCache)> = tokens
                            .iter()
                            .map(Vec::as_slice)
                            .zip(caches.iter_mut())
                            .collect();
                        let out = lane.forward_batch(&mut batch).unwrap();
                        let rows = out.to_vec2::<f32>().unwrap();
                        assert_eq!(rows.len(), k);
                        for (j, r) in rows.iter().enumerate() {
                            let expect = (10 * i + j) as f32 + step as f32;
                            assert_eq!(r, &vec![expect, (step + 1) as f32]);
                        }
                    }
                });
            }
        });
        // Both steps ran all four sequences in one pass each.
        assert_eq!(model.batches.lock().unwrap().clone(), vec![4, 4]);
    }

    #[test]
    fn a_failed_pass_is_an_error_for_each_lane_in_it() {
        let model = toy(Some(0));
        let batcher = Batcher::new(&model);
        let lanes: Vec<_> = (0..2).map(|_| batcher.lane()).collect();
        let errors = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for lane in lanes {
                let errors = &errors;
                s.spawn(move || {
                    let mut cache = lane.new_cache();
                    if lane.forward(&[1], &mut cache).is_err() {
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                    // The batcher is still usable afterwards.
                    lane.forward(&[1], &mut cache).unwrap();
                });
            }
        });
        assert_eq!(errors.load(Ordering::SeqCst), 2);
    }
}
