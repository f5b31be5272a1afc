//! Evaluation pairs (`source<TAB>reference` lines) and their translation by
//! the ordinary pipeline, for `dich eval translate`.
//!
//! Each pair is translated as its own paragraph of one document, so the
//! pipeline runs exactly as `dich translate` runs on an article: segments,
//! checks, retries, glossary and (with `context`) the previous pair as
//! context. A pair's hypothesis is the translation of its segments joined
//! by one space.

use crate::error::Result;
use crate::text::segment;
use crate::translate::{Engine, ProgressEvent, RunStats, TranslateOptions};
use crate::types::{Flag, LangPair};

/// One usable line of a pairs file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// 1-based line number in the file.
    pub line: usize,
    pub source: String,
    pub reference: String,
}

/// A line that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadLine {
    pub line: usize,
    pub reason: String,
}

/// Parses `source<TAB>reference` lines. Blank lines are skipped silently;
/// other unusable lines are returned as [`BadLine`]s so the caller can
/// report them and go on with the rest.
pub fn parse_pairs(text: &str) -> (Vec<Pair>, Vec<BadLine>) {
    let mut pairs = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let fields: Vec<&str> = line.split('\t').collect();
        let reason = match fields.as_slice() {
            [s, r] if s.trim().is_empty() => Some("empty source"),
            [_, r] if r.trim().is_empty() => Some("empty reference"),
            [s, r] => {
                pairs.push(Pair {
                    line: n,
                    source: s.trim().to_string(),
                    reference: r.trim().to_string(),
                });
                None
            }
            [_] => Some("no tab: expected source<TAB>reference"),
            _ => Some("more than one tab: expected source<TAB>reference"),
        };
        if let Some(reason) = reason {
            bad.push(BadLine {
                line: n,
                reason: reason.to_string(),
            });
        }
    }
    (pairs, bad)
}

/// The translations of `pairs`, one per pair, and what they cost.
pub struct Translated {
    pub hypotheses: Vec<String>,
    /// Flags of each pair's segments (deduplicated).
    pub flags: Vec<Vec<Flag>>,
    pub stats: RunStats,
}

/// Translates every pair's source with the pipeline (see the module docs).
/// `progress` is told the number of segments once, then called after each.
pub fn translate_pairs(
    engine: &Engine,
    pair: LangPair,
    opts: &TranslateOptions,
    pairs: &[Pair],
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<(Translated, usize)> {
    // One paragraph per pair; sources are single lines, so the byte
    // ranges of the paragraphs are known.
    let mut doc = String::new();
    let mut ranges = Vec::with_capacity(pairs.len());
    for p in pairs {
        if !doc.is_empty() {
            doc.push_str("\n\n");
        }
        let start = doc.len();
        doc.push_str(&p.source);
        ranges.push(start..doc.len());
    }
    let segments = segment(&doc);
    progress(ProgressEvent::Start(segments.len()));
    let mut translator = engine.translator(pair, opts)?;
    let run = translator.translate(&doc, &segments, &|_| progress(ProgressEvent::Segment))?;
    let results = run.segments;
    let mut hypotheses = vec![String::new(); pairs.len()];
    let mut flags: Vec<Vec<Flag>> = vec![Vec::new(); pairs.len()];
    for (seg, r) in segments.iter().zip(results) {
        let Some(k) = ranges.iter().position(|rg| rg.contains(&seg.start)) else {
            continue;
        };
        // One line per pair: a reply's line breaks become spaces.
        let t = r.target.split_whitespace().collect::<Vec<_>>().join(" ");
        let t = t.as_str();
        if !t.is_empty() {
            if !hypotheses[k].is_empty() {
                hypotheses[k].push(' ');
            }
            hypotheses[k].push_str(t);
        }
        for f in r.flags {
            if !flags[k].contains(&f) {
                flags[k].push(f);
            }
        }
    }
    let stats: RunStats = run.stats;
    Ok((
        Translated {
            hypotheses,
            flags,
            stats,
        },
        segments.len(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_bad_lines_with_line_numbers() {
        let text = "Xin chào thế giới\tHello world\r\n\nkhông có tab\n\tref only\nsrc\t \na\tb\tc\nTP.HCM, 25/10: lãi 5,66%\tHCMC, Oct 25: 5.66% interest";
        let (pairs, bad) = parse_pairs(text);
        assert_eq!(
            pairs,
            vec![
                Pair {
                    line: 1,
                    source: "Xin chào thế giới".into(),
                    reference: "Hello world".into()
                },
                Pair {
                    line: 7,
                    source: "TP.HCM, 25/10: lãi 5,66%".into(),
                    reference: "HCMC, Oct 25: 5.66% interest".into()
                },
            ]
        );
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [3, 4, 5, 6]);
        assert!(bad[0].reason.contains("no tab"));
        assert!(bad[1].reason.contains("empty source"));
        assert!(bad[2].reason.contains("empty reference"));
        assert!(bad[3].reason.contains("more than one tab"));
    }
}
