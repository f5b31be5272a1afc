//! Sentence-by-sentence translation with document context and a strict 1:1
//! mapping: every source segment gets exactly one target.
//!
//! Each paragraph is one conversation that starts from the cached instruction
//! prefix plus the previous paragraph's last exchange; each sentence is one
//! user turn, and the reply is its translation. A reply that cannot stand for
//! its sentence is retried with the sentence alone; a looping reply is decoded
//! again with a repetition penalty. What happened is recorded as flags.

pub mod check;
pub mod decode;
pub mod examples;
pub mod glossary;
pub mod prompt;
pub mod seq2seq;

use std::time::Instant;

use serde::Serialize;

use crate::backend::batcher::{BatchStats, Batcher, LeaveGuard};
use crate::backend::{CausalLm, KvCache, LoadedLm};
use crate::error::{Error, Result};
use crate::text::{model_text, Segment, SegmentKind};
use decode::{generate, GenerateConfig, StopReason};
use prompt::PromptBuilder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Lang> {
        match code.to_ascii_lowercase().as_str() {
            "vi" | "vie" | "vietnamese" => Some(Lang::Vi),
            "en" | "eng" | "english" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Lang::Vi => "Vietnamese",
            Lang::En => "English",
        }
    }
}

/// Options for a translation run; `Default` is the documented default.
#[derive(Debug, Clone)]
pub struct TranslateOptions {
    pub from: Lang,
    pub to: Lang,
    /// Keep earlier sentences of the paragraph (and the previous paragraph's
    /// last sentence) in the conversation. Default: on.
    pub context: bool,
    /// Rebuild the conversation from the prefix when it grows past this many
    /// tokens. Default: 1536.
    pub context_budget: usize,
    /// Cap on generated tokens per sentence: `base + factor * source tokens`.
    /// Default: 32 + 2.5x.
    pub max_tokens_base: usize,
    pub max_tokens_factor: f32,
    /// Penalty used when a reply loops. Default: 1.3 over the last 64 tokens.
    pub loop_penalty: (f32, usize),
    /// `None` for greedy decoding (the default).
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub seed: u64,
    /// Translate a document as this many runs of paragraphs side by side,
    /// their decoding batched (see [`Translator::translate_segments_lanes`]).
    /// Default: 1.
    pub lanes: usize,
    /// Show the built-in glossary's entries for the language pair (see
    /// [`glossary`]). Default: on.
    pub builtin_glossary: bool,
    /// A user glossary for one language pair (`--glossary FILE` applies to
    /// `--from` -> `--to`), added over the built-in entries; unused for
    /// other pairs.
    pub user_glossary: Option<std::sync::Arc<(Lang, Lang, glossary::Glossary)>>,
    /// A translation memory for this language pair (`--examples FILE`):
    /// before each sentence, its `memory_examples` most similar pairs are
    /// shown as worked examples. Default: none.
    pub memory: Option<std::sync::Arc<examples::ExamplePool>>,
    pub memory_examples: usize,
    /// Never show a sentence its own pair from the memory (evaluation).
    pub memory_skip_identical: bool,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        Self {
            from: Lang::Vi,
            to: Lang::En,
            context: true,
            context_budget: 1536,
            max_tokens_base: 32,
            max_tokens_factor: 2.5,
            loop_penalty: (1.3, 64),
            temperature: None,
            top_p: None,
            seed: 299_792_458,
            lanes: 1,
            builtin_glossary: true,
            user_glossary: None,
            memory: None,
            memory_examples: 4,
            memory_skip_identical: false,
        }
    }
}

/// The translation of one segment.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentTranslation {
    pub target: String,
    /// What was needed to get it, or what is doubtful about it:
    /// `retried-alone` (the first reply had a problem), `repetition` (the
    /// reply looped and was decoded again with a penalty), `truncated` (hit
    /// the length cap), `verbatim` (a byline, kept as is), and the problems
    /// that remain: `empty`, `multiline`, `untranslated`,
    /// `source-words-left`, `new-number`, `glossary-missed`.
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunStats {
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prompt_s: f64,
    pub generate_s: f64,
}

impl RunStats {
    pub fn merge(&mut self, other: &RunStats) {
        self.prompt_tokens += other.prompt_tokens;
        self.generated_tokens += other.generated_tokens;
        self.prompt_s += other.prompt_s;
        self.generate_s += other.generate_s;
    }

    fn add(&mut self, g: &decode::Generation) {
        self.prompt_tokens += g.prompt_tokens;
        self.generated_tokens += g.tokens.len();
        self.prompt_s += g.prompt_seconds;
        self.generate_s += g.generate_seconds;
    }
}

/// A translator bound to a loaded model and a language pair. Creating it
/// computes the instruction prefix's key/value cache, once.
pub struct Translator<'a> {
    lm: &'a LoadedLm,
    /// What runs the forward passes: `lm.model`, or a lane of a batcher.
    model: &'a dyn CausalLm,
    prompts: PromptBuilder<'a>,
    opts: TranslateOptions,
    prefix: KvCache,
    /// The glossary in effect for this language pair.
    glossary: glossary::Glossary,
    /// The cost of computing `prefix`, paid once per translator.
    prefix_stats: RunStats,
    stats: RunStats,
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
}

impl Reply {
    fn into_translation(self, problems: &[check::Problem], retried: bool) -> SegmentTranslation {
        let mut flags = Vec::new();
        if retried {
            flags.push("retried-alone".to_string());
        }
        if self.looped {
            flags.push("repetition".to_string());
        }
        if self.stop != StopReason::EndOfTurn {
            flags.push("truncated".to_string());
        }
        flags.extend(problems.iter().map(|p| p.flag().to_string()));
        SegmentTranslation {
            target: self.target,
            flags,
        }
    }
}

impl<'a> Translator<'a> {
    pub fn new(lm: &'a LoadedLm, opts: TranslateOptions) -> Result<Self> {
        if opts.from == opts.to {
            return Err(Error::LanguagePair {
                from: opts.from.code().into(),
                to: opts.to.code().into(),
            });
        }
        let prompts = PromptBuilder::new(lm)?;
        let prefix_tokens = prompts.prefix(opts.from, opts.to)?;
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
        let mut glossary = if opts.builtin_glossary {
            glossary::Glossary::builtin(opts.from, opts.to)
        } else {
            glossary::Glossary::default()
        };
        if let Some(user) = &opts.user_glossary {
            if user.0 == opts.from && user.1 == opts.to {
                glossary = glossary.extend(&user.2);
            }
        }
        Ok(Self {
            lm,
            model: lm.model.as_ref(),
            prompts,
            opts,
            prefix,
            glossary,
            prefix_stats,
            stats: RunStats::default(),
        })
    }

    /// A translator with the same options and the same computed prefix
    /// that runs its forward passes on `model` (a batcher's lane).
    fn fork<'b>(&self, model: &'b dyn CausalLm) -> Translator<'b>
    where
        'a: 'b,
    {
        Translator {
            lm: self.lm,
            model,
            prompts: self.prompts.clone(),
            opts: self.opts.clone(),
            prefix: self.prefix.clone(),
            glossary: self.glossary.clone(),
            prefix_stats: RunStats::default(),
            stats: RunStats::default(),
        }
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
            Some((src, tgt)) if self.opts.context => self.prompts.exchange(src, tgt)?,
            _ => Vec::new(),
        };
        Ok(Conversation {
            cache: self.prefix.clone(),
            pending,
        })
    }

    fn config_for(&self, source_tokens: usize, penalty: bool) -> GenerateConfig {
        let max_new_tokens = self.opts.max_tokens_base
            + (source_tokens as f32 * self.opts.max_tokens_factor).ceil() as usize;
        GenerateConfig {
            max_new_tokens,
            repeat_penalty: penalty.then_some(self.opts.loop_penalty),
            temperature: self.opts.temperature,
            top_p: self.opts.top_p,
            seed: self.opts.seed,
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
        let mut prompt = std::mem::take(&mut conv.pending);
        if let Some(memory) = &self.opts.memory {
            for (src, tgt) in memory.nearest(
                text,
                self.opts.memory_examples,
                self.opts.memory_skip_identical,
            ) {
                prompt.extend(self.prompts.exchange(src, tgt)?);
            }
        }
        match glossary::Glossary::note(&self.glossary.matches(text)) {
            Some(note) => prompt.extend(self.prompts.request(&format!("{text}\n{note}"))?),
            None => prompt.extend(self.prompts.request(text)?),
        }
        let source_tokens = self.lm.encode_text(text)?.len();
        let cfg = self.config_for(source_tokens, penalty);
        let g = generate(
            self.model,
            &mut conv.cache,
            &prompt,
            &self.lm.stop_tokens,
            &cfg,
        )?;
        self.stats.add(&g);
        let reply = self.lm.decode(&g.tokens)?;
        conv.pending = self.prompts.close_reply();
        Ok((check::clean_reply(&reply, text), g.stop))
    }

    /// An attempt that, if the reply loops or runs out of room, is decoded
    /// again from the same state with a repetition penalty.
    fn attempt_guarded(&mut self, conv: &mut Conversation, text: &str) -> Result<Reply> {
        let before = conv.clone();
        let (target, stop) = self.attempt(conv, text, false)?;
        if stop == StopReason::EndOfTurn {
            return Ok(Reply {
                target,
                stop,
                looped: false,
            });
        }
        *conv = before;
        let (target, stop) = self.attempt(conv, text, true)?;
        Ok(Reply {
            target,
            stop,
            looped: true,
        })
    }

    /// Translates one sentence within `conv`, with the fallbacks described
    /// in the module docs.
    fn translate_in(&mut self, conv: &mut Conversation, text: &str) -> Result<SegmentTranslation> {
        let mut result = self.translate_checked(conv, text)?;
        let matches = self.glossary.matches(text);
        if !glossary::Glossary::missed(&matches, &result.target).is_empty() {
            result.flags.push("glossary-missed".to_string());
        }
        Ok(result)
    }

    fn translate_checked(
        &mut self,
        conv: &mut Conversation,
        text: &str,
    ) -> Result<SegmentTranslation> {
        let before = conv.clone();
        let first = self.attempt_guarded(conv, text)?;
        let problems = check::check(&first.target, text, self.opts.to);
        if problems.is_empty() {
            return Ok(first.into_translation(&[], false));
        }
        tracing::debug!(
            "reply {:?} has problems {problems:?}; retrying the sentence alone",
            first.target
        );
        let mut alone = self.fresh_conversation(None)?;
        let second = self.attempt_guarded(&mut alone, text)?;
        let problems2 = check::check(&second.target, text, self.opts.to);
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
                out.push(SegmentTranslation {
                    target: source.trim().to_string(),
                    flags: vec!["verbatim".to_string()],
                });
                on_segment(i);
                continue;
            }
            let text = model_text(source);
            let stale = conv_paragraph != Some(seg.paragraph)
                || !self.opts.context
                || conv.cache.len() + conv.pending.len() > self.opts.context_budget;
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

    /// [`Self::translate_segments`] with the document cut into `lanes`
    /// runs of whole paragraphs (balanced by length) translated side by
    /// side: one thread per run, their decoding steps batched into shared
    /// forward passes. Each run is translated exactly as
    /// `translate_segments` would translate it alone; the only difference
    /// from one run is that a run's first paragraph starts without the
    /// previous paragraph as context. `batched: false` translates the same
    /// runs one after another, one sequence per forward pass (the reference
    /// the batched result must equal).
    pub fn translate_segments_lanes(
        &mut self,
        input: &str,
        segments: &[Segment],
        lanes: usize,
        batched: bool,
        on_segment: impl Fn(usize) + Sync,
    ) -> Result<(Vec<SegmentTranslation>, BatchStats)> {
        let runs = paragraph_runs(segments, lanes);
        if runs.len() <= 1 {
            let out = self.translate_segments(input, segments, &on_segment)?;
            return Ok((out, BatchStats::default()));
        }
        if !batched {
            // One sequence per forward pass, through the same batch-invariant
            // path as the batched run.
            let mut out = Vec::with_capacity(segments.len());
            for r in &runs {
                let base = r.start;
                let single = Batcher::new(self.model);
                let lane = single.lane();
                let mut t = self.fork(&lane);
                out.extend(
                    t.translate_segments(input, &segments[r.clone()], |i| on_segment(base + i))?,
                );
                let stats = t.take_stats();
                self.stats.merge(&stats);
            }
            return Ok((out, BatchStats::default()));
        }
        let batcher = Batcher::new(self.model);
        let lanes: Vec<_> = runs.iter().map(|_| batcher.lane()).collect();
        let on_segment = &on_segment;
        let forks: Vec<Translator> = lanes
            .iter()
            .map(|lane| self.fork(lane as &dyn CausalLm))
            .collect();
        let results: Vec<Result<(Vec<SegmentTranslation>, RunStats)>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = runs
                    .iter()
                    .zip(forks)
                    .zip(&lanes)
                    .map(|((r, mut t), lane)| {
                        let seg = &segments[r.clone()];
                        let base = r.start;
                        scope.spawn(move || {
                            let _leave = LeaveGuard(lane);
                            let out = t.translate_segments(input, seg, |i| on_segment(base + i));
                            out.map(|o| (o, t.take_stats()))
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(Error::Internal("a translation lane panicked".into()))
                        })
                    })
                    .collect()
            });
        let mut out = Vec::with_capacity(segments.len());
        for r in results {
            let (o, stats) = r?;
            self.stats.merge(&stats);
            out.extend(o);
        }
        Ok((out, batcher.stats()))
    }
}

/// Cuts `segments` into at most `lanes` runs of whole paragraphs, each
/// about the same number of source bytes. Never splits a paragraph.
pub fn paragraph_runs(segments: &[Segment], lanes: usize) -> Vec<std::ops::Range<usize>> {
    if segments.is_empty() {
        return Vec::new();
    }
    // Paragraph starts (segment indices) and the bytes of each paragraph.
    let mut paras: Vec<(usize, usize)> = Vec::new();
    for (i, s) in segments.iter().enumerate() {
        let len = s.end - s.start;
        match paras.last_mut() {
            Some((_, bytes)) if segments[i - 1].paragraph == s.paragraph => *bytes += len,
            _ => paras.push((i, len)),
        }
    }
    let lanes = lanes.clamp(1, paras.len());
    let total: usize = paras.iter().map(|p| p.1).sum();
    let mut runs = Vec::with_capacity(lanes);
    let mut start = 0usize;
    let mut acc = 0usize;
    for (k, &(first, bytes)) in paras.iter().enumerate() {
        let paras_left = paras.len() - k;
        let lanes_left = lanes - runs.len();
        // Close the current run before this paragraph when it has its share
        // of the bytes, or when every remaining lane needs a paragraph.
        let share = total * (runs.len() + 1) / lanes;
        if first > start && runs.len() + 1 < lanes && (acc >= share || paras_left < lanes_left) {
            runs.push(start..first);
            start = first;
        }
        acc += bytes;
    }
    runs.push(start..segments.len());
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::segment;

    #[test]
    fn paragraph_runs_never_split_a_paragraph_and_cover_everything() {
        let text = "Một câu. Hai câu.\n\nBa câu dài hơn một chút nữa. Bốn.\n\nNăm.\n\nSáu câu. Bảy câu. Tám câu.\n\nChín.";
        let segs = segment(text);
        for lanes in 1..=7 {
            let runs = paragraph_runs(&segs, lanes);
            let paragraphs = segs.last().unwrap().paragraph + 1;
            assert_eq!(runs.len(), lanes.min(paragraphs), "lanes {lanes}");
            assert_eq!(runs.first().unwrap().start, 0);
            assert_eq!(runs.last().unwrap().end, segs.len());
            for w in runs.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_ne!(segs[w[1].start - 1].paragraph, segs[w[1].start].paragraph);
            }
            assert!(runs.iter().all(|r| !r.is_empty()));
        }
        assert!(paragraph_runs(&[], 3).is_empty());
    }
}
