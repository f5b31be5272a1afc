//! `dich bench`: the hot path measured on this machine, in one table.
//!
//! Prompts are the first tokens of the Vietnamese seed article (the same ids
//! `scripts/llama-compare.py` is given, so both engines see the same
//! prompts). Every figure is wall-clock time of real forward passes on the
//! loaded model; nothing is extrapolated except the bandwidth bound, which is
//! the measured read bandwidth divided by the weight bytes a decoding step
//! reads. Decoding runs through `crate::decode`, greedy, with no stop token.
//! [`marian`] measures encoder-decoder models the way CTranslate2 is measured.

pub mod marian;

use std::time::Instant;

use serde::Serialize;

use crate::decode::causal::{generate, generate_batch};
use crate::decode::search::Hooks;
use crate::decode::DecodingOptions;
use crate::error::{Error, Result};
use crate::model::{CausalLm, LoadedLm};

/// Prompt lengths of the reference measurements (llama.cpp: 62
/// prompt tokens/s at both).
pub const SHORT_PROMPT: usize = 97;
pub const LONG_PROMPT: usize = 520;

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub model: String,
    pub model_bytes: u64,
    pub threads: usize,
    /// Which quantized matrix kernels ran: `dich` (src/kernels/kquant,
    /// CPUs with AVX-512 VNNI, for Q4_K and Q6_K matrices, src/kernels/q32
    /// for the others), `dich-avx2` (src/kernels/q32, AVX2 CPUs) or
    /// `candle` (GPUs, other CPUs, or `DICH_KERNELS=candle`).
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

/// Greedy decoding that runs exactly `tokens` tokens: no stop token, no
/// log-probabilities.
fn fixed_length(tokens: usize) -> DecodingOptions {
    DecodingOptions {
        max_length: tokens,
        scores: false,
        ..DecodingOptions::default()
    }
}

/// Generated tokens per second for `steps` greedy steps after `prompt`
/// (the prompt's step is not timed).
pub fn time_decode(model: &dyn CausalLm, prompt: &[u32], steps: usize) -> Result<f64> {
    let mut cache = model.new_cache();
    let mut timed_from = None;
    let mut on_step = |step: usize| {
        if step == 1 {
            timed_from = Some(Instant::now());
        }
    };
    let mut hooks = Hooks {
        stop_when: None,
        on_step: Some(&mut on_step),
    };
    generate(
        model,
        &mut cache,
        prompt,
        &fixed_length(steps + 1),
        &mut hooks,
    )?;
    let secs = timed_from.map_or(0.0, |t| t.elapsed().as_secs_f64());
    Ok(steps as f64 / secs.max(1e-9))
}

/// Aggregate generated tokens per second of `prompts.len()` sequences
/// decoded together for `steps` greedy steps, through the batch-invariant
/// path (the prompts' step and a first warm-up step not timed: on candle's
/// kernels the first batch-invariant pass repacks the output matrix into
/// tiles, seconds that are not decoding speed).
pub fn time_batch_decode(model: &dyn CausalLm, prompts: &[Vec<u32>], steps: usize) -> Result<f64> {
    let starts = prompts
        .iter()
        .map(|p| (model.new_cache(), p.clone()))
        .collect();
    let mut timed_from = None;
    let mut on_step = |step: usize| {
        if step == 2 {
            timed_from = Some(Instant::now());
        }
    };
    let mut hooks = Hooks {
        stop_when: None,
        on_step: Some(&mut on_step),
    };
    generate_batch(model, starts, &fixed_length(steps + 2), &mut hooks)?;
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
        kernels: if !m.device().is_cpu() {
            "candle".into()
        } else if crate::model::decoder::packed_kernels_enabled() {
            "dich".into()
        } else if crate::model::decoder::block_kernels_enabled() {
            "dich-avx2".into()
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
                    Some(s) => format!("{s:.1} ({} lanes)", self.seed_lanes),
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
