//! HTML view of a summary (placeholder; being written).

use super::summary::SummaryOutput;

pub fn render(out: &SummaryOutput) -> String {
    format!("<!doctype html><pre>{}</pre>", out.to_text())
}
