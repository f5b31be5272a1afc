//! Choosing a token from a processed row of logits: the most likely one, or
//! a seeded sample (candle's `LogitsProcessor`), plus the row arithmetic the
//! searches share (log-softmax, top-k, length-normalized scores).

use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling as CandleSampling};

use super::{Result, Sampling};

/// Picks the next token of one hypothesis.
pub enum Selector {
    Greedy,
    Sample {
        processor: Box<LogitsProcessor>,
        device: Device,
        epsilon: Option<f32>,
    },
}

impl Selector {
    /// Greedy unless `sampling` asks for a positive temperature; a sampler
    /// is seeded afresh each time one is made.
    pub fn new(sampling: Option<Sampling>, device: &Device) -> Self {
        match sampling {
            Some(s) if s.temperature > 0.0 => {
                let how = match s.top_p {
                    None => CandleSampling::All {
                        temperature: s.temperature,
                    },
                    Some(p) => CandleSampling::TopP {
                        p,
                        temperature: s.temperature,
                    },
                };
                Selector::Sample {
                    processor: Box::new(LogitsProcessor::from_sampling(s.seed, how)),
                    device: device.clone(),
                    epsilon: s.epsilon,
                }
            }
            _ => Selector::Greedy,
        }
    }

    pub fn pick(&mut self, row: &[f32]) -> Result<usize> {
        match self {
            Selector::Greedy => Ok(argmax(row)),
            Selector::Sample {
                processor,
                device,
                epsilon,
            } => {
                let logits = match epsilon {
                    Some(eps) if *eps > 0.0 => {
                        let mut kept = row.to_vec();
                        epsilon_truncate(&mut kept, *eps);
                        let n = kept.len();
                        Tensor::from_vec(kept, n, device)?
                    }
                    _ => Tensor::from_slice(row, row.len(), device)?,
                };
                Ok(processor.sample(&logits)? as usize)
            }
        }
    }
}

/// Epsilon truncation: every token whose probability (softmax of `row`) is
/// below `epsilon` gets -inf, except the most likely one, which always
/// stays.
pub fn epsilon_truncate(row: &mut [f32], epsilon: f32) {
    let best = argmax(row);
    let mut probs = row.to_vec();
    log_softmax(&mut probs);
    let cut = epsilon.ln();
    for (i, (v, lp)) in row.iter_mut().zip(&probs).enumerate() {
        if i != best && *lp < cut {
            *v = f32::NEG_INFINITY;
        }
    }
}

/// The index of the largest value (the first on ties).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// log-softmax of a row, in place.
pub fn log_softmax(row: &mut [f32]) {
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

/// Indices of the `k` largest values, largest first (ties: lower index first).
pub fn top_k(row: &[f32], k: usize) -> Vec<usize> {
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

/// `logprob / len^penalty` (the raw log-probability for penalty 0).
pub fn normalized(logprob: f32, len: usize, penalty: f32) -> f32 {
    if penalty == 0.0 {
        logprob
    } else {
        logprob / (len.max(1) as f32).powf(penalty)
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
    fn argmax_takes_the_first_of_equal_values() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, -1.0]), 1);
        assert_eq!(argmax(&[f32::NEG_INFINITY; 3]), 0);
    }

    #[test]
    fn seeded_sampling_is_reproducible_and_varies() {
        let row = [0.5f32, 0.4, 0.3, 0.2, 0.1];
        let s = Some(Sampling {
            temperature: 1.0,
            top_p: None,
            seed: 42,
            epsilon: None,
        });
        let draw = || {
            let mut sel = Selector::new(s, &Device::Cpu);
            (0..20).map(|_| sel.pick(&row).unwrap()).collect::<Vec<_>>()
        };
        let a = draw();
        assert_eq!(a, draw());
        assert!(
            a.iter().any(|&t| t != a[0]),
            "temperature 1 should vary: {a:?}"
        );
        // Temperature 0 is greedy.
        let mut g = Selector::new(
            Some(Sampling {
                temperature: 0.0,
                top_p: None,
                seed: 1,
                epsilon: None,
            }),
            &Device::Cpu,
        );
        assert_eq!(g.pick(&row).unwrap(), 0);
    }

    #[test]
    fn epsilon_sampling_never_draws_unlikely_tokens() {
        // Probabilities about 0.64, 0.24, 0.09, 0.03: epsilon 0.05 keeps two.
        let row = [3.0f32, 2.0, 1.0, 0.0];
        let mut cut = row;
        epsilon_truncate(&mut cut, 0.05);
        assert_eq!(cut[..3], [3.0, 2.0, 1.0]);
        assert_eq!(cut[3], f32::NEG_INFINITY);
        let s = Some(Sampling {
            temperature: 1.0,
            top_p: None,
            seed: 7,
            epsilon: Some(0.2),
        });
        let mut sel = Selector::new(s, &Device::Cpu);
        let draws: Vec<usize> = (0..200).map(|_| sel.pick(&row).unwrap()).collect();
        assert!(draws.iter().all(|&t| t <= 1), "{draws:?}");
        assert!(draws.contains(&0) && draws.contains(&1));
    }
}
