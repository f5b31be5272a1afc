//! Text handling between reading the input and translating it: cutting an
//! article into paragraphs and sentences (with kinds: sentence, heading,
//! caption, byline), each carrying the byte span of its source text, and the
//! normalized form of a segment that is handed to a model.
//!
//! Spans always index the original input bytes (no normalization is applied
//! before segmenting), so outputs can quote or align the source exactly.

pub mod lang;
pub mod normalize;
pub mod segment;
pub mod spm;

pub use normalize::model_text;
pub use segment::{segment, Segment, SegmentKind};
