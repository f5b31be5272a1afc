//! `dich bench marian`: an encoder-decoder model translating a batch of
//! fixed-length sources into a fixed number of tokens (end of sentence
//! suppressed until then), the way CTranslate2 is measured with
//! `min_decoding_length = max_decoding_length`.

use std::time::Instant;

use serde::Serialize;

use super::peak_rss_mb;
use crate::decode::seq2seq::generate;
use crate::decode::DecodingOptions;
use crate::error::{Error, Result};
use crate::model::marian::MarianMt;
use crate::util::num::round_to;

/// What to measure.
#[derive(Debug, Clone)]
pub struct MarianBenchOptions {
    pub batch: usize,
    pub src_len: usize,
    pub new_tokens: usize,
    pub beam: usize,
    pub rounds: usize,
    pub seed: u64,
    /// Use these sources (model ids, `</s>` appended if missing) instead of
    /// random ones.
    pub sources: Option<Vec<Vec<u32>>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MarianBenchReport {
    pub model: String,
    pub weights: String,
    pub weight_mb: f64,
    pub threads: usize,
    pub batch: usize,
    pub src_len: usize,
    pub new_tokens: usize,
    pub beam: usize,
    pub rounds: usize,
    /// Generated tokens per second (batch x new_tokens / wall time of one
    /// `generate` call, encoding included), median of the rounds.
    pub tokens_per_s: f64,
    /// Every round's tokens per second, in order.
    pub round_tokens_per_s: Vec<f64>,
    /// Median wall time of one round, ms.
    pub round_ms: f64,
    pub load_s: f64,
    pub peak_rss_mb: f64,
    /// The generated ids of the last round, one list per source.
    #[serde(skip)]
    pub outputs: Vec<Vec<u32>>,
    #[serde(skip)]
    pub sources: Vec<Vec<u32>>,
}

/// Random source ids: `len - 1` ids drawn from the vocabulary (never `</s>`
/// or padding), then `</s>`.
pub fn random_sources(
    batch: usize,
    len: usize,
    vocab: usize,
    eos: u32,
    pad: u32,
    seed: u64,
) -> Vec<Vec<u32>> {
    let mut rng = crate::model::marian::random::Rng(seed);
    let mut next = || rng.next_u64();
    (0..batch)
        .map(|_| {
            let mut ids: Vec<u32> = Vec::with_capacity(len);
            while ids.len() + 1 < len {
                let id = (next() % vocab as u64) as u32;
                if id != eos && id != pad {
                    ids.push(id);
                }
            }
            ids.push(eos);
            ids
        })
        .collect()
}

pub fn bench_marian(
    mt: &MarianMt,
    name: &str,
    opts: &MarianBenchOptions,
) -> Result<MarianBenchReport> {
    let m = &mt.model;
    if opts.batch == 0 || opts.src_len < 2 || opts.new_tokens == 0 || opts.rounds == 0 {
        return Err(Error::Internal(
            "a benchmark needs a batch, rounds and new tokens of at least 1 and sources of at least 2 tokens".into(),
        ));
    }
    if opts.src_len > m.max_positions() || opts.new_tokens > m.max_positions() {
        return Err(Error::Internal(format!(
            "benchmark sources and outputs must fit the model's {} positions",
            m.max_positions()
        )));
    }
    let eos = m.config.eos_token_id;
    let sources = match &opts.sources {
        Some(s) => s
            .iter()
            .map(|ids| {
                let mut ids = ids.clone();
                if ids.last() != Some(&eos) {
                    ids.push(eos);
                }
                ids
            })
            .collect(),
        None => random_sources(
            opts.batch,
            opts.src_len,
            m.target_vocab(),
            eos,
            m.config.pad_token_id,
            opts.seed,
        ),
    };
    let refs: Vec<&[u32]> = sources.iter().map(|s| s.as_slice()).collect();
    let gen = DecodingOptions {
        beam: opts.beam,
        n_best: 1,
        max_length: opts.new_tokens,
        min_length: opts.new_tokens,
        ..DecodingOptions::default()
    };
    // Warm-up: page in the weights, size the thread pools.
    generate(m, &refs, &gen)?;
    let mut rounds = Vec::with_capacity(opts.rounds);
    let mut outputs = Vec::new();
    let mut times = Vec::new();
    for _ in 0..opts.rounds {
        let t = Instant::now();
        let out = generate(m, &refs, &gen)?;
        let secs = t.elapsed().as_secs_f64();
        let tokens: usize = out.iter().map(|h| h[0].tokens.len()).sum();
        if tokens != refs.len() * opts.new_tokens {
            return Err(Error::Internal(format!(
                "generated {tokens} tokens, expected {}",
                refs.len() * opts.new_tokens
            )));
        }
        rounds.push(round_to(tokens as f64 / secs, 1));
        times.push(secs * 1000.0);
        outputs = out.into_iter().map(|h| h[0].tokens.clone()).collect();
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    Ok(MarianBenchReport {
        model: name.to_string(),
        weights: m.format.as_str().to_string(),
        weight_mb: round_to(m.weight_bytes() as f64 / (1024.0 * 1024.0), 1),
        threads: candle_core::utils::get_num_threads(),
        batch: refs.len(),
        src_len: opts.src_len,
        new_tokens: opts.new_tokens,
        beam: opts.beam,
        rounds: opts.rounds,
        tokens_per_s: median(&rounds),
        round_tokens_per_s: rounds,
        round_ms: round_to(median(&times), 1),
        load_s: round_to(mt.load_seconds, 1),
        peak_rss_mb: round_to(peak_rss_mb(), 1),
        outputs,
        sources,
    })
}
