//! Decoding a [`Seq2Seq`] model: the sources are encoded once, every
//! hypothesis starts from the decoder start token with its own state, and
//! the model's end-of-sentence token ends it. Padding is never generated.

use candle_core::Device;

use super::search::{beam_search as beam, sample_search, Hooks, Start, Stepper};
use super::{DecodingOptions, Hypothesis, Result};
use crate::model::Seq2Seq;

/// The encoded sources of one call; a hypothesis' state is its decoder
/// state and the index of its source.
struct Encoded<'m, M: Seq2Seq> {
    model: &'m M,
    memories: Vec<M::Memory>,
}

impl<M: Seq2Seq> Stepper for Encoded<'_, M> {
    type State = (M::State, usize);

    fn step(&self, states: &mut [&mut (M::State, usize)], tokens: &[&[u32]]) -> Result<Vec<f32>> {
        let mut refs = Vec::with_capacity(states.len());
        let mut mems = Vec::with_capacity(states.len());
        for s in states.iter_mut() {
            mems.push(&self.memories[s.1]);
            refs.push(&mut s.0);
        }
        let toks: Vec<u32> = tokens
            .iter()
            .map(|t| t.last().copied().unwrap_or(self.model.start_token()))
            .collect();
        Ok(self.model.step(&mut refs, &mems, &toks)?)
    }

    fn vocab_size(&self) -> usize {
        self.model.vocab_size()
    }

    fn end_tokens(&self) -> Vec<u32> {
        vec![self.model.eos_token()]
    }

    fn suppressed(&self) -> Vec<u32> {
        self.model.suppressed_tokens()
    }

    fn ngram_prefix(&self) -> Vec<u32> {
        vec![self.model.start_token()]
    }

    fn room(&self, _: &(M::State, usize)) -> usize {
        self.model.max_target_positions()
    }

    fn device(&self) -> Device {
        Device::Cpu
    }
}

/// Where every hypothesis of an encoded batch starts.
type Starts<M> = Vec<Start<(<M as Seq2Seq>::State, usize)>>;

fn encode<'m, M: Seq2Seq>(
    model: &'m M,
    sources: &[&[u32]],
    opts: &DecodingOptions,
) -> Result<(Encoded<'m, M>, Starts<M>)> {
    opts.validate()?;
    let memories = model.encode(sources)?;
    let starts = memories
        .iter()
        .enumerate()
        .map(|(i, m)| Start::new((model.start(m), i), vec![model.start_token()]))
        .collect();
    Ok((Encoded { model, memories }, starts))
}

/// Greedy search (or sampling) of every source; one hypothesis each.
pub fn greedy<M: Seq2Seq>(
    model: &M,
    sources: &[&[u32]],
    opts: &DecodingOptions,
) -> Result<Vec<Hypothesis>> {
    let (enc, starts) = encode(model, sources, opts)?;
    let d = sample_search(&enc, starts, opts, &mut Hooks::default())?;
    Ok(d.hypotheses.into_iter().flatten().collect())
}

/// Beam search of every source; up to `n_best` hypotheses each, best first.
pub fn beam_search<M: Seq2Seq>(
    model: &M,
    sources: &[&[u32]],
    opts: &DecodingOptions,
) -> Result<Vec<Vec<Hypothesis>>> {
    let (enc, starts) = encode(model, sources, opts)?;
    Ok(beam(&enc, starts, opts, &mut Hooks::default())?.hypotheses)
}

/// Greedy search for `beam == 1`, beam search otherwise; `n_best` lists
/// either way.
pub fn generate<M: Seq2Seq>(
    model: &M,
    sources: &[&[u32]],
    opts: &DecodingOptions,
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
