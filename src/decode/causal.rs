//! Decoding a [`CausalLm`]: each hypothesis owns a key/value cache, and its
//! first step feeds the prompt after what that cache already holds (an
//! instruction prefix, earlier turns). The model's end-of-turn tokens come
//! in through `DecodingOptions::stop_tokens`.

use candle_core::Device;

use super::search::{beam_search, sample_search, Decoded, Hooks, Start, Stepper};
use super::{DecodingOptions, Hypothesis, Result, SearchStats};
use crate::model::{CausalLm, KvCache};

/// A causal LM behind the searches' [`Stepper`]. One hypothesis runs
/// through `forward` unless `batched`; several always run through the
/// batch-invariant `forward_batch`.
struct Causal<'m> {
    model: &'m dyn CausalLm,
    batched: bool,
}

impl Stepper for Causal<'_> {
    type State = KvCache;

    fn step(&self, states: &mut [&mut KvCache], tokens: &[&[u32]]) -> Result<Vec<f32>> {
        if let ([cache], [toks], false) = (&mut *states, tokens, self.batched) {
            return Ok(self.model.forward(toks, cache)?.to_vec1::<f32>()?);
        }
        let mut batch: Vec<(&[u32], &mut KvCache)> = tokens
            .iter()
            .copied()
            .zip(states.iter_mut().map(|c| &mut **c))
            .collect();
        let logits = self.model.forward_batch(&mut batch)?;
        Ok(logits.flatten_all()?.to_vec1::<f32>()?)
    }

    fn vocab_size(&self) -> usize {
        self.model.vocab_size()
    }

    fn end_tokens(&self) -> Vec<u32> {
        Vec::new()
    }

    fn suppressed(&self) -> Vec<u32> {
        Vec::new()
    }

    fn ngram_prefix(&self) -> Vec<u32> {
        Vec::new()
    }

    fn room(&self, cache: &KvCache) -> usize {
        self.model.context_length().saturating_sub(cache.len())
    }

    fn device(&self) -> Device {
        self.model.device().clone()
    }
}

/// One decoded continuation and where its time went.
#[derive(Debug, Clone)]
pub struct Generation {
    pub hypothesis: Hypothesis,
    pub stats: SearchStats,
}

/// Decodes one continuation of `prompt` after what `cache` holds. With
/// greedy search or sampling, `cache` then holds the prompt and every
/// generated token the model was fed (all but the last token when the
/// hypothesis was cut rather than ended by a stop token); with beam search
/// it is left as it was. Returns the best hypothesis.
pub fn generate(
    model: &dyn CausalLm,
    cache: &mut KvCache,
    prompt: &[u32],
    opts: &DecodingOptions,
    hooks: &mut Hooks,
) -> Result<Generation> {
    let stepper = Causal {
        model,
        batched: false,
    };
    let beam = opts.beam > 1;
    let start = Start::new(
        if beam {
            cache.clone()
        } else {
            std::mem::take(cache)
        },
        prompt.to_vec(),
    );
    let decoded = if beam {
        beam_search(&stepper, vec![start], opts, hooks)?
    } else {
        sample_search(&stepper, vec![start], opts, hooks)?
    };
    let Decoded {
        hypotheses,
        states,
        stats,
    } = decoded;
    if let Some(Some(state)) = states.into_iter().next() {
        *cache = state;
    }
    let hypothesis = hypotheses
        .into_iter()
        .next()
        .and_then(|h| h.into_iter().next())
        .ok_or_else(|| crate::model::ModelError::Internal("a search returned nothing".into()))?;
    Ok(Generation { hypothesis, stats })
}

/// Decodes a continuation of each prompt after its own cache, all in the
/// same forward passes (always the batch-invariant path, even for one).
pub fn generate_batch(
    model: &dyn CausalLm,
    starts: Vec<(KvCache, Vec<u32>)>,
    opts: &DecodingOptions,
    hooks: &mut Hooks,
) -> Result<Decoded<KvCache>> {
    let starts = starts
        .into_iter()
        .map(|(state, tokens)| Start::new(state, tokens))
        .collect();
    generate_starts(model, starts, opts, hooks)
}

/// [`generate_batch`] with each start's own sampling (see [`Start`]).
pub fn generate_starts(
    model: &dyn CausalLm,
    starts: Vec<Start<KvCache>>,
    opts: &DecodingOptions,
    hooks: &mut Hooks,
) -> Result<Decoded<KvCache>> {
    let stepper = Causal {
        model,
        batched: true,
    };
    if opts.beam > 1 {
        beam_search(&stepper, starts, opts, hooks)
    } else {
        sample_search(&stepper, starts, opts, hooks)
    }
}
