//! Token generation: greedy by default, with stop rules (end-of-turn tokens,
//! a length cap), a repetition-loop guard and an optional repetition penalty.
//! The pieces that decide (`RepetitionGuard`, `Sampler`) are tested on plain
//! data without a model.

use std::time::Instant;

use candle_core::Tensor;
use candle_transformers::generation::{LogitsProcessor, Sampling};

use crate::backend::{CausalLm, KvCache};
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The model ended its turn.
    EndOfTurn,
    /// The length cap was reached.
    MaxTokens,
    /// A repetition loop was detected and cut.
    Repetition,
}

#[derive(Debug, Clone)]
pub struct GenerateConfig {
    pub max_new_tokens: usize,
    /// Divide positive logits (multiply negative ones) of tokens generated
    /// in the last `window` steps by this factor.
    pub repeat_penalty: Option<(f32, usize)>,
    /// `None`: greedy (argmax). `Some(t)`: sample at temperature `t`.
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub seed: u64,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        Self {
            max_new_tokens: 256,
            repeat_penalty: None,
            temperature: None,
            top_p: None,
            seed: 299_792_458,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Generation {
    /// Generated tokens, without the stop token.
    pub tokens: Vec<u32>,
    pub stop: StopReason,
    pub prompt_tokens: usize,
    pub prompt_seconds: f64,
    pub generate_seconds: f64,
}

/// Detects a generation stuck in a loop: the tail of the output is one unit
/// of `period` tokens repeated back to back.
#[derive(Debug, Clone)]
pub struct RepetitionGuard {
    pub max_period: usize,
    /// Minimum repeats of a short unit (period <= 4 tokens).
    pub short_repeats: usize,
    /// Minimum repeats of a longer unit.
    pub long_repeats: usize,
    /// Ignore loops covering fewer tokens than this.
    pub min_span: usize,
}

impl Default for RepetitionGuard {
    fn default() -> Self {
        Self {
            max_period: 40,
            short_repeats: 6,
            long_repeats: 3,
            min_span: 12,
        }
    }
}

impl RepetitionGuard {
    pub fn is_looping(&self, tokens: &[u32]) -> bool {
        let n = tokens.len();
        for period in 1..=self.max_period.min(n / 2) {
            let unit = &tokens[n - period..];
            let mut repeats = 1;
            while (repeats + 1) * period <= n {
                let start = n - (repeats + 1) * period;
                if &tokens[start..start + period] != unit {
                    break;
                }
                repeats += 1;
            }
            let needed = if period <= 4 {
                self.short_repeats
            } else {
                self.long_repeats
            };
            if repeats >= needed && repeats * period >= self.min_span {
                return true;
            }
        }
        false
    }
}

/// Picks the next token from logits.
pub struct Sampler {
    processor: LogitsProcessor,
    repeat_penalty: Option<(f32, usize)>,
}

impl Sampler {
    pub fn new(cfg: &GenerateConfig) -> Self {
        let sampling = match (cfg.temperature, cfg.top_p) {
            (None, _) => Sampling::ArgMax,
            (Some(t), _) if t <= 0.0 => Sampling::ArgMax,
            (Some(temperature), None) => Sampling::All { temperature },
            (Some(temperature), Some(p)) => Sampling::TopP { p, temperature },
        };
        Self {
            processor: LogitsProcessor::from_sampling(cfg.seed, sampling),
            repeat_penalty: cfg.repeat_penalty,
        }
    }

    pub fn next(&mut self, logits: &Tensor, generated: &[u32]) -> Result<u32> {
        let logits = match self.repeat_penalty {
            Some((penalty, window)) if penalty != 1.0 && !generated.is_empty() => {
                let from = generated.len().saturating_sub(window);
                candle_transformers::utils::apply_repeat_penalty(
                    logits,
                    penalty,
                    &generated[from..],
                )?
            }
            _ => logits.clone(),
        };
        Ok(self.processor.sample(&logits)?)
    }
}

/// Feeds `prompt` after what `cache` holds, then generates until a stop
/// token, the length cap or a loop. On return `cache` holds the prompt and
/// every generated token except the stop token.
pub fn generate(
    model: &dyn CausalLm,
    cache: &mut KvCache,
    prompt: &[u32],
    stop_tokens: &[u32],
    cfg: &GenerateConfig,
) -> Result<Generation> {
    generate_until(model, cache, prompt, stop_tokens, cfg, &mut |_| false)
}

/// [`generate`], also stopping (as at an end of turn) as soon as `done`
/// returns true for the tokens generated so far.
pub fn generate_until(
    model: &dyn CausalLm,
    cache: &mut KvCache,
    prompt: &[u32],
    stop_tokens: &[u32],
    cfg: &GenerateConfig,
    done: &mut dyn FnMut(&[u32]) -> bool,
) -> Result<Generation> {
    let guard = RepetitionGuard::default();
    let mut sampler = Sampler::new(cfg);
    let start = Instant::now();
    let mut logits = model.forward(prompt, cache)?;
    let prompt_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut tokens = Vec::new();
    let room = model.context_length().saturating_sub(cache.len());
    let max_new = cfg.max_new_tokens.min(room);
    let stop = loop {
        let next = sampler.next(&logits, &tokens)?;
        if stop_tokens.contains(&next) {
            break StopReason::EndOfTurn;
        }
        tokens.push(next);
        if guard.is_looping(&tokens) {
            break StopReason::Repetition;
        }
        if done(&tokens) {
            break StopReason::EndOfTurn;
        }
        if tokens.len() >= max_new {
            break StopReason::MaxTokens;
        }
        logits = model.forward(&[next], cache)?;
    };
    Ok(Generation {
        tokens,
        stop,
        prompt_tokens: prompt.len(),
        prompt_seconds,
        generate_seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn guard_detects_loops_and_spares_normal_text() {
        let g = RepetitionGuard::default();
        // "the the the ..." : period 1, needs 6 repeats and 12 tokens.
        assert!(!g.is_looping(&[7; 11]));
        assert!(g.is_looping(&[7; 12]));
        // A 5-token phrase repeated 3 times (15 tokens) is a loop.
        let phrase = [1, 2, 3, 4, 5];
        let looped: Vec<u32> = [10, 11]
            .iter()
            .copied()
            .chain(phrase.iter().copied().cycle().take(15))
            .collect();
        assert!(g.is_looping(&looped));
        // Twice is not enough: "very, very" style repetition is normal.
        let twice: Vec<u32> = phrase.iter().copied().cycle().take(10).collect();
        assert!(!g.is_looping(&twice));
        // Ordinary varied tokens.
        let varied: Vec<u32> = (0..200).collect();
        assert!(!g.is_looping(&varied));
        assert!(!g.is_looping(&[]));
    }

    #[test]
    fn sampler_is_greedy_by_default_and_penalty_changes_choice() {
        let logits = Tensor::new(&[1.0f32, 3.0, 2.9, -1.0], &Device::Cpu).unwrap();
        let mut s = Sampler::new(&GenerateConfig::default());
        assert_eq!(s.next(&logits, &[]).unwrap(), 1);
        // Token 1 was just generated: a 1.5 penalty makes 3.0 -> 2.0 < 2.9.
        let cfg = GenerateConfig {
            repeat_penalty: Some((1.5, 8)),
            ..GenerateConfig::default()
        };
        let mut s = Sampler::new(&cfg);
        assert_eq!(s.next(&logits, &[1]).unwrap(), 2);
        // Outside the window the penalty does not apply.
        let cfg = GenerateConfig {
            repeat_penalty: Some((1.5, 1)),
            ..GenerateConfig::default()
        };
        let mut s = Sampler::new(&cfg);
        assert_eq!(s.next(&logits, &[1, 0]).unwrap(), 1);
    }

    #[test]
    fn seeded_sampling_is_reproducible() {
        let logits = Tensor::new(&[0.5f32, 0.4, 0.3, 0.2, 0.1], &Device::Cpu).unwrap();
        let cfg = GenerateConfig {
            temperature: Some(1.0),
            seed: 42,
            ..GenerateConfig::default()
        };
        let a: Vec<u32> = {
            let mut s = Sampler::new(&cfg);
            (0..20).map(|_| s.next(&logits, &[]).unwrap()).collect()
        };
        let b: Vec<u32> = {
            let mut s = Sampler::new(&cfg);
            (0..20).map(|_| s.next(&logits, &[]).unwrap()).collect()
        };
        assert_eq!(a, b);
        assert!(
            a.iter().any(|&t| t != a[0]),
            "temperature 1 should vary: {a:?}"
        );
    }
}
