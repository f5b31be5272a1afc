//! Translation JSON given to `dich summarize` (`parse_document_json`),
//! then what the command does with the documents: score them, summarize
//! (extractive, with a stand-in embedder) and render the summary in every
//! format.
#![no_main]

use libfuzzer_sys::fuzz_target;

use dich::align::document::score_document;
use dich::input::{parse_document_json, Input};
use dich::model::embedder::{EmbedKind, Embedder};
use dich::model::ModelError;
use dich::render::{summary, SummaryFormat};
use dich::summarize::{summarize_documents, SummaryOptions};
use dich::types::{ModelRef, SummaryOutput};

/// Unit vectors from a hash of the text: deterministic and cheap.
struct HashEmbedder;

impl Embedder for HashEmbedder {
    fn embed(&self, texts: &[&str], _kind: EmbedKind) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut h: u64 = 0xcbf29ce484222325;
                let mut v = Vec::with_capacity(8);
                for i in 0..8u64 {
                    for b in t.bytes().chain(i.to_le_bytes()) {
                        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
                    }
                    v.push((h >> 40) as f32 / (1u64 << 24) as f32 - 0.5);
                }
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                v.into_iter().map(|x| x / n).collect()
            })
            .collect())
    }

    fn dim(&self) -> usize {
        8
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let input = Input {
        name: "fuzz.json".into(),
        text: text.to_string(),
    };
    let Ok(mut documents) = parse_document_json(&input) else {
        return;
    };
    let scorer = ModelRef {
        name: "hash".into(),
        sha256: String::new(),
    };
    for doc in documents.iter_mut().filter(|d| d.scorer.is_none()) {
        score_document(&HashEmbedder, scorer.clone(), doc).expect("scoring");
    }
    let opts = SummaryOptions::default();
    let Ok(s) = summarize_documents(None, &HashEmbedder, &documents, &opts, 0) else {
        return;
    };
    let out = SummaryOutput {
        documents,
        summary: s,
    };
    for f in [
        SummaryFormat::Text,
        SummaryFormat::Json,
        SummaryFormat::Markdown,
        SummaryFormat::Html,
    ] {
        let _ = summary::render(&out, f);
    }
});
