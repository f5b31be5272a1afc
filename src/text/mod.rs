//! Text handling between reading the input and translating it: cutting an
//! article into paragraphs and sentences ([`segment()`]; each segment carries
//! its kind and the byte span of its source text), the normalized form of a
//! segment that is handed to a model ([`model_text`]), and telling
//! Vietnamese from English ([`lang`]).
//!
//! Spans always index the original input bytes (no normalization is applied
//! before segmenting), so outputs can quote or align the source exactly.

pub mod lang;
pub mod normalize;
pub mod segment;

pub use normalize::model_text;
pub use segment::segment;
