//! `dich bench`: the hot path measured on this machine, in one table.
//!
//! Prompts are the first tokens of the Vietnamese seed article (the same ids
//! `scripts/llama-compare.py` is given, so both engines see the same
//! prompts). Every figure is wall-clock time of real forward passes on the
//! loaded model; nothing is extrapolated except the bandwidth bound, which is
//! the measured read bandwidth divided by the weight bytes a decoding step
//! reads.

use std::time::Instant;

use serde::Serialize;

use crate::backend::{CausalLm, LoadedLm};
use crate::error::{Error, Result};

/// Prompt lengths of the reference measurements (llama.cpp: 62
/// prompt tokens/s at both).
pub const SHORT_PROMPT: usize = 97;
pub const LONG_PROMPT: usize = 520;

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub model: String,
    pub model_bytes: u64,
    pub threads: usize,
    /// Which quantized matrix kernels ran: `dich` (src/backend/kquant.rs,
    /// CPUs with AVX-512 VNNI, for Q4_K and Q6_K matrices) or `candle`
    /// (GPUs, other CPUs, or
    /// `DICH_KERNELS=candle`).
    pub kernels: String,
    pub prompt_tokens_short: usize,
    pub prompt_tokens_long: usize,
    /// Prompt (prefill) tokens per second.
    pub prompt_tps_short: f64,
    pub prompt_tps_long: f64,
    /// Generated tokens per second, one sequence, after the short prompt
    /// and after the long one (about 600 tokens of context).
    pub decode_tps_short: f64,
    pub decode_tps_long: f64,
    /// One sequence through the batch-invariant path (what a batch of 1
    /// costs in `--lanes` mode).
    pub batch1_decode_tps: f64,
    /// Eight sequences decoded together: generated tokens per second summed.
    pub batch8_decode_tps: f64,
    pub decode_tokens: usize,
    /// `dich translate` of the seed article (load excluded), seconds; null
    /// with `--no-seed`.
    pub seed_wall_s: Option<f64>,
    pub seed_lanes: usize,
    /// Peak resident memory of this process (VmHWM), MiB.
    pub peak_rss_mb: f64,
    /// Measured sequential read bandwidth, GB/s, with all threads.
    pub read_bandwidth_gbs: f64,
    /// `read_bandwidth_gbs` / weight bytes: the batch-1 decode ceiling.
    pub bandwidth_bound_decode_tps: f64,
}

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub decode_tokens: usize,
    /// Recorded in the report; the caller runs the seed translation.
    pub seed_lanes: usize,
}

/// Token ids of the first `n` tokens of `text` (repeated if shorter).
pub fn prompt_ids(lm: &LoadedLm, text: &str, n: usize) -> Result<Vec<u32>> {
    let ids = lm.encode_text(text)?;
    if ids.is_empty() {
        return Err(Error::Internal("benchmark text has no tokens".into()));
    }
    Ok(ids.iter().copied().cycle().take(n).collect())
}

/// Seconds to prefill `prompt` from an empty cache (best of `reps`).
pub fn time_prefill(model: &dyn CausalLm, prompt: &[u32], reps: usize) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let mut cache = model.new_cache();
        let t = Instant::now();
        model.forward(prompt, &mut cache)?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Generated tokens per second for `steps` greedy steps after `prompt`.
pub fn time_decode(model: &dyn CausalLm, prompt: &[u32], steps: usize) -> Result<f64> {
    let mut cache = model.new_cache();
    let logits = model.forward(prompt, &mut cache)?;
    let mut next = crate::backend::qwen2::argmax(&logits)?;
    let t = Instant::now();
    for _ in 0..steps {
        let logits = model.forward(&[next], &mut cache)?;
        next = crate::backend::qwen2::argmax(&logits)?;
    }
    Ok(steps as f64 / t.elapsed().as_secs_f64())
}

/// Aggregate generated tokens per second of `prompts.len()` sequences
/// decoded together for `steps` greedy steps (prefill and a first
/// warm-up step not timed).
pub fn time_batch_decode(model: &dyn CausalLm, prompts: &[Vec<u32>], steps: usize) -> Result<f64> {
    let mut caches: Vec<_> = prompts.iter().map(|_| model.new_cache()).collect();
    let mut next = Vec::with_capacity(prompts.len());
    for (p, c) in prompts.iter().zip(caches.iter_mut()) {
        let logits = model.forward_batch(&mut [(p.as_slice(), c)])?;
        next.push(crate::backend::qwen2::argmax(&logits.squeeze(0)?)?);
    }
    // One untimed step: on candle's kernels the first batch-invariant pass repacks the output
    // matrix into tiles (seconds), which is not decoding speed.
    let mut timed_from = None;
    for step in 0..=steps {
        if step == 1 {
            timed_from = Some(Instant::now());
        }
        let toks: Vec<[u32; 1]> = next.iter().map(|&n| [n]).collect();
        let mut batch: Vec<(&[u32], &mut crate::backend::KvCache)> = toks
            .iter()
            .zip(caches.iter_mut())
            .map(|(t, c)| (t.as_slice(), c))
            .collect();
        let logits = model.forward_batch(&mut batch)?;
        for (i, n) in next.iter_mut().enumerate() {
            *n = crate::backend::qwen2::argmax(&logits.get(i)?)?;
        }
    }
    let secs = timed_from.map_or(0.0, |t| t.elapsed().as_secs_f64());
    Ok((steps * prompts.len()) as f64 / secs.max(1e-9))
}

/// Sequential read bandwidth in GB/s: every worker sums its share of a
/// 256 MiB buffer (8x the largest L3 here); best of three passes.
pub fn read_bandwidth_gbs() -> f64 {
    use rayon::prelude::*;
    let words = (256usize << 20) / 8;
    let buf: Vec<u64> = (0..words as u64).collect();
    let mut best = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        let sum: u64 = buf
            .par_chunks(1 << 16)
            .map(|c| c.iter().fold(0u64, |a, &x| a.wrapping_add(x)))
            .reduce(|| 0, |a, b| a.wrapping_add(b));
        let s = t.elapsed().as_secs_f64();
        std::hint::black_box(sum);
        best = best.max((words * 8) as f64 / s / 1e9);
    }
    best
}

/// Peak resident set size of this process in MiB (Linux; 0 elsewhere).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Runs everything but the seed translation (the caller times that, since
/// it needs the pipeline's options) and returns the report with
/// `seed_wall_s` unset.
pub fn run(
    lm: &LoadedLm,
    model_name: &str,
    model_bytes: u64,
    text: &str,
    opts: &BenchOptions,
) -> Result<BenchReport> {
    let m = lm.model.as_ref();
    let short = prompt_ids(lm, text, SHORT_PROMPT)?;
    let long = prompt_ids(lm, text, LONG_PROMPT)?;
    // Warm-up: candle repacks each weight matrix on first use.
    time_prefill(m, &short[..16], 1)?;
    tracing::info!("prefill {SHORT_PROMPT} and {LONG_PROMPT} tokens");
    let prompt_tps_short = SHORT_PROMPT as f64 / time_prefill(m, &short, 3)?;
    let prompt_tps_long = LONG_PROMPT as f64 / time_prefill(m, &long, 2)?;
    tracing::info!(
        "decoding {} tokens at short and long context",
        opts.decode_tokens
    );
    let decode_tps_short = time_decode(m, &short, opts.decode_tokens)?;
    let decode_tps_long = time_decode(m, &long, opts.decode_tokens)?;
    tracing::info!("batched decoding, 1 and 8 sequences");
    // Eight different prompts: windows of the article, each its own length.
    let all = lm.encode_text(text)?;
    let eight: Vec<Vec<u32>> = (0..8)
        .map(|i| {
            let start = (i * 37) % all.len().max(1);
            all.iter()
                .copied()
                .cycle()
                .skip(start)
                .take(SHORT_PROMPT - 8 + 2 * i)
                .collect()
        })
        .collect();
    let batch1_decode_tps = time_batch_decode(m, &eight[..1], opts.decode_tokens)?;
    let batch8_decode_tps = time_batch_decode(m, &eight, opts.decode_tokens)?;
    tracing::info!("read bandwidth");
    let read_bandwidth_gbs = read_bandwidth_gbs();
    Ok(BenchReport {
        model: model_name.to_string(),
        model_bytes,
        threads: candle_core::utils::get_num_threads(),
        kernels: if m.device().is_cpu() && crate::backend::qwen2::packed_kernels_enabled() {
            "dich".into()
        } else {
            "candle".into()
        },
        prompt_tokens_short: SHORT_PROMPT,
        prompt_tokens_long: LONG_PROMPT,
        prompt_tps_short,
        prompt_tps_long,
        decode_tps_short,
        decode_tps_long,
        batch1_decode_tps,
        batch8_decode_tps,
        decode_tokens: opts.decode_tokens,
        seed_wall_s: None,
        seed_lanes: opts.seed_lanes,
        peak_rss_mb: peak_rss_mb(),
        read_bandwidth_gbs,
        bandwidth_bound_decode_tps: read_bandwidth_gbs * 1e9 / model_bytes.max(1) as f64,
    })
}

impl BenchReport {
    pub fn table(&self) -> String {
        let f = |x: f64| format!("{x:.1}");
        let rows: Vec<(String, String)> = vec![
            (
                "model".into(),
                format!("{} ({:.2} GB)", self.model, self.model_bytes as f64 / 1e9),
            ),
            ("threads".into(), self.threads.to_string()),
            ("quantized kernels".into(), self.kernels.clone()),
            (
                format!("prompt tokens/s, {} tokens", self.prompt_tokens_short),
                f(self.prompt_tps_short),
            ),
            (
                format!("prompt tokens/s, {} tokens", self.prompt_tokens_long),
                f(self.prompt_tps_long),
            ),
            (
                format!(
                    "generated tokens/s after {} tokens",
                    self.prompt_tokens_short
                ),
                f(self.decode_tps_short),
            ),
            (
                format!(
                    "generated tokens/s after {} tokens",
                    self.prompt_tokens_long
                ),
                f(self.decode_tps_long),
            ),
            (
                "batch 1 (batch-invariant path), tokens/s".into(),
                f(self.batch1_decode_tps),
            ),
            (
                "batch 8, tokens/s summed".into(),
                format!(
                    "{} ({:.2}x batch 1)",
                    f(self.batch8_decode_tps),
                    self.batch8_decode_tps / self.batch1_decode_tps.max(1e-9)
                ),
            ),
            (
                "seed article, translate wall s".into(),
                match self.seed_wall_s {
                    Some(s) => format!("{s:.1} (--lanes {})", self.seed_lanes),
                    None => "not run".into(),
                },
            ),
            (
                "peak memory, MiB".into(),
                format!("{:.0}", self.peak_rss_mb),
            ),
            ("read bandwidth, GB/s".into(), f(self.read_bandwidth_gbs)),
            (
                "bandwidth-bound decode tokens/s".into(),
                format!(
                    "{} (achieved {:.0}%)",
                    f(self.bandwidth_bound_decode_tps),
                    100.0 * self.decode_tps_short / self.bandwidth_bound_decode_tps.max(1e-9)
                ),
            ),
        ];
        let w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        rows.iter()
            .map(|(k, v)| format!("{k:<w$}  {v}\n"))
            .collect()
    }
}

/// `dich bench marian`: an encoder-decoder model translating a batch of
/// fixed-length random sources into a fixed number of tokens (end of
/// sentence suppressed until then), the way CTranslate2 is measured with
/// `min_decoding_length = max_decoding_length`.
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
    let mut rng = crate::backend::marian::random::Rng(seed);
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
    mt: &crate::backend::marian::MarianMt,
    name: &str,
    opts: &MarianBenchOptions,
) -> Result<MarianBenchReport> {
    use crate::generate::{generate, GenerateOptions};
    let m = &mt.model;
    if opts.batch == 0 || opts.src_len < 2 || opts.new_tokens == 0 || opts.rounds == 0 {
        return Err(Error::Usage(
            "--batch, --rounds and --new-tokens must be at least 1, --src-len at least 2".into(),
        ));
    }
    if opts.src_len > m.max_positions() || opts.new_tokens > m.max_positions() {
        return Err(Error::Usage(format!(
            "--src-len and --new-tokens must fit the model's {} positions",
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
    let gen = GenerateOptions {
        beam: opts.beam,
        n_best: 1,
        max_length: opts.new_tokens,
        min_length: opts.new_tokens,
        ..GenerateOptions::default()
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
        rounds.push(round1(tokens as f64 / secs));
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
        weight_mb: round1(m.weight_bytes() as f64 / (1024.0 * 1024.0)),
        threads: candle_core::utils::get_num_threads(),
        batch: refs.len(),
        src_len: opts.src_len,
        new_tokens: opts.new_tokens,
        beam: opts.beam,
        rounds: opts.rounds,
        tokens_per_s: median(&rounds),
        round_tokens_per_s: rounds,
        round_ms: round1(median(&times)),
        load_s: round1(mt.load_seconds),
        peak_rss_mb: round1(peak_rss_mb()),
        outputs,
        sources,
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
