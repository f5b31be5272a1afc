//! Alignment on whole documents: scoring every (source, target) pair of a
//! translation document, and aligning the sentences of two texts into an
//! [`AlignmentDocument`].

use std::time::Instant;

use super::{align, AlignConfig, Scorer};
use crate::error::Result;
use crate::input::{Input, InputError};
use crate::model::embedder::Embedder;
use crate::text::lang::detect;
use crate::text::segment;
use crate::types::{
    AlignStats, AlignedInput, AlignedLink, AlignmentDocument, Flag, ModelRef, Segment,
    TranslationDocument,
};
use crate::util::num::round_to;

/// Scores every (source, target) pair of `doc` with `embedder` and adds the
/// scores and any alignment flags (`low-score`, `likely-omission`,
/// `likely-addition`) to its segments. Verbatim segments are not scored.
pub fn score_document(
    embedder: &dyn Embedder,
    scorer: ModelRef,
    doc: &mut TranslationDocument,
) -> Result<()> {
    let pairs: Vec<(&str, &str)> = doc
        .segments
        .iter()
        .map(|s| (s.source.as_str(), s.target.as_str()))
        .collect();
    let scored: Vec<bool> = doc
        .segments
        .iter()
        .map(|s| !s.flags.contains(&Flag::Verbatim) && !s.target.trim().is_empty())
        .collect();
    let scores = super::translation::score_pairs(embedder, &pairs, &scored)?;
    for (seg, sc) in doc.segments.iter_mut().zip(scores) {
        if let Some(sc) = sc {
            seg.score = Some(sc.score);
            seg.cosine = Some(sc.cosine);
            seg.flags.extend(sc.flags);
        }
    }
    doc.scorer = Some(scorer);
    Ok(())
}

/// Aligns the sentences of two texts (any mix of Vietnamese and English)
/// with the DP aligner over margin scores; see [`crate::align`].
pub fn align_documents(
    embedder: &dyn Embedder,
    embedder_ref: ModelRef,
    a: &Input,
    b: &Input,
    cfg: &AlignConfig,
) -> Result<AlignmentDocument> {
    let start = Instant::now();
    let sa = segment(&a.text);
    let sb = segment(&b.text);
    for (input, segs) in [(a, &sa), (b, &sb)] {
        if segs.is_empty() {
            return Err(InputError::NothingToTranslate {
                input: input.name.clone(),
            }
            .into());
        }
    }
    let ta: Vec<&str> = sa.iter().map(|s| s.text(&a.text)).collect();
    let tb: Vec<&str> = sb.iter().map(|s| s.text(&b.text)).collect();
    let scores = Scorer { embedder }.scores(&ta, &tb)?;
    let links = align(sa.len(), sb.len(), &scores, cfg);
    let side = |ids: &[usize], segs: &[Segment], text: &str| {
        let spans: Vec<[usize; 2]> = ids.iter().map(|&i| [segs[i].start, segs[i].end]).collect();
        let joined = ids
            .iter()
            .map(|&i| segs[i].text(text))
            .collect::<Vec<_>>()
            .join(" ");
        (spans, joined)
    };
    let links: Vec<AlignedLink> = links
        .into_iter()
        .map(|l| {
            let (a_spans, a_text) = side(&l.a, &sa, &a.text);
            let (b_spans, b_text) = side(&l.b, &sb, &b.text);
            AlignedLink {
                kind: l.kind,
                a: l.a.iter().map(|&i| sa[i].id).collect(),
                b: l.b.iter().map(|&i| sb[i].id).collect(),
                a_spans,
                b_spans,
                a_text,
                b_text,
                score: round_to(l.score as f64, 3),
                cosine: round_to(l.cosine as f64, 3),
            }
        })
        .collect();
    let linked = links
        .iter()
        .filter(|l| !l.a.is_empty() && !l.b.is_empty())
        .count();
    let unlinked_a = links.iter().filter(|l| l.b.is_empty()).count();
    let unlinked_b = links.iter().filter(|l| l.a.is_empty()).count();
    Ok(AlignmentDocument {
        a: AlignedInput {
            input: a.name.clone(),
            lang: detect(&a.text),
            segments: sa.len(),
        },
        b: AlignedInput {
            input: b.name.clone(),
            lang: detect(&b.text),
            segments: sb.len(),
        },
        embedder: embedder_ref,
        threshold: cfg.threshold,
        links,
        stats: AlignStats {
            linked,
            unlinked_a,
            unlinked_b,
            wall_s: round_to(start.elapsed().as_secs_f64(), 3),
        },
    })
}
