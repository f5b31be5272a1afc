//! Renderers: functions from the documents in `crate::types` to the text
//! dich writes (plain text, JSON, Markdown, HTML, TSV). They compute
//! nothing about the content and never fail.

pub mod alignment;
pub mod document;
pub mod html;
pub mod summary;

/// How `dich translate` writes a translation document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DocumentFormat {
    #[default]
    Text,
    Json,
    Markdown,
}

/// How `dich summarize` writes its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SummaryFormat {
    #[default]
    Text,
    Json,
    Markdown,
    Html,
}

/// How `dich align` writes its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlignFormat {
    #[default]
    Tsv,
    Json,
}

/// Pretty-printed JSON and a final newline. The documents are plain
/// structs of strings and numbers, which always serialize.
pub fn pretty_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

/// `#3` for one input, `d1#3` for several.
pub fn support_label(out: &crate::types::SummaryOutput, s: &crate::types::Support) -> String {
    if out.documents.len() == 1 {
        format!("#{}", s.segment)
    } else {
        format!("d{}#{}", s.doc, s.segment)
    }
}
