//! dich: offline Vietnamese <-> English translation with local transformer
//! models, where every output sentence keeps the byte span of its source.
//!
//! The library is built in layers; a module uses only modules of lower
//! layers (`tests/layers.rs` fails on an upward or sideways import):
//!
//! 0. [`types`] (languages, segments, flags, documents: plain data) and
//!    [`util`] (atomic writes, rounding, progress bars).
//! 1. [`text`] (normalize, segment, detect the language), [`input`] (read
//!    and validate what the user gives), [`render`] (text, JSON, Markdown,
//!    HTML, TSV of the documents) and [`kernels`] (CPU matrix and attention
//!    kernels).
//! 2. [`format`](mod@format): file formats (GGUF, its tokenizer, SentencePiece, E5S1,
//!    safetensors / `pytorch_model.bin`, Marian's JSON files), and
//!    [`metrics`] (sacreBLEU's BLEU, chrF and TER, ROUGE, the paired
//!    bootstrap).
//! 3. [`registry`] (catalog, cache, fetching: hands paths to loaders) and
//!    [`model`] (the model traits and their implementations: Qwen2, Marian,
//!    BERT embedder, the batcher).
//! 4. [`decode`]: one decoding module over the model traits (greedy,
//!    sampling, beam search, logits processors).
//! 5. [`error`]: the library error, wrapping each layer's own.
//! 6. [`translate`] (the translator interface, the LLM and Marian
//!    translators, one `translate_document`) and [`align`].
//! 7. [`summarize`] and [`eval`].
//! 8. [`batch`] and [`bench`](mod@bench).
//!
//! The `dich` binary (`src/main.rs`, `src/cli/`) sits on top: only it knows
//! command-line flags and exit codes.

pub mod types;
pub mod util;

pub mod input;
pub mod kernels;
pub mod render;
pub mod text;

pub mod format;
pub mod metrics;

pub mod model;
pub mod registry;

pub mod decode;

pub mod error;

pub mod align;
pub mod translate;

pub mod eval;
pub mod summarize;

pub mod batch;
pub mod bench;

pub use error::{Error, Result};
