//! Evaluation metrics computed by dich itself (no Python needed).

pub mod rouge;
