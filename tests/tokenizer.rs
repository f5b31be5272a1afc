//! The tokenizer built from the default model's GGUF metadata against
//! reference ids from an independent implementation (the pure-Python slow
//! Qwen2Tokenizer of `transformers`, fed the same vocabulary and merges; see
//! `scripts/tokenizer_fixtures.py`), plus round trips.

mod common;

use std::sync::OnceLock;

use candle_core::quantized::gguf_file::Content;
use serde::Deserialize;
use tokenizers::Tokenizer;

#[derive(Deserialize)]
struct Fixtures {
    model_sha256: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    text: String,
    ids: Vec<u32>,
    decoded: String,
}

fn fixtures() -> Fixtures {
    let text =
        std::fs::read_to_string(common::repo_path("tests/fixtures/qwen2_tokenizer.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// As built from the GGUF, with special-token strings parsed (as the
/// reference does).
fn tokenizer() -> &'static Tokenizer {
    static TOK: OnceLock<Tokenizer> = OnceLock::new();
    TOK.get_or_init(|| {
        let path = &common::default_model().path;
        let mut f = std::fs::File::open(path).unwrap();
        let content = Content::read(&mut f).unwrap();
        let (tok, info) =
            dich::format::gguf_tokenizer::from_gguf_metadata(&content.metadata, path).unwrap();
        assert_eq!(info.eos_token_id, Some(151645));
        assert!(!info.add_bos);
        assert!(info.chat_template.unwrap().contains("<|im_start|>"));
        tok
    })
}

#[test]
fn ids_match_the_reference_implementation_exactly() {
    let fx = fixtures();
    assert_eq!(
        fx.model_sha256,
        common::default_model().sha256,
        "fixtures were made from another model file"
    );
    assert!(fx.cases.len() >= 40);
    let mut failures = Vec::new();
    for case in &fx.cases {
        let got = tokenizer().encode(case.text.as_str(), false).unwrap();
        if got.get_ids() != case.ids.as_slice() {
            failures.push(format!(
                "{}: got {:?}, want {:?}",
                case.name,
                got.get_ids(),
                case.ids
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        fx.cases.len(),
        failures.join("\n")
    );
}

#[test]
fn decoding_round_trips() {
    for case in fixtures().cases {
        let decoded = tokenizer().decode(&case.ids, false).unwrap();
        assert_eq!(decoded, case.decoded, "{}", case.name);
    }
    // Text round-trips through our own encode + decode (NFC in, NFC out).
    for text in [
        common::SEED_VI,
        common::SEED_EN,
        "  Hai  khoảng trắng\t và tab\r\n🇻🇳 👨‍👩‍👧 5,66% 25/10 …",
    ] {
        let ids = tokenizer().encode(text, false).unwrap();
        let back = tokenizer().decode(ids.get_ids(), false).unwrap();
        assert_eq!(back, text);
    }
}

#[test]
fn offsets_point_into_the_input() {
    // Offsets are part of the API we rely on for spans.
    let text = "Sáng 25/10, Lễ mở ký Công ước tại Hà Nội.";
    let enc = tokenizer().encode(text, false).unwrap();
    let mut covered = 0;
    for &(s, e) in enc.get_offsets() {
        assert!(s <= e && e <= text.len());
        assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
        covered = covered.max(e);
    }
    assert_eq!(covered, text.len());
}
