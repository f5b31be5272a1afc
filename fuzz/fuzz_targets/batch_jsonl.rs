//! Batch JSONL input records (`parse_jsonl`): never a panic; every record
//! has a unique key and its input order; a usable record's text passed
//! the checks (not blank, no NUL, at most max_chars characters).
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;

use dich::batch::input::{parse_jsonl, InputKind};

const MAX_CHARS: usize = 200;

fuzz_target!(|data: &[u8]| {
    let input = parse_jsonl("in.jsonl", InputKind::Jsonl, data, MAX_CHARS);
    assert_eq!(input.sha256.len(), 64);
    let mut keys = HashSet::new();
    for (i, r) in input.records.iter().enumerate() {
        assert_eq!(r.order, i);
        assert!(keys.insert(r.key.clone()), "key {} twice", r.key);
        let _ = r.label();
        if let Ok(w) = &r.work {
            assert!(r.id.is_some());
            assert!(!w.text.trim().is_empty());
            assert!(!w.text.contains('\0'));
            assert!(w.text.chars().count() <= MAX_CHARS);
        }
    }
});
