//! SentencePiece `.spm` protobuf (`SpmModel::parse`), then the tokenizer
//! built from it (`SpmTokenizer::new`, its precompiled charsmap included),
//! which encodes and decodes a short text.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

use dich::format::spm::{SpmModel, SpmTokenizer};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.spm");
    let Ok(model) = SpmModel::parse(data, path) else {
        return;
    };
    assert!(!model.pieces.is_empty());
    let Ok(tok) = SpmTokenizer::new(model, path) else {
        return;
    };
    assert!(!tok.is_empty());
    let _ = tok.piece(tok.unk_id());
    if let Ok(enc) = tok.encode("Xin chào  Hà Nội! ﬁ Hello world 123") {
        let _ = tok.decode(enc.get_ids());
    }
});
