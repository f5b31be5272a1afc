//! The two searches, written once over [`Stepper`]: greedy search and
//! sampling ([`sample_search`]) and beam search ([`beam_search`]). Every
//! running hypothesis of every source goes through one `step` call per
//! step; hypotheses that end leave the batch, and beam search forks a
//! hypothesis by cloning its state.

use std::time::Instant;

use candle_core::Device;

use super::processors::{process, Context};
use super::select::{log_softmax, normalized, top_k, Selector};
use super::{DecodingOptions, Hypothesis, Result, Sampling, SearchStats, StopReason};

/// A model as the searches see it: hypotheses that each own a state and are
/// fed tokens, a step at a time.
pub trait Stepper {
    type State: Clone;
    /// Feeds `tokens[i]` to `states[i]` and returns the next-token logits,
    /// `[n][vocab]` row-major.
    fn step(&self, states: &mut [&mut Self::State], tokens: &[&[u32]]) -> Result<Vec<f32>>;
    fn vocab_size(&self) -> usize;
    /// Tokens that end a hypothesis, besides the options' stop tokens.
    fn end_tokens(&self) -> Vec<u32>;
    /// Tokens never generated.
    fn suppressed(&self) -> Vec<u32>;
    /// Tokens before the generated ones that count for no-repeat n-grams.
    fn ngram_prefix(&self) -> Vec<u32>;
    /// The most tokens a hypothesis may generate, given its state after
    /// its first step.
    fn room(&self, state: &Self::State) -> usize;
    /// Where sampling builds its tensors.
    fn device(&self) -> Device;
}

/// A hypothesis before its first step: its state, and the tokens its first
/// step feeds (a prompt, or the decoder start token).
pub struct Start<S> {
    pub state: S,
    pub tokens: Vec<u32>,
    /// This hypothesis' own sampling (greedy and sampling searches):
    /// `None` takes the options' (several differently seeded samples of
    /// one prompt decode side by side this way).
    pub sampling: Option<Sampling>,
}

impl<S> Start<S> {
    pub fn new(state: S, tokens: Vec<u32>) -> Self {
        Self {
            state,
            tokens,
            sampling: None,
        }
    }
}

/// Ends a hypothesis once it returns true for the tokens generated so far.
pub type StopWhen<'a> = &'a mut dyn FnMut(&[u32]) -> bool;

/// Callbacks into a running search.
#[derive(Default)]
pub struct Hooks<'a> {
    /// Ends a hypothesis (as a stop token would) once this returns true
    /// for its tokens; greedy search and sampling only.
    pub stop_when: Option<StopWhen<'a>>,
    /// Called before each step with its number (0: the first).
    pub on_step: Option<&'a mut dyn FnMut(usize)>,
}

/// What a search returns: up to `n_best` hypotheses per source, best first,
/// and, for greedy search and sampling, each hypothesis' final state.
pub struct Decoded<S> {
    pub hypotheses: Vec<Vec<Hypothesis>>,
    pub states: Vec<Option<S>>,
    pub stats: SearchStats,
}

/// What both searches need from the model and the options.
struct Setup {
    stop: Vec<u32>,
    suppressed: Vec<u32>,
    prefix: Vec<u32>,
    vocab: usize,
}

impl Setup {
    /// Checks `opts`, and counts the tokens the first step feeds.
    fn new<M: Stepper>(
        model: &M,
        opts: &DecodingOptions,
        starts: &[Start<M::State>],
    ) -> Result<(Self, SearchStats)> {
        opts.validate()?;
        let mut stop = model.end_tokens();
        for t in &opts.stop_tokens {
            if !stop.contains(t) {
                stop.push(*t);
            }
        }
        let stats = SearchStats {
            prompt_tokens: starts.iter().map(|s| s.tokens.len()).sum(),
            ..SearchStats::default()
        };
        let setup = Self {
            stop,
            suppressed: model.suppressed(),
            prefix: model.ngram_prefix(),
            vocab: model.vocab_size(),
        };
        Ok((setup, stats))
    }

    fn context<'a>(&'a self, generated: &'a [u32]) -> Context<'a> {
        Context {
            prefix: &self.prefix,
            generated,
            suppressed: &self.suppressed,
            stop: &self.stop,
        }
    }
}

/// Greedy search, or sampling when `opts.sampling` asks for it: one
/// hypothesis per start.
pub fn sample_search<M: Stepper>(
    model: &M,
    starts: Vec<Start<M::State>>,
    opts: &DecodingOptions,
    hooks: &mut Hooks,
) -> Result<Decoded<M::State>> {
    let (setup, mut stats) = Setup::new(model, opts, &starts)?;
    let vocab = setup.vocab;
    let device = model.device();
    let n = starts.len();
    let mut selectors: Vec<Selector> = starts
        .iter()
        .map(|s| Selector::new(s.sampling.or(opts.sampling), &device))
        .collect();
    let (mut states, mut pending): (Vec<M::State>, Vec<Vec<u32>>) =
        starts.into_iter().map(|s| (s.state, s.tokens)).unzip();
    let mut hyps = vec![
        Hypothesis {
            tokens: Vec::new(),
            logprob: 0.0,
            score: 0.0,
            stop: StopReason::MaxLength,
        };
        n
    ];
    let mut limits = vec![opts.max_length; n];
    let mut active: Vec<usize> = (0..n).collect();
    while !active.is_empty() {
        if let Some(f) = hooks.on_step.as_mut() {
            f(stats.steps);
        }
        let started = Instant::now();
        let toks: Vec<&[u32]> = active.iter().map(|&i| pending[i].as_slice()).collect();
        let mut refs = pick_mut(&mut states, &active);
        let logits = model.step(&mut refs, &toks)?;
        drop(refs);
        stats.steps += 1;
        let mut still = Vec::with_capacity(active.len());
        for (row, &i) in logits.chunks_exact(vocab).zip(&active) {
            if stats.steps == 1 {
                limits[i] = limits[i].min(model.room(&states[i]));
            }
            let mut row = row.to_vec();
            let h = &mut hyps[i];
            process(&mut row, &setup.context(&h.tokens), opts);
            let tok = selectors[i].pick(&row)?;
            if opts.scores {
                log_softmax(&mut row);
                h.logprob += row[tok];
            }
            let tok = tok as u32;
            if setup.stop.contains(&tok) {
                h.stop = StopReason::End;
                h.score = normalized(h.logprob, h.tokens.len() + 1, opts.length_penalty);
                continue;
            }
            h.tokens.push(tok);
            pending[i] = vec![tok];
            let stop = if opts
                .loop_guard
                .as_ref()
                .is_some_and(|g| g.is_looping(&h.tokens))
            {
                Some(StopReason::Loop)
            } else if hooks.stop_when.as_mut().is_some_and(|f| f(&h.tokens)) {
                Some(StopReason::End)
            } else if h.tokens.len() >= limits[i] {
                Some(StopReason::MaxLength)
            } else {
                None
            };
            match stop {
                Some(reason) => {
                    h.stop = reason;
                    h.score = normalized(h.logprob, h.tokens.len(), opts.length_penalty);
                }
                None => still.push(i),
            }
        }
        stats.add_step_time(started);
        active = still;
    }
    Ok(Decoded {
        hypotheses: hyps.into_iter().map(|h| vec![h]).collect(),
        states: states.into_iter().map(Some).collect(),
        stats,
    })
}

impl SearchStats {
    /// Books the time since `started` to the step just run: the first
    /// step's to the prompt, later ones' to decoding.
    fn add_step_time(&mut self, started: Instant) {
        let secs = started.elapsed().as_secs_f64();
        if self.steps == 1 {
            self.prompt_s = secs;
        } else {
            self.decode_s += secs;
        }
    }
}

/// Mutable references to `items[idx]` for distinct, increasing `idx`.
fn pick_mut<'a, T>(items: &'a mut [T], idx: &[usize]) -> Vec<&'a mut T> {
    let mut out = Vec::with_capacity(idx.len());
    let mut rest = items;
    let mut offset = 0;
    for &i in idx {
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(i - offset);
        let Some((first, tail)) = tail.split_first_mut() else {
            break;
        };
        out.push(first);
        rest = tail;
        offset = i + 1;
    }
    out
}

struct Beam<S> {
    state: S,
    tokens: Vec<u32>,
    /// What the next step feeds: the start tokens, then the last token.
    pending: Vec<u32>,
    logprob: f32,
}

struct SourceSearch<S> {
    beams: Vec<Beam<S>>,
    ended: Vec<Hypothesis>,
    limit: usize,
    done: bool,
}

/// Beam search over every start; up to `n_best` hypotheses each, best first.
pub fn beam_search<M: Stepper>(
    model: &M,
    starts: Vec<Start<M::State>>,
    opts: &DecodingOptions,
    hooks: &mut Hooks,
) -> Result<Decoded<M::State>> {
    let (setup, mut stats) = Setup::new(model, opts, &starts)?;
    let vocab = setup.vocab;
    let k = opts.beam;
    let mut searches: Vec<SourceSearch<M::State>> = starts
        .into_iter()
        .map(|s| SourceSearch {
            beams: vec![Beam {
                state: s.state,
                tokens: Vec::new(),
                pending: s.tokens,
                logprob: 0.0,
            }],
            ended: Vec::new(),
            limit: opts.max_length,
            done: false,
        })
        .collect();
    loop {
        // Every running beam of every source not done, in one forward pass.
        let mut toks: Vec<&[u32]> = Vec::new();
        let mut refs: Vec<&mut M::State> = Vec::new();
        for s in searches.iter_mut().filter(|s| !s.done) {
            for b in s.beams.iter_mut() {
                toks.push(&b.pending);
                refs.push(&mut b.state);
            }
        }
        if refs.is_empty() {
            break;
        }
        if let Some(f) = hooks.on_step.as_mut() {
            f(stats.steps);
        }
        let started = Instant::now();
        let logits = model.step(&mut refs, &toks)?;
        drop(refs);
        stats.steps += 1;
        let mut row_of = 0;
        for s in searches.iter_mut().filter(|s| !s.done) {
            if stats.steps == 1 {
                s.limit = s.limit.min(model.room(&s.beams[0].state));
            }
            let rows = &logits[row_of * vocab..(row_of + s.beams.len()) * vocab];
            row_of += s.beams.len();
            advance(s, rows, k, stats.steps, &setup, opts);
        }
        stats.add_step_time(started);
    }
    let hypotheses = searches
        .into_iter()
        .map(|s| {
            let mut ended = s.ended;
            ended.sort_by(|a, b| b.score.total_cmp(&a.score));
            ended.truncate(opts.n_best);
            ended
        })
        .collect::<Vec<_>>();
    let states = hypotheses.iter().map(|_| None).collect();
    Ok(Decoded {
        hypotheses,
        states,
        stats,
    })
}

/// One step of one source's beam search, given its beams' logits rows.
fn advance<S: Clone>(
    s: &mut SourceSearch<S>,
    rows: &[f32],
    k: usize,
    step: usize,
    setup: &Setup,
    opts: &DecodingOptions,
) {
    let vocab = rows.len() / s.beams.len().max(1);
    // (logprob, beam, token), the best 2k per beam.
    let mut cands: Vec<(f32, usize, u32)> = Vec::with_capacity(s.beams.len() * 2 * k);
    for (b, (beam, row)) in s.beams.iter().zip(rows.chunks_exact(vocab)).enumerate() {
        let mut row = row.to_vec();
        process(&mut row, &setup.context(&beam.tokens), opts);
        log_softmax(&mut row);
        for t in top_k(&row, 2 * k) {
            if row[t] > f32::NEG_INFINITY {
                cands.push((beam.logprob + row[t], b, t as u32));
            }
        }
    }
    // Highest first; ties by beam then token, so the order is total.
    cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut next: Vec<(usize, u32, f32)> = Vec::with_capacity(k);
    let mut best_ended = false;
    for (rank, &(lp, b, t)) in cands.iter().enumerate() {
        if next.len() == k {
            break;
        }
        if setup.stop.contains(&t) {
            if rank < k {
                let tokens = s.beams[b].tokens.clone();
                let len = tokens.len() + 1;
                s.ended.push(Hypothesis {
                    tokens,
                    logprob: lp,
                    score: normalized(lp, len, opts.length_penalty),
                    stop: StopReason::End,
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
    if enough || next.is_empty() || step >= s.limit {
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
                    stop: StopReason::MaxLength,
                });
            }
        }
        s.done = true;
        s.beams.clear();
        return;
    }
    // Children take their parent's state: moved for the last child, cloned
    // for the others.
    let nb = s.beams.len();
    let mut children_left = vec![0usize; nb];
    for (b, _, _) in &next {
        children_left[*b] += 1;
    }
    let mut parents: Vec<Option<Beam<S>>> =
        std::mem::take(&mut s.beams).into_iter().map(Some).collect();
    for (b, t, lp) in next {
        children_left[b] -= 1;
        let parent = if children_left[b] == 0 {
            parents[b].take()
        } else {
            parents[b].as_ref().map(|p| Beam {
                state: p.state.clone(),
                tokens: p.tokens.clone(),
                pending: Vec::new(),
                logprob: p.logprob,
            })
        };
        let Some(Beam {
            state, mut tokens, ..
        }) = parent
        else {
            continue;
        };
        tokens.push(t);
        s.beams.push(Beam {
            state,
            tokens,
            pending: vec![t],
            logprob: lp,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_mut_picks() {
        let mut v = vec![10, 11, 12, 13];
        let r = pick_mut(&mut v, &[1, 3]);
        assert_eq!(r.iter().map(|x| **x).collect::<Vec<_>>(), vec![11, 13]);
    }

    /// A toy model over a 4-token vocabulary whose logits depend only on
    /// the number of tokens fed: token 1 is likely, then the end token 0.
    struct Toy;

    impl Stepper for Toy {
        type State = usize;
        fn step(&self, states: &mut [&mut usize], tokens: &[&[u32]]) -> Result<Vec<f32>> {
            let mut out = Vec::new();
            for (s, t) in states.iter_mut().zip(tokens) {
                **s += t.len();
                out.extend(if **s < 4 {
                    [0.0, 3.0, 1.0, 1.0]
                } else {
                    [3.0, 0.0, 1.0, 1.0]
                });
            }
            Ok(out)
        }
        fn vocab_size(&self) -> usize {
            4
        }
        fn end_tokens(&self) -> Vec<u32> {
            vec![0]
        }
        fn suppressed(&self) -> Vec<u32> {
            vec![3]
        }
        fn ngram_prefix(&self) -> Vec<u32> {
            Vec::new()
        }
        fn room(&self, _: &usize) -> usize {
            100
        }
        fn device(&self) -> Device {
            Device::Cpu
        }
    }

    fn start(prompt: &[u32]) -> Vec<Start<usize>> {
        vec![Start::new(0, prompt.to_vec())]
    }

    #[test]
    fn greedy_stops_at_the_end_token_and_keeps_the_state() {
        let d = sample_search(
            &Toy,
            start(&[7, 7]),
            &DecodingOptions::default(),
            &mut Hooks::default(),
        )
        .unwrap();
        let h = &d.hypotheses[0][0];
        assert_eq!(h.tokens, vec![1, 1]);
        assert_eq!(h.stop, StopReason::End);
        // Fed: the 2-token prompt, then the two generated tokens.
        assert_eq!(d.states[0], Some(4));
        assert_eq!(d.stats.prompt_tokens, 2);
        assert_eq!(d.stats.steps, 3);
    }

    #[test]
    fn limits_hooks_and_the_loop_guard() {
        let opts = DecodingOptions {
            max_length: 1,
            ..Default::default()
        };
        let d = sample_search(&Toy, start(&[7]), &opts, &mut Hooks::default()).unwrap();
        assert_eq!(d.hypotheses[0][0].tokens, vec![1]);
        assert_eq!(d.hypotheses[0][0].stop, StopReason::MaxLength);
        let mut stop_when = |t: &[u32]| !t.is_empty();
        let mut steps = Vec::new();
        let mut on_step = |s: usize| steps.push(s);
        let mut hooks = Hooks {
            stop_when: Some(&mut stop_when),
            on_step: Some(&mut on_step),
        };
        let d = sample_search(&Toy, start(&[7]), &DecodingOptions::default(), &mut hooks).unwrap();
        assert_eq!(d.hypotheses[0][0].stop, StopReason::End);
        assert_eq!(steps, vec![0]);
        // min_length bans the end token: the guard cuts the run of 1s.
        let opts = DecodingOptions {
            min_length: 20,
            max_length: 30,
            loop_guard: Some(super::super::LoopGuard::default()),
            ..Default::default()
        };
        let d = sample_search(&Toy, start(&[7]), &opts, &mut Hooks::default()).unwrap();
        assert_eq!(d.hypotheses[0][0].stop, StopReason::Loop);
        assert_eq!(d.hypotheses[0][0].tokens.len(), 15);
    }

    #[test]
    fn beam_of_one_is_greedy_and_wider_beams_rank_their_hypotheses() {
        let g = sample_search(
            &Toy,
            start(&[5]),
            &DecodingOptions::default(),
            &mut Hooks::default(),
        )
        .unwrap();
        let b = beam_search(
            &Toy,
            start(&[5]),
            &DecodingOptions::default(),
            &mut Hooks::default(),
        )
        .unwrap();
        assert_eq!(g.hypotheses, b.hypotheses);
        let opts = DecodingOptions {
            beam: 3,
            n_best: 3,
            ..Default::default()
        };
        let b = beam_search(&Toy, start(&[5]), &opts, &mut Hooks::default()).unwrap();
        let hyps = &b.hypotheses[0];
        assert_eq!(hyps.len(), 3);
        assert!(hyps.windows(2).all(|w| w[0].score >= w[1].score));
        // The suppressed token never appears.
        assert!(hyps.iter().all(|h| !h.tokens.contains(&3)));
    }
}
