//! Several candidates per sentence, decoded as one batch, and the choice
//! among them ([`crate::translate::select`]).
//!
//! The request is fed once; its key/value cache is then copied for each
//! candidate, and all candidates decode side by side: the first greedily,
//! the others by epsilon sampling, each with its own seed (derived from the
//! run's seed, the candidate's index and the sentence, so a run is
//! reproducible). Each candidate is cleaned and checked like a single
//! reply; the hard checks set apart the failing ones, and the method
//! chooses among the rest. The conversation goes on from the chosen
//! candidate's cache.

use super::{Conversation, LlmTranslator, Reply};
use crate::decode::causal::generate_starts;
use crate::decode::search::{Hooks, Start};
use crate::decode::{Sampling, StopReason};
use crate::error::Result;
use crate::translate::{check, fidelity, select};
use crate::types::Alternative;
use crate::util::num::round_to;

/// FNV-1a of a text: mixes the sentence into the samplers' seeds.
fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// How bad a candidate is for the hard checks: structural problems weigh
/// most, then a cut or looping reply, then each fidelity finding.
fn hard_weight(problems: &[check::Problem], findings: usize, stop: StopReason) -> u32 {
    let cut = if stop == StopReason::End { 0 } else { 50 };
    100 * check::weight(problems) + cut + findings as u32
}

impl LlmTranslator<'_> {
    pub(super) fn reply_from_candidates(
        &mut self,
        conv: &mut Conversation,
        text: &str,
    ) -> Result<Reply> {
        let before = conv.clone();
        let c = self.opts.candidates.clone();
        let prompt = self.request(conv, text)?;
        let source_tokens = self.lm.encode_text(text)?.len();
        let opts = self.decoding_for(source_tokens, false);
        // The request once, all but its last token; each candidate starts
        // from a copy with that last token.
        let (last, head) = match prompt.split_last() {
            Some((last, head)) => (*last, head),
            None => return self.attempt_guarded(conv, text),
        };
        let started = std::time::Instant::now();
        if !head.is_empty() {
            self.model.forward(head, &mut conv.cache)?;
        }
        self.stats.prompt_tokens += head.len();
        self.stats.prompt_s += started.elapsed().as_secs_f64();
        let seed = self.opts.decoding.seed ^ fnv(text);
        let starts: Vec<Start<_>> = (0..c.n)
            .map(|i| Start {
                state: conv.cache.clone(),
                tokens: vec![last],
                sampling: (i > 0).then_some(Sampling {
                    temperature: c.temperature,
                    top_p: None,
                    seed: seed.wrapping_add(i as u64),
                    epsilon: Some(c.epsilon),
                }),
            })
            .collect();
        let decoded = generate_starts(self.model, starts, &opts, &mut Hooks::default())?;
        self.stats.prompt_tokens += decoded.stats.prompt_tokens;
        self.stats.prompt_s += decoded.stats.prompt_s;
        self.stats.generate_s += decoded.stats.decode_s;
        let mut texts = Vec::with_capacity(c.n);
        let mut stops = Vec::with_capacity(c.n);
        for hyps in &decoded.hypotheses {
            let h = hyps.first().ok_or_else(|| {
                crate::Error::Internal("a candidate search returned nothing".into())
            })?;
            self.stats.generated_tokens += h.tokens.len();
            texts.push(check::clean_reply(&self.lm.decode(&h.tokens)?, text));
            stops.push(h.stop);
        }
        let weights: Vec<u32> = texts
            .iter()
            .zip(&stops)
            .map(|(t, &stop)| {
                let problems = check::check(t, text, self.pair.to);
                let findings = fidelity::check(text, t, self.pair).len();
                hard_weight(&problems, findings, stop)
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let qe = match (&c.qe, c.method.needs_qe()) {
            (Some(qe), true) => Some(qe.scores(text, &refs)?),
            _ => None,
        };
        let choice = select::choose(&refs, &weights, c.method, qe.as_deref());
        tracing::debug!(
            "candidates {:?} weights {weights:?} scores {:?}: chose {}",
            texts,
            choice.scores,
            choice.index
        );
        let k = choice.index;
        if stops[k] != StopReason::End {
            // Every candidate was cut or looped: the single-reply path with
            // its loop fallback.
            *conv = before;
            return self.attempt_guarded(conv, text);
        }
        let mut states = decoded.states;
        match states.get_mut(k).and_then(Option::take) {
            Some(state) => conv.cache = state,
            None => {
                return Err(crate::Error::Internal(
                    "the chosen candidate has no state".into(),
                ))
            }
        }
        conv.pending = self.prompts.close_reply();
        let n_best = self.opts.decoding.n_best.unwrap_or(1);
        let alternatives: Vec<Alternative> = texts
            .iter()
            .zip(&choice.scores)
            .map(|(t, &s)| Alternative {
                target: t.clone(),
                score: round_to(s, 4),
            })
            .collect();
        let chosen_score = alternatives[k].score;
        let shown = if n_best > 1 {
            // The chosen one first, then the others by score.
            let mut order: Vec<usize> = (0..texts.len()).filter(|&i| i != k).collect();
            order.sort_by(|&a, &b| choice.scores[b].total_cmp(&choice.scores[a]));
            let mut list = vec![alternatives[k].clone()];
            list.extend(
                order
                    .into_iter()
                    .take(n_best - 1)
                    .map(|i| alternatives[i].clone()),
            );
            list
        } else {
            Vec::new()
        };
        Ok(Reply {
            target: texts.swap_remove(k),
            stop: StopReason::End,
            looped: false,
            candidates: Some((shown, chosen_score)),
        })
    }
}
