//! Aligned bilingual summaries as data: each sentence in English and
//! Vietnamese, linked to the segments that support it.

use serde::{Deserialize, Serialize};

use super::Flag;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Extractive,
    Abstractive,
}

impl Method {
    /// The lowercase name serde uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Extractive => "extractive",
            Method::Abstractive => "abstractive",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Support {
    /// Index of the input document, in the order given.
    pub doc: usize,
    /// Segment `id` in that document.
    pub segment: usize,
    /// Cosine between the summary sentence and the segment (1.0 for the
    /// segment an extractive sentence is).
    pub score: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SummarySentence {
    pub en: String,
    pub vi: String,
    pub support: Vec<Support>,
    /// Documents that support the sentence (see the module docs).
    pub docs: Vec<usize>,
    /// `unsupported`; `shared` / `single-source` (several inputs); the
    /// alignment flags of an extracted pair (`low-score`, ...); problems of
    /// a generated sentence (`new-number`, `vi-` + translation flags).
    pub flags: Vec<Flag>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub method: Method,
    pub sentences: Vec<SummarySentence>,
}
