//! The result of `dich align` as data: links between the segments of two
//! texts, with byte spans into both inputs and scores.

use serde::Serialize;

use super::{Lang, ModelRef};

/// The shape of one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LinkKind {
    #[serde(rename = "1-1")]
    OneOne,
    #[serde(rename = "2-1")]
    TwoOne,
    #[serde(rename = "1-2")]
    OneTwo,
    #[serde(rename = "1-0")]
    OneZero,
    #[serde(rename = "0-1")]
    ZeroOne,
}

impl LinkKind {
    /// The name serde uses: `1-1`, `2-1`, `1-2`, `1-0`, `0-1`.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::OneOne => "1-1",
            LinkKind::TwoOne => "2-1",
            LinkKind::OneTwo => "1-2",
            LinkKind::OneZero => "1-0",
            LinkKind::ZeroOne => "0-1",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AlignedInput {
    pub input: String,
    pub lang: Lang,
    pub segments: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlignedLink {
    #[serde(rename = "type")]
    pub kind: LinkKind,
    /// Segment ids in each input (0, 1 or 2 of them).
    pub a: Vec<usize>,
    pub b: Vec<usize>,
    /// `[start, end)` byte spans into each original input, one per segment.
    pub a_spans: Vec<[usize; 2]>,
    pub b_spans: Vec<[usize; 2]>,
    pub a_text: String,
    pub b_text: String,
    /// Ratio margin (0 for unlinked segments).
    pub score: f64,
    pub cosine: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlignmentDocument {
    pub a: AlignedInput,
    pub b: AlignedInput,
    pub embedder: ModelRef,
    pub threshold: f32,
    pub links: Vec<AlignedLink>,
    pub stats: AlignStats,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlignStats {
    /// Links joining segments of both inputs.
    pub linked: usize,
    pub unlinked_a: usize,
    pub unlinked_b: usize,
    pub wall_s: f64,
}
