//! Translating a document as several runs of whole paragraphs side by side:
//! one thread per run, each an ordinary sequential [`LlmTranslator`] whose
//! forward passes go through a [`Batcher`] lane, so the runs' decoding steps
//! share forward passes. Each run is translated exactly as it would be
//! alone (the batched kernels are batch-invariant); a run's first paragraph
//! starts without the previous paragraph as context.

use super::LlmTranslator;
use crate::error::{Error, Result};
use crate::model::batcher::{BatchStats, Batcher, LeaveGuard};
use crate::model::CausalLm;
use crate::translate::{RunStats, SegmentTranslation};
use crate::types::Segment;

impl LlmTranslator<'_> {
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
        let forks: Vec<LlmTranslator> = lanes
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
