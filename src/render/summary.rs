//! The result of `dich summarize` ([`SummaryOutput`]: the translation
//! documents of the inputs and the aligned summary) as JSON, text, Markdown
//! (footnote links to segment ids) or HTML (see [`super::html`]).
//!
//! JSON: for one input, the translation document with a `summary` field; for
//! several, `{"documents": [...], "summary": ...}`.

use super::document::md_cell;
use super::{support_label, SummaryFormat};
use crate::types::{Flag, SummaryOutput, Support};

pub fn render(out: &SummaryOutput, format: SummaryFormat) -> String {
    match format {
        SummaryFormat::Text => text(out),
        SummaryFormat::Json => json(out),
        SummaryFormat::Markdown => markdown(out),
        SummaryFormat::Html => super::html::render(out),
    }
}

pub fn json(out: &SummaryOutput) -> String {
    let value = if out.documents.len() == 1 {
        let mut v = serde_json::to_value(&out.documents[0]).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "summary".into(),
                serde_json::to_value(&out.summary).unwrap_or_default(),
            );
        }
        v
    } else {
        serde_json::to_value(out).unwrap_or_default()
    };
    super::pretty_json(&value)
}

/// The summary for reading: each sentence in English, then Vietnamese,
/// then its support and flags.
pub fn text(out: &SummaryOutput) -> String {
    let mut buf = format!(
        "Summary ({}, {} sentences)\n",
        out.summary.method.as_str(),
        out.summary.sentences.len()
    );
    if out.documents.len() > 1 {
        for (i, d) in out.documents.iter().enumerate() {
            buf.push_str(&format!("  d{i}: {} ({})\n", d.input, d.source_lang.name()));
        }
    }
    for (i, s) in out.summary.sentences.iter().enumerate() {
        buf.push_str(&format!("\n{}. {}\n   {}\n", i + 1, s.en, s.vi));
        let support: Vec<String> = s
            .support
            .iter()
            .map(|x| format!("{} ({:.3})", support_label(out, x), x.score))
            .collect();
        buf.push_str(&format!(
            "   support: {}\n",
            if support.is_empty() {
                "none".to_string()
            } else {
                support.join(", ")
            }
        ));
        if !s.flags.is_empty() {
            buf.push_str(&format!("   flags: {}\n", join_flags(&s.flags)));
        }
    }
    buf
}

/// Flags as written, comma-separated.
fn join_flags(flags: &[Flag]) -> String {
    flags
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The summary in both languages with footnote links to the supporting
/// segments (document, segment id, byte span, score, source text), then
/// each document side by side.
pub fn markdown(out: &SummaryOutput) -> String {
    let mut buf = format!("# Summary ({})\n\n", out.summary.method.as_str());
    let note = |s: &Support| format!("[^d{}s{}]", s.doc, s.segment);
    let flags = |f: &[Flag]| {
        if f.is_empty() {
            String::new()
        } else {
            format!(" _({})_", join_flags(f))
        }
    };
    for (title, en) in [("English", true), ("Tiếng Việt", false)] {
        buf.push_str(&format!("## {title}\n\n"));
        for (i, s) in out.summary.sentences.iter().enumerate() {
            let text = if en { &s.en } else { &s.vi };
            let notes: String = s.support.iter().map(note).collect();
            buf.push_str(&format!(
                "{}. {}{}{}\n",
                i + 1,
                md_inline(text),
                notes,
                flags(&s.flags)
            ));
        }
        buf.push('\n');
    }
    let mut seen = std::collections::BTreeSet::new();
    for s in out.summary.sentences.iter().flat_map(|s| &s.support) {
        if !seen.insert((s.doc, s.segment)) {
            continue;
        }
        let Some(doc) = out.documents.get(s.doc) else {
            continue;
        };
        let Some(seg) = doc.segments.iter().find(|g| g.id == s.segment) else {
            continue;
        };
        buf.push_str(&format!(
            "[^d{}s{}]: {} segment {} (bytes {}-{}), score {:.3}: {}\n",
            s.doc,
            s.segment,
            if doc.input.is_empty() {
                format!("document {}", s.doc)
            } else {
                format!("`{}`", doc.input)
            },
            seg.id,
            seg.source_span[0],
            seg.source_span[1],
            s.score,
            md_inline(&seg.source)
        ));
    }
    for (i, d) in out.documents.iter().enumerate() {
        buf.push_str(&format!(
            "\n## Document {i}: {}\n\n",
            if d.input.is_empty() { "-" } else { &d.input }
        ));
        buf.push_str(&super::document::markdown(d));
    }
    buf
}

/// Text on one Markdown line: whitespace collapsed, `[`/`]` escaped so text
/// cannot open a link or footnote.
fn md_inline(text: &str) -> String {
    md_cell(&text.split_whitespace().collect::<Vec<_>>().join(" "))
        .replace('[', "\\[")
        .replace(']', "\\]")
}
