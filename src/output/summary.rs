//! The result of `dich summarize`: the translation documents of the inputs
//! and the aligned summary, as JSON, text, Markdown (footnote links to
//! segment ids) or HTML (see [`super::html`]).
//!
//! JSON: for one input, the translation document with a `summary` field; for
//! several, `{"documents": [...], "summary": ...}`.

use serde::{Deserialize, Serialize};

use super::{md_cell, TranslationDocument};
use crate::summarize::{Method, Summary, Support};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SummaryOutput {
    pub documents: Vec<TranslationDocument>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
    Markdown,
    Html,
}

impl SummaryOutput {
    pub fn render(&self, format: SummaryFormat) -> String {
        match format {
            SummaryFormat::Text => self.to_text(),
            SummaryFormat::Json => self.to_json(),
            SummaryFormat::Markdown => self.to_markdown(),
            SummaryFormat::Html => super::html::render(self),
        }
    }

    pub fn to_json(&self) -> String {
        let value = if self.documents.len() == 1 {
            let mut v = serde_json::to_value(&self.documents[0]).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert(
                    "summary".into(),
                    serde_json::to_value(&self.summary).unwrap_or_default(),
                );
            }
            v
        } else {
            serde_json::to_value(self).unwrap_or_default()
        };
        // Plain structs of strings and numbers cannot fail to serialize.
        let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads what [`Self::to_json`] wrote (either shape).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let v: serde_json::Value = serde_json::from_str(text)?;
        if v.get("documents").is_some() {
            return serde_json::from_value(v);
        }
        let summary = serde_json::from_value(v.get("summary").cloned().unwrap_or_default())?;
        let doc = serde_json::from_value(v)?;
        Ok(Self {
            documents: vec![doc],
            summary,
        })
    }

    fn method_name(&self) -> &'static str {
        match self.summary.method {
            Method::Extractive => "extractive",
            Method::Abstractive => "abstractive",
        }
    }

    /// `#3` for one input, `d1#3` for several.
    pub fn support_label(&self, s: &Support) -> String {
        if self.documents.len() == 1 {
            format!("#{}", s.segment)
        } else {
            format!("d{}#{}", s.doc, s.segment)
        }
    }

    /// The summary for reading: each sentence in English, then Vietnamese,
    /// then its support and flags.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Summary ({}, {} sentences)\n",
            self.method_name(),
            self.summary.sentences.len()
        );
        if self.documents.len() > 1 {
            for (i, d) in self.documents.iter().enumerate() {
                out.push_str(&format!("  d{i}: {} ({})\n", d.input, d.source_lang.name()));
            }
        }
        for (i, s) in self.summary.sentences.iter().enumerate() {
            out.push_str(&format!("\n{}. {}\n   {}\n", i + 1, s.en, s.vi));
            let support: Vec<String> = s
                .support
                .iter()
                .map(|x| format!("{} ({:.3})", self.support_label(x), x.score))
                .collect();
            out.push_str(&format!(
                "   support: {}\n",
                if support.is_empty() {
                    "none".to_string()
                } else {
                    support.join(", ")
                }
            ));
            if !s.flags.is_empty() {
                out.push_str(&format!("   flags: {}\n", s.flags.join(", ")));
            }
        }
        out
    }

    /// The summary in both languages with footnote links to the supporting
    /// segments (document, segment id, byte span, score, source text), then
    /// each document side by side.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# Summary ({})\n\n", self.method_name());
        let note = |s: &Support| format!("[^d{}s{}]", s.doc, s.segment);
        let flags = |f: &[String]| {
            if f.is_empty() {
                String::new()
            } else {
                format!(" _({})_", f.join(", "))
            }
        };
        for (title, en) in [("English", true), ("Tiếng Việt", false)] {
            out.push_str(&format!("## {title}\n\n"));
            for (i, s) in self.summary.sentences.iter().enumerate() {
                let text = if en { &s.en } else { &s.vi };
                let notes: String = s.support.iter().map(note).collect();
                out.push_str(&format!(
                    "{}. {}{}{}\n",
                    i + 1,
                    md_inline(text),
                    notes,
                    flags(&s.flags)
                ));
            }
            out.push('\n');
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in self.summary.sentences.iter().flat_map(|s| &s.support) {
            if !seen.insert((s.doc, s.segment)) {
                continue;
            }
            let Some(doc) = self.documents.get(s.doc) else {
                continue;
            };
            let Some(seg) = doc.segments.iter().find(|g| g.id == s.segment) else {
                continue;
            };
            out.push_str(&format!(
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
        for (i, d) in self.documents.iter().enumerate() {
            out.push_str(&format!(
                "\n## Document {i}: {}\n\n",
                if d.input.is_empty() { "-" } else { &d.input }
            ));
            out.push_str(&d.to_markdown());
        }
        out
    }
}

/// Text on one Markdown line: whitespace collapsed, `[`/`]` escaped so text
/// cannot open a link or footnote.
fn md_inline(text: &str) -> String {
    md_cell(&text.split_whitespace().collect::<Vec<_>>().join(" "))
        .replace('[', "\\[")
        .replace(']', "\\]")
}
