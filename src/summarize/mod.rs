//! Aligned bilingual summaries: every summary sentence has an English and a
//! Vietnamese form and links to the source segments that support it, with a
//! score; a sentence nothing supports is flagged `unsupported`.
//!
//! The inputs are translation documents (one per article, in either
//! language), so every segment already has an English and a Vietnamese side.
//! Each candidate sentence is represented by the mean of the embeddings of
//! its two sides ([`Units`]): comparisons across articles in different
//! languages then do not favour same-language pairs.
//!
//! - [`extractive`]: sentences chosen by centrality, a lead prior and MMR;
//!   the summary's two languages are the segment's source and translation.
//! - `abstractive` (see [`abstractive`]): the LLM summarizes the English text,
//!   each sentence is linked to its support by similarity, and translated.
//!
//! Support is judged per document against the document's own statistics:
//! a summary sentence is supported by a document when its best segment there
//! is at least as close as the lower quartile ([`SUPPORT_QUANTILE`]) of that
//! document's sentences are to their nearest *other* sentence. Measured on
//! the seed article (English sides against bilingual units): a sentence and
//! its own segment 0.961-0.983, nearest other sentence 0.859-0.923 (lower
//! quartile 0.876), faithful one-sentence paraphrases 0.889-0.915, sentences
//! on the topic that the article does not say 0.854-0.884, unrelated
//! sentences 0.807-0.844. Similarity alone cannot separate a paraphrase from
//! a new claim on the same topic, so generated sentences are also checked for
//! numbers and names that no input contains.

pub mod abstractive;

use crate::align::cosine_matrix;
use crate::error::{Error, Result, Setting};
use crate::kernels::vecmath::dot;
use crate::model::embedder::{EmbedKind, Embedder};
use crate::model::{LoadedLm, ModelKind};
use crate::types::{
    Flag, Lang, Method, SegmentKind, Summary, SummarySentence, Support, TranslationDocument,
};
use crate::util::num::round_to;

/// See the module docs.
pub const SUPPORT_QUANTILE: f32 = 0.25;
/// Supporting segments listed per document: the best, and others within
/// [`SUPPORT_BAND`] of it.
pub const MAX_SUPPORT_PER_DOC: usize = 3;
pub const SUPPORT_BAND: f32 = 0.02;

/// How long a summary is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Length {
    Sentences(usize),
    /// A share of the candidate sentences, at least one.
    Ratio(f32),
}

impl Length {
    pub fn count(self, candidates: usize) -> usize {
        match self {
            Length::Sentences(k) => k.min(candidates),
            Length::Ratio(r) => ((r * candidates as f32).round() as usize).clamp(1, candidates),
        }
    }
}

/// Options; `Default` is the documented default.
#[derive(Debug, Clone, Copy)]
pub struct SummaryOptions {
    pub method: Method,
    /// Default: 5 sentences.
    pub length: Length,
    /// MMR trade-off between relevance and novelty. Default 0.5: news
    /// repeats its key fact (lead, quote, paraphrase), and across articles
    /// the same fact appears once per language.
    pub mmr_lambda: f32,
    /// Weight of the lead prior in relevance (news puts the key facts
    /// first). Default 0.35.
    pub position_weight: f32,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        Self {
            method: Method::Extractive,
            length: Length::Sentences(5),
            mmr_lambda: 0.5,
            position_weight: 0.35,
        }
    }
}

/// One candidate sentence of one document.
#[derive(Debug, Clone)]
pub struct Unit {
    pub doc: usize,
    pub segment: usize,
    /// 0-based rank among the document's candidates (lead prior).
    pub position: usize,
    pub en: String,
    pub vi: String,
    pub flags: Vec<Flag>,
}

/// The candidate sentences of all documents with their bilingual embeddings.
pub struct Units {
    pub units: Vec<Unit>,
    /// Bilingual embeddings (normalized mean of both sides).
    pub vecs: Vec<Vec<f32>>,
    /// Embeddings of the English sides: what a summary sentence (English)
    /// is compared as.
    pub en_vecs: Vec<Vec<f32>>,
    /// Per document: the support threshold (see the module docs).
    pub thresholds: Vec<f32>,
}

/// English and Vietnamese sides of a segment of `doc`.
fn sides<'a>(doc: &'a TranslationDocument, source: &'a str, target: &'a str) -> (&'a str, &'a str) {
    match doc.source_lang {
        Lang::En => (source, target),
        Lang::Vi => (target, source),
    }
}

/// The flags of a pair that an extracted sentence keeps.
fn is_alignment_flag(f: &Flag) -> bool {
    matches!(
        f,
        Flag::LowScore | Flag::LikelyOmission | Flag::LikelyAddition
    )
}

impl Units {
    pub fn build(docs: &[TranslationDocument], embedder: &dyn Embedder) -> Result<Self> {
        let mut units = Vec::new();
        for (d, doc) in docs.iter().enumerate() {
            let mut position = 0;
            for s in &doc.segments {
                let (en, vi) = sides(doc, &s.source, &s.target);
                if s.kind != SegmentKind::Sentence || en.trim().is_empty() || vi.trim().is_empty() {
                    continue;
                }
                units.push(Unit {
                    doc: d,
                    segment: s.id,
                    position,
                    en: collapse(en),
                    vi: collapse(vi),
                    flags: s
                        .flags
                        .iter()
                        .filter(|f| is_alignment_flag(f))
                        .cloned()
                        .collect(),
                });
                position += 1;
            }
        }
        let en: Vec<&str> = units.iter().map(|u| u.en.as_str()).collect();
        let vi: Vec<&str> = units.iter().map(|u| u.vi.as_str()).collect();
        let ve = embedder.embed(&en, EmbedKind::Query)?;
        let vv = embedder.embed(&vi, EmbedKind::Query)?;
        let vecs: Vec<Vec<f32>> = ve.iter().zip(&vv).map(|(a, b)| mean_unit(a, b)).collect();
        let thresholds = (0..docs.len())
            .map(|d| doc_threshold(&units, &ve, &vecs, d))
            .collect();
        Ok(Self {
            units,
            vecs,
            en_vecs: ve,
            thresholds,
        })
    }

    /// Segments supporting an English sentence with embedding `v`: per document, the
    /// best segment and those within [`SUPPORT_BAND`] of it, when the best
    /// reaches the document's threshold. Also returns the best score overall.
    pub fn support(&self, v: &[f32]) -> (Vec<Support>, f32) {
        let mut out = Vec::new();
        let mut best_all = f32::MIN;
        for (d, &th) in self.thresholds.iter().enumerate() {
            let mut scored: Vec<(usize, f32)> = self
                .units
                .iter()
                .enumerate()
                .filter(|(_, u)| u.doc == d)
                .map(|(i, _)| (i, dot(v, &self.vecs[i])))
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1));
            let Some(&(_, best)) = scored.first() else {
                continue;
            };
            best_all = best_all.max(best);
            if best < th {
                continue;
            }
            for &(i, s) in scored.iter().take(MAX_SUPPORT_PER_DOC) {
                if s >= th && s >= best - SUPPORT_BAND {
                    out.push(Support {
                        doc: d,
                        segment: self.units[i].segment,
                        score: round_to(s as f64, 3),
                    });
                }
            }
        }
        (out, best_all)
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The normalized mean of two unit vectors.
fn mean_unit(a: &[f32], b: &[f32]) -> Vec<f32> {
    let m: Vec<f32> = a.iter().zip(b).map(|(x, y)| x + y).collect();
    let n = dot(&m, &m).sqrt().max(1e-12);
    m.into_iter().map(|x| x / n).collect()
}

/// The [`SUPPORT_QUANTILE`] of the document's nearest-other-sentence
/// similarities, measured as summary sentences are: a sentence's English
/// side against the other sentences' bilingual embeddings. A document with a
/// single sentence has nothing to compare with and gets 0.88 (the seed
/// article's lower quartile, rounded up).
fn doc_threshold(units: &[Unit], en: &[Vec<f32>], vecs: &[Vec<f32>], d: usize) -> f32 {
    let idx: Vec<usize> = (0..units.len()).filter(|&i| units[i].doc == d).collect();
    let mut nearest: Vec<f32> = idx
        .iter()
        .filter_map(|&i| {
            idx.iter()
                .filter(|&&j| j != i)
                .map(|&j| dot(&en[i], &vecs[j]))
                .max_by(f32::total_cmp)
        })
        .collect();
    if nearest.is_empty() {
        return 0.88;
    }
    nearest.sort_by(f32::total_cmp);
    let k = ((nearest.len() - 1) as f32 * SUPPORT_QUANTILE).round() as usize;
    nearest[k.min(nearest.len() - 1)]
}

/// Extractive selection over similarities `sim` (candidates x candidates)
/// and lead positions: returns the chosen indices, in selection order.
/// Pure, so it is tested on small matrices.
pub fn select(
    sim: &[Vec<f32>],
    positions: &[usize],
    k: usize,
    opts: &SummaryOptions,
) -> Vec<usize> {
    let n = sim.len();
    if n == 0 || k == 0 {
        return Vec::new();
    }
    // e5 similarities sit in a narrow band: stretch the off-diagonal range
    // to [0, 1] so centrality and redundancy use the whole scale.
    let off: Vec<f32> = (0..n)
        .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
        .map(|(i, j)| sim[i][j])
        .collect();
    let lo = off.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = off.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let norm = |x: f32| {
        if off.is_empty() {
            0.0
        } else {
            ((x - lo) / span).clamp(0.0, 1.0)
        }
    };
    let centrality: Vec<f32> = (0..n)
        .map(|i| {
            if n == 1 {
                return 1.0;
            }
            (0..n)
                .filter(|&j| j != i)
                .map(|j| norm(sim[i][j]))
                .sum::<f32>()
                / (n - 1) as f32
        })
        .collect();
    let (cmin, cmax) = centrality
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &c| {
            (a.min(c), b.max(c))
        });
    let relevance: Vec<f32> = (0..n)
        .map(|i| {
            let c = if cmax > cmin {
                (centrality[i] - cmin) / (cmax - cmin)
            } else {
                1.0
            };
            let lead = 1.0 / (1.0 + positions[i] as f32 / 3.0);
            (1.0 - opts.position_weight) * c + opts.position_weight * lead
        })
        .collect();
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < k.min(n) {
        let next = (0..n)
            .filter(|i| !chosen.contains(i))
            .map(|i| {
                let redundancy = chosen.iter().map(|&j| norm(sim[i][j])).fold(0.0, f32::max);
                (
                    i,
                    opts.mmr_lambda * relevance[i] - (1.0 - opts.mmr_lambda) * redundancy,
                )
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        match next {
            Some((i, _)) => chosen.push(i),
            None => break,
        }
    }
    chosen
}

/// Extractive summary of `docs` (one or several).
pub fn extractive(units: &Units, n_docs: usize, opts: &SummaryOptions) -> Summary {
    let sim = cosine_matrix(&units.vecs, &units.vecs);
    let positions: Vec<usize> = units.units.iter().map(|u| u.position).collect();
    let k = opts.length.count(units.units.len());
    let mut chosen = select(&sim, &positions, k, opts);
    // Read in document order.
    chosen.sort_by_key(|&i| (units.units[i].doc, units.units[i].position));
    let sentences = chosen
        .into_iter()
        .map(|i| {
            let u = &units.units[i];
            let (mut support, _) = units.support(&units.en_vecs[i]);
            // The extracted segment supports itself, always and first.
            support.retain(|s| !(s.doc == u.doc && s.segment == u.segment));
            support.insert(
                0,
                Support {
                    doc: u.doc,
                    segment: u.segment,
                    score: 1.0,
                },
            );
            let mut flags = u.flags.clone();
            let docs = supporting_docs(&support);
            mark_sharing(&mut flags, &docs, n_docs);
            SummarySentence {
                en: u.en.clone(),
                vi: u.vi.clone(),
                support,
                docs,
                flags,
            }
        })
        .collect();
    Summary {
        method: Method::Extractive,
        sentences,
    }
}

pub(crate) fn supporting_docs(support: &[Support]) -> Vec<usize> {
    let mut d: Vec<usize> = support.iter().map(|s| s.doc).collect();
    d.sort_unstable();
    d.dedup();
    d
}

/// With several inputs, say whether a sentence is shared or single-source.
/// (An unsupported sentence is neither.)
pub(crate) fn mark_sharing(flags: &mut Vec<Flag>, docs: &[usize], n_docs: usize) {
    match docs.len() {
        _ if n_docs < 2 => {}
        0 => {}
        1 => flags.push(Flag::SingleSource),
        _ => flags.push(Flag::Shared),
    }
}

/// Checks, before any model is loaded, that a model of `kind` can write a
/// summary with `method` (abstractive summaries need a chat model).
pub fn check_method(model: &str, kind: ModelKind, method: Method) -> Result<()> {
    if method == Method::Abstractive && kind != ModelKind::ChatLm {
        return Err(Error::Unsupported {
            model: model.to_string(),
            kind,
            setting: Setting::AbstractiveSummary,
        });
    }
    Ok(())
}

/// A summary of translated documents (see the module docs). `lm`, the chat
/// model, is needed for abstractive summaries only.
pub fn summarize_documents(
    lm: Option<&LoadedLm>,
    embedder: &dyn Embedder,
    docs: &[TranslationDocument],
    opts: &SummaryOptions,
    seed: u64,
) -> Result<Summary> {
    let units = Units::build(docs, embedder)?;
    if units.units.is_empty() {
        return Err(Error::NothingToSummarize);
    }
    match opts.method {
        Method::Extractive => Ok(extractive(&units, docs.len(), opts)),
        Method::Abstractive => {
            let lm = lm.ok_or_else(|| {
                Error::Internal("an abstractive summary needs the language model".into())
            })?;
            abstractive::abstractive(lm, embedder, docs, &units, opts, seed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> SummaryOptions {
        SummaryOptions::default()
    }

    #[test]
    fn length_counts() {
        assert_eq!(Length::Sentences(5).count(3), 3);
        assert_eq!(Length::Sentences(5).count(30), 5);
        assert_eq!(Length::Ratio(0.2).count(30), 6);
        assert_eq!(Length::Ratio(0.01).count(30), 1);
    }

    #[test]
    fn mmr_skips_a_near_duplicate() {
        // 0 and 1 are near duplicates and both central; 2 is different.
        let sim = vec![
            vec![1.0, 0.99, 0.80, 0.85],
            vec![0.99, 1.0, 0.80, 0.85],
            vec![0.80, 0.80, 1.0, 0.82],
            vec![0.85, 0.85, 0.82, 1.0],
        ];
        let chosen = select(&sim, &[0, 1, 2, 3], 2, &opts());
        assert_eq!(chosen[0], 0);
        assert!(!chosen.contains(&1), "{chosen:?}");
    }

    #[test]
    fn lead_breaks_ties_between_equally_central_sentences() {
        let sim = vec![
            vec![1.0, 0.9, 0.9],
            vec![0.9, 1.0, 0.9],
            vec![0.9, 0.9, 1.0],
        ];
        assert_eq!(select(&sim, &[2, 0, 1], 1, &opts()), vec![1]);
    }

    #[test]
    fn degenerate_inputs() {
        assert!(select(&[], &[], 3, &opts()).is_empty());
        assert_eq!(select(&[vec![1.0]], &[0], 3, &opts()), vec![0]);
    }

    #[test]
    fn sharing_flags_only_with_several_inputs() {
        let mut f = Vec::new();
        mark_sharing(&mut f, &[0], 1);
        assert!(f.is_empty());
        mark_sharing(&mut f, &[0, 1], 2);
        assert_eq!(f, vec!["shared"]);
        let mut g = Vec::new();
        mark_sharing(&mut g, &[1], 2);
        assert_eq!(g, vec!["single-source"]);
        let mut h = Vec::new();
        mark_sharing(&mut h, &[], 2);
        assert!(h.is_empty());
    }
}
