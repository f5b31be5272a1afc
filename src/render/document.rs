//! A translation document as plain text (the translated article), JSON
//! (every segment with its byte span) or Markdown (source and translation
//! side by side per paragraph).

use crate::types::{SegmentOut, TranslationDocument};

use super::DocumentFormat;

pub fn render(doc: &TranslationDocument, format: DocumentFormat) -> String {
    match format {
        DocumentFormat::Text => text(doc),
        DocumentFormat::Json => json(doc),
        DocumentFormat::Markdown => markdown(doc),
    }
}

/// The translated article: a paragraph per line group, blank lines between.
pub fn text(doc: &TranslationDocument) -> String {
    let mut out = String::new();
    for (i, para) in doc.paragraphs().into_iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        out.push_str(&join(para.iter().map(|s| s.target.as_str())));
    }
    out.push('\n');
    out
}

/// The document as pretty-printed JSON, one object.
pub fn json(doc: &TranslationDocument) -> String {
    super::pretty_json(doc)
}

/// Source and translation side by side, a table row per paragraph.
pub fn markdown(doc: &TranslationDocument) -> String {
    let mut out = format!(
        "| {} | {} |\n|---|---|\n",
        doc.source_lang.name(),
        doc.target_lang.name()
    );
    for para in doc.paragraphs() {
        let src = join(para.iter().map(|s: &SegmentOut| s.source.as_str()));
        let tgt = join(para.iter().map(|s| s.target.as_str()));
        out.push_str(&format!("| {} | {} |\n", md_cell(&src), md_cell(&tgt)));
    }
    out
}

fn join<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    parts
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A table cell holds one line; `|` would end the cell.
pub(crate) fn md_cell(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Lang, ModelRef, SegmentKind, Stats};

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
            selection_score: None,
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
        assert_eq!(text(&doc()), "One. Two.\n\nA | B\n");
    }

    #[test]
    fn markdown_is_side_by_side_and_escaped() {
        let md = markdown(&doc());
        assert!(
            md.starts_with("| Vietnamese | English |\n|---|---|\n"),
            "{md}"
        );
        assert!(md.contains("| Một. Hai. | One. Two. |\n"), "{md}");
        assert!(md.contains("| A \\| B | A \\| B |\n"), "{md}");
    }

    #[test]
    fn json_has_the_documented_fields() {
        let v: serde_json::Value = serde_json::from_str(&json(&doc())).unwrap();
        assert_eq!(v["source_lang"], "vi");
        assert_eq!(v["target_lang"], "en");
        assert_eq!(v["segments"][1]["source_span"], serde_json::json!([0, 4]));
        for key in ["load_s", "prompt_tokens", "generated_tokens", "wall_s"] {
            assert!(v["stats"].get(key).is_some(), "{key}");
        }
    }
}
