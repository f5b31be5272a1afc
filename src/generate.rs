//! Decoding for encoder-decoder models: greedy search and beam search over
//! batches of sources, with the logit processors translation needs
//! (length penalty, n-best lists with scores, minimum and maximum length,
//! no-repeat n-grams, repetition penalty, suppressed tokens).
//!
//! The model side is the [`Seq2Seq`] trait: encode sources once, then feed
//! one token per hypothesis per step. Hypotheses that finish leave the batch;
//! beam search forks a hypothesis by cloning its decoder state.
//!
//! Beam search ranks candidates by their summed log-probability. An
//! end-of-sentence candidate among the best `beam` of a step ends a
//! hypothesis, scored `logprob / length^length_penalty`. A source is done
//! when its best candidate of a step ends, or when `beam` hypotheses have
//! ended, or at the length limit (running hypotheses then end unfinished).
//! With `beam = 1` this is exactly greedy search (tested).

use crate::error::{Error, Result};

/// An encoder-decoder model as decoding sees it.
pub trait Seq2Seq: Sync {
    /// What the encoder leaves for one source.
    type Memory: Send + Sync;
    /// One hypothesis' decoder cache.
    type State: Clone + Send;
    fn encode(&self, sources: &[&[u32]]) -> Result<Vec<Self::Memory>>;
    fn start(&self, memory: &Self::Memory) -> Self::State;
    /// Feeds `tokens[i]` to `states[i]` (attending to `memories[i]`) and
    /// returns the next-token logits, `[n][vocab]` row-major.
    fn step(
        &self,
        states: &mut [&mut Self::State],
        memories: &[&Self::Memory],
        tokens: &[u32],
    ) -> Result<Vec<f32>>;
    fn vocab_size(&self) -> usize;
    fn start_token(&self) -> u32;
    fn eos_token(&self) -> u32;
    /// Tokens never generated (e.g. padding).
    fn suppressed_tokens(&self) -> Vec<u32>;
    /// Longest target the model has positions for.
    fn max_target_positions(&self) -> usize;
}

/// Decoding options; `Default` is greedy with a 256-token limit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GenerateOptions {
    /// 1 = greedy.
    pub beam: usize,
    /// Hypotheses returned per source (at most `beam`).
    pub n_best: usize,
    /// Exponent of the length normalization (0 = raw log-probability).
    pub length_penalty: f32,
    /// Most tokens generated per source, end-of-sentence included.
    pub max_length: usize,
    /// End-of-sentence is not allowed before this many tokens.
    pub min_length: usize,
    /// Ban any n-gram of this size from appearing twice (0 = off).
    pub no_repeat_ngram: usize,
    /// CTRL-style penalty on tokens already generated (1 = off).
    pub repetition_penalty: f32,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            beam: 1,
            n_best: 1,
            length_penalty: 1.0,
            max_length: 256,
            min_length: 0,
            no_repeat_ngram: 0,
            repetition_penalty: 1.0,
        }
    }
}

impl GenerateOptions {
    /// Checks the combination; the message names the flag.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Usage(m));
        if self.beam == 0 {
            return bad("--beam must be at least 1".into());
        }
        if self.n_best == 0 || self.n_best > self.beam {
            return bad(format!(
                "--n-best must be between 1 and --beam ({}), got {}",
                self.beam, self.n_best
            ));
        }
        if self.max_length == 0 {
            return bad("--max-length must be at least 1".into());
        }
        if self.min_length > self.max_length {
            return bad(format!(
                "--min-length ({}) must not exceed --max-length ({})",
                self.min_length, self.max_length
            ));
        }
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return bad(format!(
                "--repetition-penalty must be a positive number, got {}",
                self.repetition_penalty
            ));
        }
        if !self.length_penalty.is_finite() {
            return bad("--length-penalty must be a finite number".into());
        }
        Ok(())
    }
}

/// One decoded hypothesis.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hypothesis {
    /// Generated tokens, without the start token and end-of-sentence.
    pub tokens: Vec<u32>,
    /// Summed log-probability of the tokens (end-of-sentence included).
    pub logprob: f32,
    /// `logprob / length^length_penalty`; hypotheses are ranked by it.
    pub score: f32,
    /// Ended with end-of-sentence (false: hit the length limit).
    pub finished: bool,
}

/// Applies the processors to one row of logits, in place, for a hypothesis
/// whose generated tokens so far are `generated` (after `start`).
fn process_logits(
    logits: &mut [f32],
    start: u32,
    generated: &[u32],
    opts: &GenerateOptions,
    suppressed: &[u32],
    eos: u32,
) {
    if opts.repetition_penalty != 1.0 {
        let mut seen = generated.to_vec();
        seen.sort_unstable();
        seen.dedup();
        for t in seen {
            if let Some(l) = logits.get_mut(t as usize) {
                *l = if *l > 0.0 {
                    *l / opts.repetition_penalty
                } else {
                    *l * opts.repetition_penalty
                };
            }
        }
    }
    for &t in suppressed {
        if let Some(l) = logits.get_mut(t as usize) {
            *l = f32::NEG_INFINITY;
        }
    }
    if generated.len() < opts.min_length {
        if let Some(l) = logits.get_mut(eos as usize) {
            *l = f32::NEG_INFINITY;
        }
    }
    let n = opts.no_repeat_ngram;
    if n > 0 {
        // The sequence as the decoder saw it: start token, then generated.
        let seq: Vec<u32> = std::iter::once(start)
            .chain(generated.iter().copied())
            .collect();
        if seq.len() + 1 >= n {
            let prefix = &seq[seq.len() + 1 - n..];
            for w in seq.windows(n) {
                if &w[..n - 1] == prefix {
                    if let Some(l) = logits.get_mut(w[n - 1] as usize) {
                        *l = f32::NEG_INFINITY;
                    }
                }
            }
        }
    }
}

/// log-softmax of a row, in place.
fn log_softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return;
    }
    let sum: f32 = row.iter().map(|&v| (v - max).exp()).sum();
    let lse = max + sum.ln();
    for v in row {
        *v -= lse;
    }
}

/// The index of the largest value (the first on ties).
fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

fn normalized(logprob: f32, len: usize, penalty: f32) -> f32 {
    if penalty == 0.0 {
        logprob
    } else {
        logprob / (len.max(1) as f32).powf(penalty)
    }
}

fn effective_max(model: &impl Seq2Seq, opts: &GenerateOptions) -> usize {
    opts.max_length.min(model.max_target_positions())
}

/// Greedy decoding of every source; one hypothesis each.
pub fn greedy<M: Seq2Seq>(
    model: &M,
    sources: &[&[u32]],
    opts: &GenerateOptions,
) -> Result<Vec<Hypothesis>> {
    opts.validate()?;
    let memories = model.encode(sources)?;
    let (eos, start) = (model.eos_token(), model.start_token());
    let suppressed = model.suppressed_tokens();
    let vocab = model.vocab_size();
    let max_len = effective_max(model, opts);
    let mut states: Vec<M::State> = memories.iter().map(|m| model.start(m)).collect();
    let mut hyps: Vec<Hypothesis> = vec![
        Hypothesis {
            tokens: Vec::new(),
            logprob: 0.0,
            score: 0.0,
            finished: false,
        };
        sources.len()
    ];
    let mut active: Vec<usize> = (0..sources.len()).collect();
    let mut last: Vec<u32> = vec![start; sources.len()];
    let mut steps = 0;
    while !active.is_empty() {
        let mems: Vec<&M::Memory> = active.iter().map(|&i| &memories[i]).collect();
        let toks: Vec<u32> = active.iter().map(|&i| last[i]).collect();
        let mut refs = pick_mut(&mut states, &active);
        let logits = model.step(&mut refs, &mems, &toks)?;
        steps += 1;
        let mut still = Vec::with_capacity(active.len());
        for (row, &i) in logits.chunks_exact(vocab).zip(&active) {
            let mut row = row.to_vec();
            process_logits(&mut row, start, &hyps[i].tokens, opts, &suppressed, eos);
            let tok = argmax(&row);
            log_softmax(&mut row);
            let h = &mut hyps[i];
            h.logprob += row[tok];
            if tok as u32 == eos {
                h.finished = true;
                h.score = normalized(h.logprob, h.tokens.len() + 1, opts.length_penalty);
                continue;
            }
            h.tokens.push(tok as u32);
            last[i] = tok as u32;
            if steps >= max_len {
                h.score = normalized(h.logprob, h.tokens.len(), opts.length_penalty);
                continue;
            }
            still.push(i);
        }
        active = still;
    }
    Ok(hyps)
}

/// Mutable references to `items[idx]` for distinct, increasing `idx`.
fn pick_mut<'a, T>(items: &'a mut [T], idx: &[usize]) -> Vec<&'a mut T> {
    let mut out = Vec::with_capacity(idx.len());
    let mut rest = items;
    let mut offset = 0;
    for &i in idx {
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(i - offset);
        let (first, tail) = tail.split_first_mut().expect("index in range");
        out.push(first);
        rest = tail;
        offset = i + 1;
    }
    out
}

struct Beam<S> {
    state: S,
    tokens: Vec<u32>,
    logprob: f32,
}

struct SourceSearch<S> {
    beams: Vec<Beam<S>>,
    ended: Vec<Hypothesis>,
    done: bool,
}

/// Beam search over every source; up to `n_best` hypotheses each, best first.
pub fn beam_search<M: Seq2Seq>(
    model: &M,
    sources: &[&[u32]],
    opts: &GenerateOptions,
) -> Result<Vec<Vec<Hypothesis>>> {
    opts.validate()?;
    let memories = model.encode(sources)?;
    let (eos, start) = (model.eos_token(), model.start_token());
    let suppressed = model.suppressed_tokens();
    let vocab = model.vocab_size();
    let max_len = effective_max(model, opts);
    let k = opts.beam;
    let mut searches: Vec<SourceSearch<M::State>> = memories
        .iter()
        .map(|m| SourceSearch {
            beams: vec![Beam {
                state: model.start(m),
                tokens: Vec::new(),
                logprob: 0.0,
            }],
            ended: Vec::new(),
            done: false,
        })
        .collect();
    let mut step = 0;
    loop {
        // Every running beam of every source not done, in one forward pass.
        let mut owners = Vec::new();
        let mut mems = Vec::new();
        let mut toks = Vec::new();
        let mut refs: Vec<&mut M::State> = Vec::new();
        for (si, s) in searches.iter_mut().enumerate() {
            if s.done {
                continue;
            }
            for b in s.beams.iter_mut() {
                owners.push(si);
                mems.push(&memories[si]);
                toks.push(b.tokens.last().copied().unwrap_or(start));
                refs.push(&mut b.state);
            }
        }
        if owners.is_empty() {
            break;
        }
        let logits = model.step(&mut refs, &mems, &toks)?;
        drop(refs);
        step += 1;
        let mut row_of = 0;
        for s in searches.iter_mut() {
            if s.done {
                continue;
            }
            let nb = s.beams.len();
            // (logprob, beam, token), the best 2k per beam.
            let mut cands: Vec<(f32, usize, u32)> = Vec::with_capacity(nb * 2 * k);
            for (b, beam) in s.beams.iter().enumerate() {
                let mut row = logits[(row_of + b) * vocab..(row_of + b + 1) * vocab].to_vec();
                process_logits(&mut row, start, &beam.tokens, opts, &suppressed, eos);
                log_softmax(&mut row);
                for t in top_k(&row, 2 * k) {
                    if row[t] > f32::NEG_INFINITY {
                        cands.push((beam.logprob + row[t], b, t as u32));
                    }
                }
            }
            row_of += nb;
            // Highest first; ties by beam then token, so the order is total.
            cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            let mut next: Vec<(usize, u32, f32)> = Vec::with_capacity(k);
            let mut best_ended = false;
            for (rank, &(lp, b, t)) in cands.iter().enumerate() {
                if next.len() == k {
                    break;
                }
                if t == eos {
                    if rank < k {
                        let tokens = s.beams[b].tokens.clone();
                        let len = tokens.len() + 1;
                        s.ended.push(Hypothesis {
                            tokens,
                            logprob: lp,
                            score: normalized(lp, len, opts.length_penalty),
                            finished: true,
                        });
                        if rank == 0 {
                            best_ended = true;
                        }
                    }
                    continue;
                }
                next.push((b, t, lp));
            }
            let enough = s.ended.len() >= k || (best_ended && s.ended.len() >= opts.n_best);
            if enough || next.is_empty() || step >= max_len {
                if !enough {
                    // Length limit: the running hypotheses end unfinished.
                    for (b, t, lp) in &next {
                        let mut tokens = s.beams[*b].tokens.clone();
                        tokens.push(*t);
                        let len = tokens.len();
                        s.ended.push(Hypothesis {
                            tokens,
                            logprob: *lp,
                            score: normalized(*lp, len, opts.length_penalty),
                            finished: false,
                        });
                    }
                }
                s.done = true;
                s.beams.clear();
                continue;
            }
            // Children take their parent's state: moved for the last child,
            // cloned for the others.
            let mut children_left = vec![0usize; nb];
            for (b, _, _) in &next {
                children_left[*b] += 1;
            }
            let mut parents: Vec<Option<Beam<M::State>>> =
                std::mem::take(&mut s.beams).into_iter().map(Some).collect();
            for (b, t, lp) in next {
                children_left[b] -= 1;
                let (state, mut tokens) = if children_left[b] == 0 {
                    let p = parents[b].take().expect("parent still present");
                    (p.state, p.tokens)
                } else {
                    let p = parents[b].as_ref().expect("parent still present");
                    (p.state.clone(), p.tokens.clone())
                };
                tokens.push(t);
                s.beams.push(Beam {
                    state,
                    tokens,
                    logprob: lp,
                });
            }
        }
    }
    Ok(searches
        .into_iter()
        .map(|s| {
            let mut ended = s.ended;
            ended.sort_by(|a, b| b.score.total_cmp(&a.score));
            ended.truncate(opts.n_best);
            ended
        })
        .collect())
}

/// Indices of the `k` largest values, largest first (ties: lower index first).
fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let k = k.min(row.len());
    let mut best: Vec<usize> = Vec::with_capacity(k + 1);
    for (i, &v) in row.iter().enumerate() {
        if best.len() == k && v <= row[best[k - 1]] {
            continue;
        }
        let pos = best.partition_point(|&j| row[j] >= v);
        best.insert(pos, i);
        best.truncate(k);
    }
    best
}

/// Greedy for `beam == 1`, beam search otherwise; `n_best` lists either way.
pub fn generate<M: Seq2Seq>(
    model: &M,
    sources: &[&[u32]],
    opts: &GenerateOptions,
) -> Result<Vec<Vec<Hypothesis>>> {
    if opts.beam == 1 {
        Ok(greedy(model, sources, opts)?
            .into_iter()
            .map(|h| vec![h])
            .collect())
    } else {
        beam_search(model, sources, opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_and_breaks_ties_by_index() {
        assert_eq!(top_k(&[0.1, 0.5, 0.5, -1.0, 0.9], 3), vec![4, 1, 2]);
        assert_eq!(top_k(&[1.0], 4), vec![0]);
    }

    #[test]
    fn processors() {
        let opts = GenerateOptions {
            repetition_penalty: 2.0,
            no_repeat_ngram: 2,
            min_length: 3,
            ..Default::default()
        };
        // start=9, generated 1 2 1: bigram (1,2) seen, so after 1 token 2 is banned.
        let mut l = vec![1.0, 4.0, 2.0, -1.0, 0.5];
        process_logits(&mut l, 9, &[1, 2, 1], &opts, &[3], 0);
        assert_eq!(l[1], 2.0); // penalized positive
        assert_eq!(l[2], f32::NEG_INFINITY); // no-repeat bigram
        assert_eq!(l[3], f32::NEG_INFINITY); // suppressed
        assert_eq!(l[4], 0.5);
        assert_eq!(l[0], 1.0); // eos allowed at length 3
        let mut l = vec![1.0, -4.0];
        process_logits(&mut l, 9, &[1], &opts, &[], 0);
        assert_eq!(l[0], f32::NEG_INFINITY); // eos before min length
        assert_eq!(l[1], -8.0); // penalized negative
    }

    #[test]
    fn options_are_validated() {
        let ok = GenerateOptions::default();
        assert!(ok.validate().is_ok());
        for bad in [
            GenerateOptions {
                beam: 0,
                ..ok.clone()
            },
            GenerateOptions {
                n_best: 2,
                ..ok.clone()
            },
            GenerateOptions {
                min_length: 300,
                ..ok.clone()
            },
            GenerateOptions {
                repetition_penalty: 0.0,
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pick_mut_picks() {
        let mut v = vec![10, 11, 12, 13];
        let r = pick_mut(&mut v, &[1, 3]);
        assert_eq!(r.iter().map(|x| **x).collect::<Vec<_>>(), vec![11, 13]);
    }
}
