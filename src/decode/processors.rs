//! Logits processors: what is done to a row of next-token logits before a
//! token is chosen (repetition penalty, suppressed tokens, the minimum
//! length, no-repeat n-grams), and the loop guard that cuts a hypothesis
//! whose tail repeats. Pure functions over slices, tested without a model.

use serde::Serialize;

use super::DecodingOptions;

/// Detects a generation stuck in a loop: the tail of the output is one unit
/// of `period` tokens repeated back to back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoopGuard {
    pub max_period: usize,
    /// Minimum repeats of a short unit (period <= 4 tokens).
    pub short_repeats: usize,
    /// Minimum repeats of a longer unit.
    pub long_repeats: usize,
    /// Ignore loops covering fewer tokens than this.
    pub min_span: usize,
}

impl Default for LoopGuard {
    fn default() -> Self {
        Self {
            max_period: 40,
            short_repeats: 6,
            long_repeats: 3,
            min_span: 12,
        }
    }
}

impl LoopGuard {
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

/// What the processors need to know about the model and the hypothesis.
pub struct Context<'a> {
    /// Tokens before the generated ones that count for no-repeat n-grams
    /// (an encoder-decoder's start token; nothing for a causal LM).
    pub prefix: &'a [u32],
    /// Tokens generated so far.
    pub generated: &'a [u32],
    /// Tokens never generated (e.g. padding).
    pub suppressed: &'a [u32],
    /// Tokens that end a hypothesis.
    pub stop: &'a [u32],
}

/// Applies every processor `opts` turns on to one row of logits, in place.
pub fn process(logits: &mut [f32], cx: &Context, opts: &DecodingOptions) {
    if opts.repetition_penalty != 1.0 {
        let from = opts
            .repetition_window
            .map_or(0, |w| cx.generated.len().saturating_sub(w));
        let mut seen = cx.generated[from..].to_vec();
        seen.sort_unstable();
        seen.dedup();
        for t in seen {
            if let Some(l) = logits.get_mut(t as usize) {
                *l = if *l >= 0.0 {
                    *l / opts.repetition_penalty
                } else {
                    *l * opts.repetition_penalty
                };
            }
        }
    }
    for &t in cx.suppressed {
        if let Some(l) = logits.get_mut(t as usize) {
            *l = f32::NEG_INFINITY;
        }
    }
    if cx.generated.len() < opts.min_length {
        for &t in cx.stop {
            if let Some(l) = logits.get_mut(t as usize) {
                *l = f32::NEG_INFINITY;
            }
        }
    }
    let n = opts.no_repeat_ngram;
    if n > 0 {
        // The sequence as the decoder saw it: the prefix, then generated.
        let seq: Vec<u32> = cx.prefix.iter().chain(cx.generated).copied().collect();
        if seq.len() + 1 >= n {
            let tail = &seq[seq.len() + 1 - n..];
            for w in seq.windows(n) {
                if &w[..n - 1] == tail {
                    if let Some(l) = logits.get_mut(w[n - 1] as usize) {
                        *l = f32::NEG_INFINITY;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_detects_loops_and_spares_normal_text() {
        let g = LoopGuard::default();
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
    fn processors() {
        let opts = DecodingOptions {
            repetition_penalty: 2.0,
            no_repeat_ngram: 2,
            min_length: 3,
            ..Default::default()
        };
        let cx = |generated: &'static [u32], suppressed: &'static [u32]| Context {
            prefix: &[9],
            generated,
            suppressed,
            stop: &[0],
        };
        // start=9, generated 1 2 1: bigram (1,2) seen, so after 1 token 2 is banned.
        let mut l = vec![1.0, 4.0, 2.0, -1.0, 0.5];
        process(&mut l, &cx(&[1, 2, 1], &[3]), &opts);
        assert_eq!(l[1], 2.0); // penalized positive
        assert_eq!(l[2], f32::NEG_INFINITY); // no-repeat bigram
        assert_eq!(l[3], f32::NEG_INFINITY); // suppressed
        assert_eq!(l[4], 0.5);
        assert_eq!(l[0], 1.0); // stop allowed at length 3
        let mut l = vec![1.0, -4.0];
        process(&mut l, &cx(&[1], &[]), &opts);
        assert_eq!(l[0], f32::NEG_INFINITY); // stop before min length
        assert_eq!(l[1], -8.0); // penalized negative
    }

    #[test]
    fn the_penalty_window_counts_the_last_tokens_only() {
        let opts = DecodingOptions {
            repetition_penalty: 1.5,
            repetition_window: Some(1),
            ..Default::default()
        };
        let cx = Context {
            prefix: &[],
            generated: &[1, 0],
            suppressed: &[],
            stop: &[],
        };
        let mut l = vec![3.0, 3.0];
        process(&mut l, &cx, &opts);
        assert_eq!(l, vec![2.0, 3.0]);
    }
}
