//! The pure-Rust SentencePiece reader against sentencepiece itself: a tiny
//! Unigram model trained by the `sentencepiece` package with nmt_nfkc rules
//! and its encodings of awkward strings (`scripts/spm_fixtures.py`), malformed
//! files that must be errors (never panics), and the Marian vocab.json
//! mapping on a hand-made vocabulary.

use std::path::{Path, PathBuf};

use dich::format::spm::{MarianVocab, SpmModel, SpmTokenizer, SPACE};
use dich::format::FormatError;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixtures {
    vocab_size: usize,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    text: String,
    pieces: Vec<String>,
    ids: Vec<u32>,
    decoded: String,
    nfc_pieces: Vec<String>,
    nfc_ids: Vec<u32>,
}

/// Cases where dich differs from sentencepiece on the raw text, because it
/// NFC-composes first (`tokenizers`' Precompiled applies the shortest rule
/// of a grapheme, so without NFC every NFD Vietnamese letter with two marks
/// would lose one): combining marks out of canonical order, and a letter
/// with four marks. dich equals sentencepiece on the NFC text there.
const DIFFERS_FROM_SENTENCEPIECE: &[&str] = &["noncanonical_marks", "long_grapheme"];

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/spm")
        .join(rel)
}

fn fixtures() -> Fixtures {
    let text = std::fs::read_to_string(fixture("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn tiny() -> SpmTokenizer {
    SpmTokenizer::from_file(&fixture("tiny.spm")).unwrap()
}

#[test]
fn same_pieces_and_ids_as_sentencepiece() {
    let fx = fixtures();
    let tok = tiny();
    assert_eq!(tok.len(), fx.vocab_size);
    let mut failures = Vec::new();
    for case in &fx.cases {
        let enc = tok.encode(&case.text).unwrap();
        assert_eq!(
            enc.get_tokens(),
            case.nfc_pieces.as_slice(),
            "{}",
            case.name
        );
        assert_eq!(enc.get_ids(), case.nfc_ids.as_slice(), "{}", case.name);
        if DIFFERS_FROM_SENTENCEPIECE.contains(&case.name.as_str()) {
            assert_ne!(
                enc.get_ids(),
                case.ids.as_slice(),
                "{} now matches",
                case.name
            );
            continue;
        }
        if enc.get_tokens() != case.pieces.as_slice() || enc.get_ids() != case.ids.as_slice() {
            failures.push(format!(
                "{} {:?}:\n  expected {:?} {:?}\n  got      {:?} {:?}",
                case.name,
                case.text,
                case.pieces,
                case.ids,
                enc.get_tokens(),
                enc.get_ids()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(fx.cases.len() >= 30);
}

#[test]
fn decoding_matches_sentencepiece() {
    let tok = tiny();
    for case in fixtures().cases {
        assert_eq!(tok.decode(&case.ids), case.decoded, "{}", case.name);
    }
}

/// Text made only of pieces the model knows comes back as it went in.
#[test]
fn round_trip() {
    let tok = tiny();
    for case in fixtures().cases {
        // Unknown pieces decode as " ⁇ "; a literal U+2581 before a word
        // decodes as a second space, which encoding collapses.
        if case.ids.contains(&tok.unk_id()) || case.decoded.contains("  ") {
            continue;
        }
        let ids = tok.encode(&case.decoded).unwrap().get_ids().to_vec();
        assert_eq!(ids, case.ids, "{}", case.name);
        assert_eq!(tok.decode(&ids), case.decoded, "{}", case.name);
    }
}

#[test]
fn offsets_point_into_the_input() {
    let tok = tiny();
    let text = "  Hà   Nội ";
    let enc = tok.encode(text).unwrap();
    let covered: String = enc
        .get_offsets()
        .iter()
        .map(|&(a, b)| &text[a..b])
        .collect::<Vec<_>>()
        .join("|");
    assert!(covered.contains("Hà") || covered.contains('H'), "{covered}");
    for &(a, b) in enc.get_offsets() {
        assert!(a <= b && b <= text.len());
    }
}

fn assert_spm_error(result: Result<SpmModel, FormatError>, what: &str) {
    match result {
        Err(FormatError::SentencePiece { path, .. }) => {
            assert!(path.ends_with("bad.spm"), "{what}: {path:?}")
        }
        Err(other) => panic!("{what}: unexpected error {other}"),
        Ok(_) => panic!("{what}: parsed"),
    }
}

#[test]
fn malformed_files_are_errors() {
    let bytes = std::fs::read(fixture("tiny.spm")).unwrap();
    let path = Path::new("bad.spm");
    assert_spm_error(SpmModel::parse(&[], path), "empty");
    for n in [1, 2, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        assert_spm_error(
            SpmModel::parse(&bytes[..n], path),
            &format!("first {n} bytes"),
        );
    }
    // An xorshift stream: the same bytes on every run.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for len in [1usize, 3, 16, 100, 1000, 10_000] {
        let random: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        assert_spm_error(
            SpmModel::parse(&random, path),
            &format!("{len} random bytes"),
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("bad.spm");
    std::fs::write(&empty, b"").unwrap();
    assert_spm_error(SpmModel::from_file(&empty), "zero-length file");
    let err = SpmTokenizer::from_file(&empty).err().unwrap();
    assert!(err.to_string().contains("bad.spm"), "{err}");
}

/// Flipped bytes anywhere in a real file: an error or a working tokenizer,
/// never a panic (the charsmap is indexed without bounds checks downstream).
#[test]
fn corrupted_files_never_panic() {
    let bytes = std::fs::read(fixture("tiny.spm")).unwrap();
    let path = Path::new("bad.spm");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..300 {
        let mut b = bytes.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() % b.len() as u64) as usize;
            b[i] = next() as u8;
        }
        if let Ok(model) = SpmModel::parse(&b, path) {
            if let Ok(tok) = SpmTokenizer::new(model, path) {
                let enc = tok.encode("Sáng 25/10, Hà Nội “quote” 😀").unwrap();
                tok.decode(enc.get_ids());
            }
        }
    }
}

const VOCAB_JSON: &str = r#"{
    "</s>": 0,
    "<unk>": 1,
    "▁Hà": 2,
    "▁N": 3,
    "ội": 4,
    "▁": 5,
    ">>vie<<": 6,
    "<pad>": 7
}"#;

#[test]
fn marian_vocab_maps_pieces_to_model_ids() {
    let tok = tiny();
    let vocab = MarianVocab::from_json(VOCAB_JSON, Path::new("vocab.json")).unwrap();
    assert_eq!((vocab.eos_id, vocab.unk_id, vocab.pad_id), (0, 1, 7));

    let text = "Hà Nội 😀";
    let pieces = tok.encode(text).unwrap().get_tokens().to_vec();
    let ids = vocab.encode(&tok, text).unwrap();
    // One model id a piece, `</s>` last; pieces vocab.json lacks are <unk>.
    assert_eq!(ids.len(), pieces.len() + 1);
    assert_eq!(ids.last(), Some(&0));
    for (piece, &id) in pieces.iter().zip(&ids) {
        let want = match piece.as_str() {
            "▁Hà" => 2,
            "▁N" => 3,
            "ội" => 4,
            "▁" => 5,
            _ => 1,
        };
        assert_eq!(id, want, "{piece}");
    }
    assert!(ids.contains(&1), "{pieces:?}");

    let with_code = vocab.encode(&tok, ">>vie<< Hà Nội 😀").unwrap();
    assert_eq!(with_code[0], 6);
    assert_eq!(&with_code[1..], ids.as_slice());
    assert_eq!(vocab.encode(&tok, "").unwrap(), [0]);
}

#[test]
fn marian_decode_drops_special_tokens() {
    let vocab = MarianVocab::from_json(VOCAB_JSON, Path::new("vocab.json")).unwrap();
    assert_eq!(vocab.decode(&[7, 2, 3, 4, 1, 5, 2, 0, 7, 7]), "Hà Nội  Hà");
    assert_eq!(vocab.decode(&[7, 0]), "");
    assert_eq!(vocab.decode(&[2, 99, 3, 4]), "Hà Nội");
    assert!(!vocab.decode(&[0, 1, 7, 2]).contains('<'));
    assert!(!vocab.decode(&[2, 5, 5]).contains(SPACE));
}

#[test]
fn marian_vocab_errors_name_the_file() {
    for json in [
        "[]",
        r#"{"</s>": 0, "<unk>": 1}"#,
        r#"{"</s>": 0, "<unk>": 1, "<pad>": 1}"#,
        r#"{"</s>": -1}"#,
    ] {
        let err = MarianVocab::from_json(json, Path::new("x/vocab.json")).unwrap_err();
        assert!(err.to_string().starts_with("x/vocab.json: "), "{err}");
    }
}
