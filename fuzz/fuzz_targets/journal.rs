//! Resuming into an existing output: `Journal::open` reads `OUT` and
//! `OUT.part` (both from the fuzz input: two bytes give the length of
//! OUT), repairs or refuses them, and consolidates. A journal that opens
//! must then take a new record and finish, leaving an `OUT` whose every
//! line is a record with a distinct key, and which opens again as is.
#![no_main]

use std::collections::{HashMap, HashSet};

use libfuzzer_sys::fuzz_target;

use dich::batch::journal::{record_key, Journal};

fuzz_target!(|data: &[u8]| {
    let (out_bytes, part_bytes) = dich_fuzz::split2(data);
    let dir = dich_fuzz::scratch_dir();
    let out = dir.join("out.jsonl");
    for suffix in ["", ".part", ".rejected"] {
        let _ = std::fs::remove_file(dir.join(format!("out.jsonl{suffix}")));
    }
    if !out_bytes.is_empty() {
        std::fs::write(&out, out_bytes).unwrap();
    }
    if !part_bytes.is_empty() {
        std::fs::write(dir.join("out.jsonl.part"), part_bytes).unwrap();
    }
    let order: HashMap<String, usize> = HashMap::new();
    let Ok((mut j, rec)) = Journal::open(&out, &order, data.first() == Some(&b'r')) else {
        return;
    };
    assert_eq!(rec.finished, j.len());
    let key = "id:\u{1}fuzz-new";
    if !j.is_done(key) {
        j.append(key, r#"{"id":"\u0001fuzz-new","line":1}"#, false)
            .expect("append");
    }
    let n = j.len();
    j.finish(&order).expect("finish");
    let text = std::fs::read(&out).expect("OUT exists after finish");
    assert!(text.is_empty() || text.ends_with(b"\n"));
    let mut keys = HashSet::new();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).expect("every line is JSON");
        let (k, _) = record_key(&v).expect("every line is a record");
        assert!(keys.insert(k), "a record twice in OUT");
    }
    assert_eq!(keys.len(), n);
    let (j2, rec2) = Journal::open(&out, &order, false).expect("reopens");
    assert_eq!(j2.len(), n);
    assert!(rec2.warnings.is_empty());
    j2.finish(&order).expect("finish again");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        text,
        "a second consolidation changes nothing"
    );
});
