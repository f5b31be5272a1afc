//! Translation with a chat model, sentence by sentence, with document
//! context and a strict 1:1 mapping: every source segment gets exactly one
//! target.
//!
//! Each paragraph is one conversation that starts from the cached instruction
//! prefix plus the previous paragraph's last exchange; each sentence is one
//! user turn, and the reply is its translation. A reply that cannot stand for
//! its sentence is retried with the sentence alone; a looping reply is decoded
//! again with a repetition penalty. What happened is recorded as flags.
//! [`lanes`] translates runs of paragraphs side by side, batched.

mod candidates;
pub mod lanes;
pub mod prompt;

use std::time::Instant;

use super::OnSegment;
use super::{
    check, fidelity, glossary, lexicon, RunStats, SegmentTranslation, TranslateOptions, Translated,
    Translator,
};
use crate::decode::causal::generate;
use crate::decode::search::Hooks;
use crate::decode::{DecodingOptions, LoopGuard, Sampling, StopReason};
use crate::error::{Error, Result};
use crate::model::{CausalLm, KvCache, LoadedLm};
use crate::text::model_text;
use crate::types::{Alternative, Flag, Lang, LangPair, Segment, SegmentKind};
use prompt::PromptBuilder;

/// A translator bound to a loaded model and a language pair. Creating it
/// computes the instruction prefix's key/value cache, once.
pub struct LlmTranslator<'a> {
    lm: &'a LoadedLm,
    /// What runs the forward passes: `lm.model`, or a lane of a batcher.
    pub(super) model: &'a dyn CausalLm,
    prompts: PromptBuilder<'a>,
    pair: LangPair,
    opts: TranslateOptions,
    prefix: KvCache,
    /// The glossary in effect for this language pair.
    glossary: glossary::Glossary,
    /// The cost of computing `prefix`, paid once per translator.
    prefix_stats: RunStats,
    pub(super) stats: RunStats,
}

/// The conversation state of the paragraph being translated.
#[derive(Clone)]
struct Conversation {
    cache: KvCache,
    /// Tokens to feed before the next request (closing the last reply).
    pending: Vec<u32>,
}

/// One decoded reply.
struct Reply {
    target: String,
    stop: StopReason,
    /// It looped once and was decoded again with a penalty.
    looped: bool,
    /// Chosen among candidates: the candidates to show (with `n_best`; the
    /// chosen one first) and the chosen one's selection score.
    candidates: Option<(Vec<Alternative>, f64)>,
}

impl Reply {
    fn into_translation(self, problems: &[check::Problem], retried: bool) -> SegmentTranslation {
        let mut flags = Vec::new();
        if retried {
            flags.push(Flag::RetriedAlone);
        }
        if self.looped {
            flags.push(Flag::Repetition);
        }
        if self.stop != StopReason::End {
            flags.push(Flag::Truncated);
        }
        flags.extend(problems.iter().map(|p| p.flag()));
        let (alternatives, selection) = match self.candidates {
            Some((alts, score)) => (alts, Some(score)),
            None => (Vec::new(), None),
        };
        SegmentTranslation {
            target: self.target,
            flags,
            alternatives,
            selection,
        }
    }
}

impl<'a> LlmTranslator<'a> {
    /// A translator for `pair`; computes the instruction prefix's
    /// key/value cache, once.
    pub fn new(lm: &'a LoadedLm, pair: LangPair, opts: TranslateOptions) -> Result<Self> {
        if pair.from == pair.to {
            return Err(Error::LanguagePair {
                from: pair.from.code().into(),
                to: pair.to.code().into(),
            });
        }
        let prompts = PromptBuilder::new(lm)?;
        let prefix_tokens = prompts.prefix(pair.from, pair.to)?;
        let start = Instant::now();
        let mut prefix = lm.model.new_cache();
        lm.model.forward(&prefix_tokens, &mut prefix)?;
        let prefix_stats = RunStats {
            prompt_tokens: prefix_tokens.len(),
            prompt_s: start.elapsed().as_secs_f64(),
            ..RunStats::default()
        };
        tracing::debug!(
            "instruction prefix: {} tokens in {:.1}s",
            prefix_tokens.len(),
            prefix_stats.prompt_s
        );
        let p = &opts.prompt;
        let mut glossary = if p.builtin_glossary {
            glossary::Glossary::builtin(pair.from, pair.to)
        } else {
            glossary::Glossary::default()
        };
        if let Some(user) = &p.user_glossary {
            if user.0 == pair.from && user.1 == pair.to {
                glossary = glossary.extend(&user.2);
            }
        }
        Ok(Self {
            lm,
            model: lm.model.as_ref(),
            prompts,
            pair,
            opts,
            prefix,
            glossary,
            prefix_stats,
            stats: RunStats::default(),
        })
    }

    /// A translator with the same options and the same computed prefix
    /// that runs its forward passes on `model` (a batcher's lane).
    pub fn fork<'b>(&self, model: &'b dyn CausalLm) -> LlmTranslator<'b>
    where
        'a: 'b,
    {
        LlmTranslator {
            lm: self.lm,
            model,
            prompts: self.prompts.clone(),
            pair: self.pair,
            opts: self.opts.clone(),
            prefix: self.prefix.clone(),
            glossary: self.glossary.clone(),
            prefix_stats: RunStats::default(),
            stats: RunStats::default(),
        }
    }

    /// The most key/value memory one document in flight can hold, estimated:
    /// the conversation is rebuilt past `context_budget` tokens, to which
    /// one sentence and its reply (up to 1,024 tokens together) add, for
    /// each candidate decoded side by side. The instruction prefix's cache
    /// gives the bytes per token.
    pub fn sequence_bytes(&self) -> u64 {
        let per_token = self.prefix.bytes() / self.prefix.len().max(1) as u64;
        let tokens = (self.opts.prompt.context_budget + 1024) as u64;
        per_token * tokens * self.opts.candidates.n.max(1) as u64
    }

    pub fn options(&self) -> &TranslateOptions {
        &self.opts
    }

    /// What computing the instruction prefix cost (once, in [`Self::new`]).
    pub fn prefix_stats(&self) -> &RunStats {
        &self.prefix_stats
    }

    /// Token counts and times of the translations since the last call (or
    /// since creation), not counting the prefix; the counters restart at 0.
    pub fn take_stats(&mut self) -> RunStats {
        std::mem::take(&mut self.stats)
    }

    fn fresh_conversation(&self, context: Option<(&str, &str)>) -> Result<Conversation> {
        let pending = match context {
            Some((src, tgt)) if self.opts.prompt.context => self.prompts.exchange(src, tgt)?,
            _ => Vec::new(),
        };
        Ok(Conversation {
            cache: self.prefix.clone(),
            pending,
        })
    }

    /// Decoding of one reply: greedy (or sampling, if asked), at most
    /// `base + factor * source tokens` tokens, cut if it loops; with
    /// `penalty`, the loop penalty over the last tokens.
    fn decoding_for(&self, source_tokens: usize, penalty: bool) -> DecodingOptions {
        let p = &self.opts.prompt;
        let d = &self.opts.decoding;
        DecodingOptions {
            max_length: p.max_tokens_base
                + (source_tokens as f32 * p.max_tokens_factor).ceil() as usize,
            repetition_penalty: if penalty { p.loop_penalty.0 } else { 1.0 },
            repetition_window: Some(p.loop_penalty.1),
            sampling: d.temperature.map(|temperature| Sampling {
                temperature,
                top_p: d.top_p,
                seed: d.seed,
                epsilon: None,
            }),
            stop_tokens: self.lm.stop_tokens.clone(),
            loop_guard: Some(LoopGuard::default()),
            scores: false,
            ..DecodingOptions::default()
        }
    }

    /// One attempt: request + generation from `conv`, returning the cleaned
    /// reply and the stop reason. `conv` is advanced past the reply.
    fn attempt(
        &mut self,
        conv: &mut Conversation,
        text: &str,
        penalty: bool,
    ) -> Result<(String, StopReason)> {
        let prompt = self.request(conv, text)?;
        let source_tokens = self.lm.encode_text(text)?.len();
        let opts = self.decoding_for(source_tokens, penalty);
        let g = generate(
            self.model,
            &mut conv.cache,
            &prompt,
            &opts,
            &mut Hooks::default(),
        )?;
        self.stats.prompt_tokens += g.stats.prompt_tokens;
        self.stats.generated_tokens += g.hypothesis.tokens.len();
        self.stats.prompt_s += g.stats.prompt_s;
        self.stats.generate_s += g.stats.decode_s;
        let reply = self.lm.decode(&g.hypothesis.tokens)?;
        conv.pending = self.prompts.close_reply();
        Ok((check::clean_reply(&reply, text), g.hypothesis.stop))
    }

    /// The tokens that ask for `text` in `conv`: what is pending, memory
    /// examples, the request with its glossary note. Takes `conv.pending`.
    fn request(&self, conv: &mut Conversation, text: &str) -> Result<Vec<u32>> {
        let mut prompt = std::mem::take(&mut conv.pending);
        let p = &self.opts.prompt;
        if let Some(memory) = &p.memory {
            for (src, tgt) in memory.nearest(text, p.memory_examples, p.memory_skip_identical) {
                prompt.extend(self.prompts.exchange(src, tgt)?);
            }
        }
        match self.glossary_note(text) {
            Some(note) => prompt.extend(self.prompts.request(&format!("{text}\n{note}"))?),
            None => prompt.extend(self.prompts.request(text)?),
        }
        Ok(prompt)
    }

    /// The glossary note of `text`: the glossary's entries, then the
    /// lexicon's names not already covered (with the built-in glossary on).
    fn glossary_note(&self, text: &str) -> Option<String> {
        let matches = self.glossary.matches(text);
        let mut items: Vec<String> = matches
            .iter()
            .map(|e| format!("{} = {}", e.term, e.rendering))
            .collect();
        if self.opts.prompt.builtin_glossary
            && self.pair.from == Lang::Vi
            && self.pair.to == Lang::En
        {
            let lex = lexicon::Lexicon::builtin();
            for m in lex.find_vi(text) {
                let e = lex.entity(m.entity);
                let term = &text[m.start..m.end];
                let covered = matches
                    .iter()
                    .any(|g| g.term.contains(term) || g.rendering == e.english());
                if covered || !matches!(e.kind, lexicon::Kind::Territory | lexicon::Kind::City) {
                    continue;
                }
                let item = match e.en_adj.iter().find(|f| !f.weak) {
                    Some(adj) if adj.text != e.english() => {
                        format!("{term} = {} ({})", e.english(), adj.text)
                    }
                    _ => format!("{term} = {}", e.english()),
                };
                if !items.contains(&item) {
                    items.push(item);
                }
            }
        }
        if items.is_empty() {
            None
        } else {
            Some(format!("(Glossary: {})", items.join("; ")))
        }
    }

    /// A reply: the greedy one (with the loop fallback), or the choice
    /// among candidates when there are several.
    fn reply(&mut self, conv: &mut Conversation, text: &str) -> Result<Reply> {
        if self.opts.candidates.n > 1 {
            self.reply_from_candidates(conv, text)
        } else {
            self.attempt_guarded(conv, text)
        }
    }

    /// An attempt that, if the reply loops or runs out of room, is decoded
    /// again from the same state with a repetition penalty.
    fn attempt_guarded(&mut self, conv: &mut Conversation, text: &str) -> Result<Reply> {
        let before = conv.clone();
        let (target, stop) = self.attempt(conv, text, false)?;
        if stop == StopReason::End {
            return Ok(Reply {
                target,
                stop,
                looped: false,
                candidates: None,
            });
        }
        *conv = before;
        let (target, stop) = self.attempt(conv, text, true)?;
        Ok(Reply {
            target,
            stop,
            looped: true,
            candidates: None,
        })
    }

    /// Translates one sentence within `conv`, with the fallbacks described
    /// in the module docs.
    fn translate_in(&mut self, conv: &mut Conversation, text: &str) -> Result<SegmentTranslation> {
        let mut result = self.translate_checked(conv, text)?;
        let matches = self.glossary.matches(text);
        if !glossary::Glossary::missed(&matches, &result.target).is_empty() {
            result.flags.push(Flag::GlossaryMissed);
        }
        for f in fidelity::check(text, &result.target, self.pair) {
            if !result.flags.contains(&f.flag) {
                result.flags.push(f.flag);
            }
        }
        Ok(result)
    }

    fn translate_checked(
        &mut self,
        conv: &mut Conversation,
        text: &str,
    ) -> Result<SegmentTranslation> {
        let before = conv.clone();
        let first = self.reply(conv, text)?;
        let problems = check::check(&first.target, text, self.pair.to);
        if problems.is_empty() {
            return Ok(first.into_translation(&[], false));
        }
        tracing::debug!(
            "reply {:?} has problems {problems:?}; retrying the sentence alone",
            first.target
        );
        let mut alone = self.fresh_conversation(None)?;
        let second = self.reply(&mut alone, text)?;
        let problems2 = check::check(&second.target, text, self.pair.to);
        // Keep the reply made with context unless the one without is better.
        if check::weight(&problems2) < check::weight(&problems) {
            let mut result = second.into_translation(&problems2, true);
            if problems2.contains(&check::Problem::Multiline) {
                result.target = check::join_lines(&result.target);
            }
            // Continue the paragraph as if this reply had been the first.
            let mut pending = before.pending;
            pending.extend(self.prompts.exchange(text, &result.target)?);
            *conv = Conversation {
                cache: before.cache,
                pending,
            };
            Ok(result)
        } else {
            let mut result = first.into_translation(&problems, true);
            if problems.contains(&check::Problem::Multiline) {
                result.target = check::join_lines(&result.target);
            }
            // `conv` already holds this reply.
            Ok(result)
        }
    }

    /// Translates every segment of `input` in order: exactly one result per
    /// segment. `on_segment` is called after each (for progress).
    pub fn translate_segments(
        &mut self,
        input: &str,
        segments: &[Segment],
        mut on_segment: impl FnMut(usize),
    ) -> Result<Vec<SegmentTranslation>> {
        let mut out: Vec<SegmentTranslation> = Vec::with_capacity(segments.len());
        let mut last_exchange: Option<(String, String)> = None;
        let mut conv = self.fresh_conversation(None)?;
        let mut conv_paragraph = None;
        for (i, seg) in segments.iter().enumerate() {
            let source = seg.text(input);
            if seg.kind == SegmentKind::Byline {
                // Bylines name the outlet: kept as they are.
                out.push(SegmentTranslation::verbatim(source));
                on_segment(i);
                continue;
            }
            let text = model_text(source);
            let stale = conv_paragraph != Some(seg.paragraph)
                || !self.opts.prompt.context
                || conv.cache.len() + conv.pending.len() > self.opts.prompt.context_budget;
            if stale {
                let ctx = last_exchange
                    .as_ref()
                    .map(|(s, t)| (s.as_str(), t.as_str()));
                conv = self.fresh_conversation(ctx)?;
                conv_paragraph = Some(seg.paragraph);
            }
            let result = self.translate_in(&mut conv, &text)?;
            last_exchange = Some((text, result.target.clone()));
            out.push(result);
            on_segment(i);
        }
        Ok(out)
    }
}

impl Translator for LlmTranslator<'_> {
    fn pair(&self) -> LangPair {
        self.pair
    }

    fn translate(
        &mut self,
        text: &str,
        segments: &[Segment],
        on_segment: OnSegment,
    ) -> Result<Translated> {
        self.take_stats();
        let lanes = self.opts.lanes;
        let (segments, batch) =
            self.translate_segments_lanes(text, segments, lanes, true, on_segment)?;
        if batch.passes > 0 {
            tracing::debug!(
                "batched decoding: {} forward passes, {:.2} sequences per pass on average, at most {}",
                batch.passes,
                batch.mean_batch(),
                batch.max_sequences
            );
        }
        Ok(Translated {
            segments,
            stats: self.take_stats(),
        })
    }

    fn setup_stats(&self) -> RunStats {
        self.prefix_stats.clone()
    }
}
