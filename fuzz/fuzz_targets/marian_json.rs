//! A Marian checkpoint's JSON files: `config.json` (`parse_config`) and
//! `vocab.json` (`MarianVocab::from_json`); the first byte picks which.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

use dich::format::marian::parse_config;
use dich::format::spm::MarianVocab;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if which & 1 == 0 {
        let _ = parse_config(text, Path::new("config.json"));
    } else if let Ok(v) = MarianVocab::from_json(text, Path::new("vocab.json")) {
        let _ = v.max_id();
        let ids: Vec<u32> = (0..v.len().min(64) as u32).collect();
        let _ = v.decode(&ids);
        let _ = v.piece(v.id("<unk>"));
    }
});
