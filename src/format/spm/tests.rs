//! Unit tests for the `.spm` reader, `SpmTokenizer` and the Marian vocabulary,
//! on a tiny hand-made model.

use super::vocab::split_language_code;
use super::*;

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn field_bytes(field: u32, body: &[u8], out: &mut Vec<u8>) {
    varint((u64::from(field) << 3) | 2, out);
    varint(body.len() as u64, out);
    out.extend_from_slice(body);
}

fn piece(text: &str, score: f32, kind: u64) -> Vec<u8> {
    let mut p = Vec::new();
    field_bytes(1, text.as_bytes(), &mut p);
    p.push((2 << 3) | 5);
    p.extend_from_slice(&score.to_le_bytes());
    varint(3 << 3, &mut p);
    varint(kind, &mut p);
    p
}

/// A tiny hand-made model: <unk> <s> </s> then a few pieces, with some
/// unknown fields of every wire type mixed in.
fn tiny(model_type: u64) -> Vec<u8> {
    let mut m = Vec::new();
    for (text, score, kind) in [
        ("<unk>", 0.0, 2),
        ("<s>", 0.0, 3),
        ("</s>", 0.0, 3),
        ("\u{2581}", -2.0, 1),
        ("\u{2581}ab", -1.0, 1),
        ("a", -3.0, 1),
        ("b", -3.0, 1),
        ("c", -3.0, 1),
    ] {
        field_bytes(1, &piece(text, score, kind), &mut m);
    }
    let mut t = Vec::new();
    varint(3 << 3, &mut t);
    varint(model_type, &mut t);
    varint((7 << 3) | 1, &mut t); // unknown fixed64
    t.extend_from_slice(&[0; 8]);
    varint(43 << 3, &mut t);
    varint(u64::MAX, &mut t); // pad_id = -1, sign-extended
    varint((9 << 3) | 3, &mut t); // unknown group holding a varint
    varint(1 << 3, &mut t);
    varint(5, &mut t);
    varint((9 << 3) | 4, &mut t);
    field_bytes(2, &t, &mut m);
    let mut n = Vec::new();
    field_bytes(1, b"identity", &mut n);
    varint((99 << 3) | 5, &mut n); // unknown fixed32
    n.extend_from_slice(&[1, 2, 3, 4]);
    field_bytes(3, &n, &mut m);
    m
}

#[test]
fn parses_hand_made_model() {
    let m = SpmModel::parse(&tiny(1), Path::new("t.spm")).unwrap();
    assert_eq!(m.pieces.len(), 8);
    assert_eq!(m.pieces[4].piece, "\u{2581}ab");
    assert_eq!(m.pieces[4].score, -1.0);
    assert_eq!(m.pieces[2].kind, PieceKind::Control);
    assert_eq!(m.trainer.pad_id, -1);
    assert_eq!(m.trainer.unk_id, 0);
    assert_eq!(m.normalizer.name, "identity");
    assert!(m.normalizer.add_dummy_prefix);

    let tok = SpmTokenizer::new(m, Path::new("t.spm")).unwrap();
    let enc = tok.encode("  ab  c  </s> ").unwrap();
    let pieces: Vec<&str> = enc.get_tokens().iter().map(String::as_str).collect();
    // Control pieces never match text; unknown characters in a row are
    // one unknown token.
    assert_eq!(pieces, ["\u{2581}ab", "\u{2581}", "c", "\u{2581}", "</s>"]);
    assert_eq!(enc.get_ids(), [4, 3, 7, 3, 0]);
    assert_eq!(tok.decode(&[1, 4, 3, 7, 0, 2]), "ab c \u{2047} ");
}

#[test]
fn rejects_bpe() {
    let err = SpmModel::parse(&tiny(2), Path::new("t.spm")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("t.spm") && msg.contains("Bpe"), "{msg}");
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = tiny(1);
    for n in 0..bytes.len() {
        // Some prefixes end on a field boundary and parse; none panics.
        if let Err(e) = SpmModel::parse(&bytes[..n], Path::new("t.spm")) {
            assert!(e.to_string().starts_with("t.spm: "), "{e}");
        }
    }
    let err = SpmModel::parse(&bytes[..bytes.len() - 3], Path::new("t.spm")).unwrap_err();
    assert!(matches!(err, FormatError::SentencePiece { .. }), "{err}");
}

#[test]
fn bad_utf8_names_the_offset() {
    let mut m = Vec::new();
    field_bytes(1, &piece("ok", 0.0, 1), &mut m);
    let at = m.len() + 4; // piece key, length, string key, string length
    field_bytes(
        1,
        &piece("\u{e9}x", 0.0, 1).replace_first(0xc3, 0xff),
        &mut m,
    );
    match SpmModel::parse(&m, Path::new("t.spm")).unwrap_err() {
        FormatError::SentencePiece {
            offset, message, ..
        } => {
            assert_eq!(offset, at, "{message}");
            assert!(message.contains("UTF-8"));
        }
        other => panic!("{other}"),
    }
}

trait ReplaceFirst {
    fn replace_first(self, from: u8, to: u8) -> Self;
}

impl ReplaceFirst for Vec<u8> {
    fn replace_first(mut self, from: u8, to: u8) -> Self {
        if let Some(b) = self.iter_mut().find(|b| **b == from) {
            *b = to;
        }
        self
    }
}

#[test]
fn malformed_charsmap_is_an_error() {
    for map in [
        vec![1u8],
        vec![8, 0, 0, 0, 1, 0, 0, 0],
        vec![4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
        vec![0, 0, 0, 0, b'a'],
    ] {
        assert!(check_charsmap(&map).is_err(), "{map:?}");
    }
}

#[test]
fn language_code() {
    assert_eq!(split_language_code(">>vie<< Hi"), (Some(">>vie<<"), " Hi"));
    assert_eq!(split_language_code(">><< Hi"), (None, ">><< Hi"));
    assert_eq!(split_language_code("Hi >>vie<<"), (None, "Hi >>vie<<"));
}
