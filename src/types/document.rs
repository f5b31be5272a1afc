//! The documents dich writes: a translation (every segment with its byte
//! span, target, flags and scores) and a summary of one or more
//! translations. How they are written out is `crate::render`'s job.

use serde::{Deserialize, Serialize};

use super::{Flag, Lang, ModelRef, SegmentKind, Summary};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentOut {
    pub id: usize,
    pub paragraph: usize,
    pub kind: SegmentKind,
    pub source: String,
    /// Byte offsets into the original input: `input[start..end] == source`.
    pub source_span: [usize; 2],
    pub target: String,
    pub flags: Vec<Flag>,
    /// Ratio margin of (source, target) within the document (see
    /// `align::translation`); absent for verbatim segments or when not scored.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub score: Option<f64>,
    /// Cosine of the source and target embeddings.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cosine: Option<f64>,
    /// With `--n-best K` (encoder-decoder models): the K best translations,
    /// best first, each with its length-normalized log-probability.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub alternatives: Vec<Alternative>,
    /// With `--candidates N` (chat models): the chosen candidate's
    /// selection score (MBR: mean chrF against the other candidates; QE:
    /// cosine with the source; both: their sum scaled to 0..2).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub selection_score: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Alternative {
    pub target: String,
    pub score: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stats {
    pub load_s: f64,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prompt_s: f64,
    pub generate_s: f64,
    pub wall_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TranslationDocument {
    /// The input as the user named it (a path, or `-` for stdin). Documents
    /// written before this field existed read as "".
    #[serde(default)]
    pub input: String,
    pub source_lang: Lang,
    pub target_lang: Lang,
    pub model: ModelRef,
    /// The embedder that scored the pairs, when they were scored.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scorer: Option<ModelRef>,
    pub segments: Vec<SegmentOut>,
    pub stats: Stats,
}

impl TranslationDocument {
    /// Segments grouped by paragraph, in order.
    pub fn paragraphs(&self) -> Vec<&[SegmentOut]> {
        self.segments
            .chunk_by(|a, b| a.paragraph == b.paragraph)
            .collect()
    }
}

/// The result of `dich summarize`: the translation documents of the inputs
/// and the aligned summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SummaryOutput {
    pub documents: Vec<TranslationDocument>,
    pub summary: Summary,
}
