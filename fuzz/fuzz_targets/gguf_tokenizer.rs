//! The tokenizer a GGUF file's metadata describes (`from_gguf_metadata`:
//! byte-level BPE or SentencePiece BPE with scores, token types, merges),
//! with the metadata read from the fuzz input as a GGUF file (through
//! `GgufFile::open`, as `LoadedLm::from_gguf` does); a built tokenizer then
//! encodes and decodes a short text.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

use dich::format::gguf::GgufFile;
use dich::format::gguf_tokenizer::from_gguf_metadata;

fuzz_target!(|data: &[u8]| {
    let path = dich_fuzz::scratch_file("model.gguf", data);
    let Ok(g) = GgufFile::open(&path) else {
        return;
    };
    let Ok((tokenizer, info)) = from_gguf_metadata(g.metadata(), Path::new("fuzz.gguf")) else {
        return;
    };
    let _ = (info.bos_token_id, info.eos_token_id, info.add_bos);
    if let Ok(enc) = tokenizer.encode("Xin chào, Hà Nội! Hello  world 123 <|im_end|>", false) {
        let _ = tokenizer.decode(enc.get_ids(), false);
    }
});
