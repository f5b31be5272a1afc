//! Segments: the units of translation (sentence, heading, caption, byline),
//! each located by its byte span in the original input.

use serde::{Deserialize, Serialize};

/// What a segment is within the article, so later steps can treat a byline
/// or a heading differently from running text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentKind {
    Sentence,
    Heading,
    Caption,
    Byline,
}

impl SegmentKind {
    /// The same lowercase name serde uses.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentKind::Sentence => "sentence",
            SegmentKind::Heading => "heading",
            SegmentKind::Caption => "caption",
            SegmentKind::Byline => "byline",
        }
    }
}

/// One unit of translation: a sentence, heading, caption or byline, located
/// by its byte span in the original input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// 0-based ordinal over the whole document.
    pub id: usize,
    /// 0-based paragraph ordinal.
    pub paragraph: usize,
    pub kind: SegmentKind,
    /// Byte offset into the original input (inclusive).
    pub start: usize,
    /// Byte offset into the original input (exclusive).
    pub end: usize,
}

impl Segment {
    /// The source text of this segment. `input` must be the string that was
    /// segmented; for any other string this returns `""` rather than
    /// panicking on a span that does not fit it.
    pub fn text<'a>(&self, input: &'a str) -> &'a str {
        input.get(self.start..self.end).unwrap_or("")
    }
}
