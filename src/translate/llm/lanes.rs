//! Translating a document as several runs of whole paragraphs side by side:
//! one thread per run, each an ordinary sequential [`LlmTranslator`] whose
//! forward passes go through a [`Batcher`] lane, so the runs' decoding steps
//! share forward passes.
//!
//! The result is the one-run translation, exactly. A paragraph's context is
//! the previous paragraph's last exchange, which a run's first paragraph
//! cannot know while the run before it is still being translated; so each
//! later run is first drafted without it, then its first paragraphs are
//! translated again from the exchange the run before ends with (side by
//! side again), until a paragraph ends as the draft's did: from there the
//! draft is what one run would have computed (a paragraph starts from
//! nothing but that exchange, and the kernels are batch-invariant). A run
//! whose predecessor's ending changed in that second round is redone alone.

use super::LlmTranslator;
use crate::error::{Error, Result};
use crate::model::batcher::{BatchStats, Batcher, LeaveGuard};
use crate::model::CausalLm;
use crate::text::model_text;
use crate::translate::{RunStats, SegmentTranslation};
use crate::types::{Segment, SegmentKind};

/// What [`LlmTranslator::translate_segments_lanes`] did.
#[derive(Debug, Default)]
pub struct LanesRun {
    /// One translation per segment: the one-run translation.
    pub segments: Vec<SegmentTranslation>,
    /// The forward passes of both rounds.
    pub batch: BatchStats,
    /// Segments translated a second time, once their run's context was
    /// known (the cost of the lanes).
    pub redone: usize,
}

/// A run's translations and how many of them it computed itself (the
/// rest rejoined its draft).
type RunDone = (Vec<SegmentTranslation>, usize);

/// One run to translate: its segments, the exchange before it and the
/// draft it may rejoin.
struct Run<'d> {
    range: std::ops::Range<usize>,
    context: Option<(String, String)>,
    draft: Option<&'d [SegmentTranslation]>,
}

impl LlmTranslator<'_> {
    /// [`Self::translate_segments`] with the document cut into `lanes`
    /// runs of whole paragraphs (balanced by length) translated side by
    /// side: one thread per run, their decoding steps batched into shared
    /// forward passes; the result equals `translate_segments` (see the
    /// module docs). `batched: false` translates the same runs one after
    /// another, one sequence per forward pass (the reference the batched
    /// result must equal, work for work).
    pub fn translate_segments_lanes(
        &mut self,
        input: &str,
        segments: &[Segment],
        lanes: usize,
        batched: bool,
        on_segment: impl Fn(usize) + Sync,
    ) -> Result<LanesRun> {
        let runs = paragraph_runs(segments, lanes);
        if runs.len() <= 1 {
            let segments = self.translate_segments(input, segments, &on_segment)?;
            return Ok(LanesRun {
                segments,
                ..LanesRun::default()
            });
        }
        let first: Vec<Run> = runs
            .iter()
            .map(|r| Run {
                range: r.clone(),
                context: None,
                draft: None,
            })
            .collect();
        let (drafts, mut batch) =
            self.side_by_side(input, segments, &first, batched, &on_segment)?;
        let drafts: Vec<Vec<SegmentTranslation>> = drafts.into_iter().map(|d| d.0).collect();
        if !self.uses_context() {
            let segments = drafts.concat();
            return Ok(LanesRun {
                segments,
                batch,
                redone: 0,
            });
        }
        // Second round: each later run from the exchange its draft
        // predecessor ends with.
        let mut so_far: Vec<SegmentTranslation> = Vec::with_capacity(segments.len());
        let mut second = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            if i > 0 {
                if let Some(context) = last_exchange(input, &segments[..r.start], &so_far) {
                    second.push((
                        i,
                        Run {
                            range: r.clone(),
                            context: Some(context),
                            draft: Some(&drafts[i]),
                        },
                    ));
                }
            }
            so_far.extend(drafts[i].iter().cloned());
        }
        let starts: Vec<Run> = second
            .iter()
            .map(|(_, r)| Run {
                range: r.range.clone(),
                context: r.context.clone(),
                draft: r.draft,
            })
            .collect();
        let (again, batch2) = self.side_by_side(input, segments, &starts, batched, &|_| {})?;
        merge_batch(&mut batch, &batch2);
        let mut redone = 0;
        let mut out: Vec<SegmentTranslation> = Vec::with_capacity(segments.len());
        for (i, r) in runs.iter().enumerate() {
            let context = last_exchange(input, &segments[..r.start], &out);
            let part = match second.iter().position(|(j, _)| *j == i) {
                None if context.is_none() => drafts[i].clone(),
                Some(k) if second[k].1.context == context => {
                    redone += again[k].1;
                    again[k].0.clone()
                }
                // The run before changed its ending in the second round.
                _ => {
                    let run = Run {
                        range: r.clone(),
                        context,
                        draft: Some(&drafts[i]),
                    };
                    let mut alone = self
                        .side_by_side(input, segments, &[run], false, &|_| {})?
                        .0;
                    let (part, n) = alone.pop().unwrap_or_default();
                    redone += n;
                    part
                }
            };
            out.extend(part);
        }
        Ok(LanesRun {
            segments: out,
            batch,
            redone,
        })
    }

    /// Translates `runs` side by side (one thread per run over one
    /// batcher's lanes) or, with `batched: false`, one after another, one
    /// sequence per forward pass through the same batch-invariant path.
    fn side_by_side(
        &mut self,
        input: &str,
        segments: &[Segment],
        runs: &[Run],
        batched: bool,
        on_segment: &(dyn Fn(usize) + Sync),
    ) -> Result<(Vec<RunDone>, BatchStats)> {
        if !batched {
            let mut out = Vec::with_capacity(runs.len());
            for r in runs {
                let base = r.range.start;
                let single = Batcher::new(self.model);
                let lane = single.lane();
                let mut t = self.fork(&lane);
                out.push(t.translate_run(
                    input,
                    &segments[r.range.clone()],
                    r.context.clone(),
                    r.draft,
                    |i| on_segment(base + i),
                )?);
                let stats = t.take_stats();
                self.stats.merge(&stats);
            }
            return Ok((out, BatchStats::default()));
        }
        let batcher = Batcher::new(self.model);
        let lanes: Vec<_> = runs.iter().map(|_| batcher.lane()).collect();
        let forks: Vec<LlmTranslator> = lanes
            .iter()
            .map(|lane| self.fork(lane as &dyn CausalLm))
            .collect();
        let results: Vec<Result<(RunDone, RunStats)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = runs
                .iter()
                .zip(forks)
                .zip(&lanes)
                .map(|((r, mut t), lane)| {
                    let seg = &segments[r.range.clone()];
                    let base = r.range.start;
                    let context = r.context.clone();
                    let draft = r.draft;
                    scope.spawn(move || {
                        let _leave = LeaveGuard(lane);
                        let out =
                            t.translate_run(input, seg, context, draft, |i| on_segment(base + i));
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
        let mut out = Vec::with_capacity(runs.len());
        for r in results {
            let (o, stats) = r?;
            self.stats.merge(&stats);
            out.push(o);
        }
        Ok((out, batcher.stats()))
    }
}

/// The exchange a paragraph after `segments` (translated as `done`) takes
/// as its context: the last sentence that is not a byline, as the model
/// saw it, and its translation.
fn last_exchange(
    input: &str,
    segments: &[Segment],
    done: &[SegmentTranslation],
) -> Option<(String, String)> {
    segments
        .iter()
        .zip(done)
        .rev()
        .find(|(s, _)| s.kind != SegmentKind::Byline)
        .map(|(s, t)| (model_text(s.text(input)), t.target.clone()))
}

fn merge_batch(into: &mut BatchStats, other: &BatchStats) {
    into.passes += other.passes;
    into.sequences += other.sequences;
    into.rows += other.rows;
    into.max_sequences = into.max_sequences.max(other.max_sequences);
    into.forward_s += other.forward_s;
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
