//! dich: offline Vietnamese <-> English translation with local transformer
//! models, where every output sentence keeps the byte span of its source.
//!
//! Data flows one way, one module per step:
//! `input` (read and validate text) -> `text` (segments with byte spans) ->
//! `translate` (prompting and decoding over a `backend` model that `models`
//! found and verified) -> `output` (text, JSON, Markdown). `pipeline` strings
//! them together; `batch` runs it over many documents, resumably.

pub mod align;
pub mod backend;
pub mod batch;
pub mod bench;
pub mod error;
pub mod eval;
pub mod generate;
pub mod input;
pub mod models;
pub mod output;
pub mod paths;
pub mod pipeline;
pub mod progress;
pub mod summarize;
pub mod text;
pub mod translate;

pub use error::{Error, Result};
