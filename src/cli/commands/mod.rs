//! One body per command: check what clap cannot, call the library, render,
//! write. No pipeline logic lives here.

pub mod align;
pub mod batch;
pub mod bench;
pub mod eval;
pub mod models;
pub mod summarize;
pub mod translate;
