//! The translation document and its renderings: plain text (the translated
//! article), JSON (every segment with its byte span), and Markdown (source and
//! translation side by side per paragraph).

pub mod align;
pub mod html;
pub mod summary;

use serde::{Deserialize, Serialize};

use crate::translate::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelRef {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentOut {
    pub id: usize,
    pub paragraph: usize,
    pub kind: crate::text::SegmentKind,
    pub source: String,
    /// Byte offsets into the original input: `input[start..end] == source`.
    pub source_span: [usize; 2],
    pub target: String,
    pub flags: Vec<String>,
    /// Ratio margin of (source, target) within the document (see
    /// `align::translation`); absent for verbatim segments or when not scored.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub score: Option<f64>,
    /// Cosine of the source and target embeddings.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cosine: Option<f64>,
    /// With `--n-best K` (encoder-decoder models): the K best translations,
    /// best first, each with its length-normalized log-probability.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub alternatives: Vec<Alternative>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Alternative {
    pub target: String,
    pub score: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stats {
    pub load_s: f64,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prompt_s: f64,
    pub generate_s: f64,
    pub wall_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TranslationDocument {
    /// The input as the user named it (a path, or `-` for stdin). Documents
    /// written before this field existed read as "".
    #[serde(default)]
    pub input: String,
    pub source_lang: Lang,
    pub target_lang: Lang,
    pub model: ModelRef,
    /// The embedder that scored the pairs, when they were scored.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scorer: Option<ModelRef>,
    pub segments: Vec<SegmentOut>,
    pub stats: Stats,
}

impl TranslationDocument {
    /// Segments grouped by paragraph, in order.
    fn paragraphs(&self) -> Vec<&[SegmentOut]> {
        self.segments
            .chunk_by(|a, b| a.paragraph == b.paragraph)
            .collect()
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.to_text(),
            Format::Json => self.to_json(),
            Format::Markdown => self.to_markdown(),
        }
    }

    /// The translated article: a paragraph per line group, blank lines between.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (i, para) in self.paragraphs().into_iter().enumerate() {
            if i > 0 {
                out.push_str("\n\n");
            }
            out.push_str(&join(para.iter().map(|s| s.target.as_str())));
        }
        out.push('\n');
        out
    }

    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings and numbers cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "| {} | {} |\n|---|---|\n",
            self.source_lang.name(),
            self.target_lang.name()
        );
        for para in self.paragraphs() {
            let src = join(para.iter().map(|s| s.source.as_str()));
            let tgt = join(para.iter().map(|s| s.target.as_str()));
            out.push_str(&format!("| {} | {} |\n", md_cell(&src), md_cell(&tgt)));
        }
        out
    }
}

fn join<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    parts
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A table cell holds one line; `|` would end the cell.
fn md_cell(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::SegmentKind;

    fn doc() -> TranslationDocument {
        let seg = |id, paragraph, source: &str, target: &str| SegmentOut {
            id,
            paragraph,
            kind: SegmentKind::Sentence,
            source: source.into(),
            source_span: [0, source.len()],
            target: target.into(),
            flags: vec![],
            score: None,
            cosine: None,
            alternatives: Vec::new(),
        };
        TranslationDocument {
            input: "a.txt".into(),
            source_lang: Lang::Vi,
            target_lang: Lang::En,
            model: ModelRef {
                name: "m".into(),
                sha256: "0".repeat(64),
            },
            scorer: None,
            segments: vec![
                seg(0, 0, "Một.", "One."),
                seg(1, 0, "Hai.", "Two."),
                seg(2, 1, "A | B", "A | B"),
            ],
            stats: Stats {
                load_s: 1.0,
                prompt_tokens: 10,
                generated_tokens: 5,
                prompt_s: 0.5,
                generate_s: 0.5,
                wall_s: 2.0,
            },
        }
    }

    #[test]
    fn text_keeps_paragraphs() {
        assert_eq!(doc().to_text(), "One. Two.\n\nA | B\n");
    }

    #[test]
    fn markdown_is_side_by_side_and_escaped() {
        let md = doc().to_markdown();
        assert!(
            md.starts_with("| Vietnamese | English |\n|---|---|\n"),
            "{md}"
        );
        assert!(md.contains("| Một. Hai. | One. Two. |\n"), "{md}");
        assert!(md.contains("| A \\| B | A \\| B |\n"), "{md}");
    }

    #[test]
    fn json_has_the_documented_fields() {
        let v: serde_json::Value = serde_json::from_str(&doc().to_json()).unwrap();
        assert_eq!(v["source_lang"], "vi");
        assert_eq!(v["target_lang"], "en");
        assert_eq!(v["segments"][1]["source_span"], serde_json::json!([0, 4]));
        for key in ["load_s", "prompt_tokens", "generated_tokens", "wall_s"] {
            assert!(v["stats"].get(key).is_some(), "{key}");
        }
    }
}
