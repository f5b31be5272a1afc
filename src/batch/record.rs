//! One output line per input record: the input's fields (those that would
//! collide with dich's own moved under `input_fields`), then the
//! translation, its segments (full or compact), the summary, the error or
//! the timings.

use serde::Serialize;
use serde_json::{Map, Value};

use super::input::{Record, RecordError};
use super::{BatchOptions, RecordFormat};
use crate::error::Error;
use crate::input::InputError;
use crate::model::ModelError;
use crate::types::{Flag, Lang, SegmentOut, Summary, TranslationDocument};

/// Input fields that would collide with what dich writes are kept under
/// `input_fields` instead.
const RESERVED: [&str; 10] = [
    "id",
    "line",
    "input_fields",
    "source_lang",
    "target_lang",
    "translation",
    "segments",
    "summary",
    "error",
    "timings",
];

#[derive(Serialize)]
struct OutRecord<'a> {
    id: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(flatten)]
    fields: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_fields: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_lang: Option<Lang>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_lang: Option<Lang>,
    #[serde(skip_serializing_if = "Option::is_none")]
    translation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    segments: Option<Segments<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a RecordError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timings: Option<Timings>,
}

/// Per-record timings (seconds) and token counts.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    pub wall_s: f64,
    pub translate_s: f64,
    pub score_s: f64,
    pub summarize_s: f64,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prompt_s: f64,
    pub generate_s: f64,
}

pub(super) struct Processed {
    pub(super) doc: TranslationDocument,
    pub(super) summary: Option<Summary>,
    pub(super) timings: Timings,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Segments<'a> {
    Full(&'a [SegmentOut]),
    Compact(Vec<CompactSegment<'a>>),
}

#[derive(Serialize)]
struct CompactSegment<'a> {
    id: usize,
    source_span: [usize; 2],
    target: &'a str,
    flags: &'a [Flag],
}

/// The output line of a record (JSON, no newline).
pub(super) fn render(
    rec: &Record,
    result: &std::result::Result<Processed, RecordError>,
    opts: &BatchOptions,
) -> String {
    let mut fields = Map::new();
    let mut moved = Map::new();
    for (k, v) in &rec.fields {
        if RESERVED.contains(&k.as_str()) {
            moved.insert(k.clone(), v.clone());
        } else {
            fields.insert(k.clone(), v.clone());
        }
    }
    let null = Value::Null;
    let mut out = OutRecord {
        id: rec.id.as_ref().unwrap_or(&null),
        line: rec.line,
        fields,
        input_fields: (!moved.is_empty()).then_some(moved),
        source_lang: None,
        target_lang: None,
        translation: None,
        segments: None,
        summary: None,
        error: None,
        timings: None,
    };
    match result {
        Ok(p) => {
            out.source_lang = Some(p.doc.source_lang);
            out.target_lang = Some(p.doc.target_lang);
            out.translation = Some(
                crate::render::document::text(&p.doc)
                    .trim_end_matches('\n')
                    .to_string(),
            );
            out.segments = Some(match opts.format {
                RecordFormat::Full => Segments::Full(&p.doc.segments),
                RecordFormat::Compact => Segments::Compact(
                    p.doc
                        .segments
                        .iter()
                        .map(|s| CompactSegment {
                            id: s.id,
                            source_span: s.source_span,
                            target: &s.target,
                            flags: &s.flags,
                        })
                        .collect(),
                ),
            });
            out.summary = p.summary.as_ref();
            out.timings = opts.timings.then_some(p.timings);
        }
        Err(e) => out.error = Some(e),
    }
    // Maps of strings and numbers always serialize.
    serde_json::to_string(&out).unwrap_or_default()
}

/// The error record of a record that failed in the pipeline.
pub(super) fn record_error(rec: &Record, e: Error) -> RecordError {
    let label = rec.label();
    match e {
        Error::Input(InputError::NothingToTranslate { .. }) => RecordError::new(
            "nothing-to-translate",
            format!("{label}: no text to translate was found"),
        ),
        Error::NothingToSummarize => RecordError::new(
            "nothing-to-summarize",
            format!("{label}: no sentence to summarize (only headings, bylines or captions)"),
        ),
        Error::Model(ModelError::ContextOverflow { .. }) => {
            RecordError::new("too-long", format!("{label}: {e}"))
        }
        Error::PairNotSupported { .. } => {
            RecordError::new("unsupported-pair", format!("{label}: {e}"))
        }
        other => RecordError::new("failed", format!("{label}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_records_keep_id_line_and_fields() {
        let bytes = b"{\"id\": \"x\", \"text\": \"\", \"source\": \"vnexpress\", \"error\": 1}\n";
        let inp = super::super::input::parse_jsonl(
            "in",
            super::super::input::InputKind::Jsonl,
            bytes,
            100,
        );
        let rec = &inp.records[0];
        let opts = BatchOptions {
            input: "in".into(),
            output: "o.jsonl".into(),
            task: super::super::Task::Translate,
            format: RecordFormat::Full,
            lang: None,
            max_chars: 100,
            shard: None,
            score: true,
            timings: true,
            retry_failed: false,
            checkpoint_secs: 0,
            max_batch: None,
            translate: crate::translate::TranslateOptions::default(),
            quantize: None,
            summary: crate::summarize::SummaryOptions::default(),
            stop: Default::default(),
        };
        let result = Err(rec.work.clone().unwrap_err());
        let line = render(rec, &result, &opts);
        assert_eq!(
            line,
            r#"{"id":"x","line":1,"source":"vnexpress","input_fields":{"error":1},"error":{"kind":"empty-text","message":"line 1: the text is empty or only whitespace"}}"#
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            super::super::journal::record_key(&v),
            Some(("id:x".to_string(), true))
        );
    }
}
