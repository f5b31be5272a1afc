//! Inputs at the limits (issue 21): a 50 MB text on one line, a paragraph
//! of 3,000 sentences, a 200,000-record JSONL and a 5 MB record. These check
//! that each is handled whole and correctly (spans in bounds, covering the
//! text, `input[start..end]` the segment's text; every record answered);
//! the time and memory each takes are measured by `scripts/limits.sh`, not
//! asserted here (they are printed for the log).

use std::process::Command;
use std::time::Instant;

use dich::text::segment;

/// Every segment's span is in bounds, on character boundaries, in order,
/// not overlapping, trimmed, and every non-blank character is in one.
fn check_spans(input: &str) -> usize {
    let segs = segment(input);
    let mut covered = 0usize;
    let mut last_end = 0;
    for s in &segs {
        assert!(s.start < s.end && s.end <= input.len(), "{s:?}");
        assert!(s.start >= last_end, "overlap at {s:?}");
        let text = input.get(s.start..s.end).expect("char boundaries");
        assert_eq!(text, s.text(input));
        assert_eq!(text.trim(), text, "{s:?}");
        covered += text.chars().filter(|c| !c.is_whitespace()).count();
        last_end = s.end;
    }
    let want = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .count();
    assert_eq!(covered, want, "non-blank characters outside every segment");
    segs.len()
}

#[test]
fn a_50_mb_line_and_a_3000_sentence_paragraph_segment_whole() {
    let sentence = "Ngày 25/10, hơn 70 nước ký Công ước Hà Nội với tỷ lệ 5,66% tại TP.HCM. ";
    let paragraph = sentence.repeat(3_000);
    let t = Instant::now();
    let n = check_spans(&paragraph);
    assert_eq!(n, 3_000);
    eprintln!(
        "3,000-sentence paragraph ({} bytes): {:?}",
        paragraph.len(),
        t.elapsed()
    );

    // 50 MB on one line, no sentence end at all (a worst case for a scan
    // that looks ahead for the end).
    let words = "chữ không dấu chấm ";
    let line = words.repeat(50_000_000 / words.len());
    let t = Instant::now();
    let n = check_spans(&line);
    assert_eq!(n, 1);
    eprintln!(
        "{} bytes on one line without a full stop: {:?}",
        line.len(),
        t.elapsed()
    );

    // 50 MB on one line of sentences.
    let line = sentence.repeat(50_000_000 / sentence.len());
    let t = Instant::now();
    let n = check_spans(&line);
    assert_eq!(n, 50_000_000 / sentence.len());
    eprintln!(
        "{} bytes on one line, {n} sentences: {:?}",
        line.len(),
        t.elapsed()
    );
}

#[test]
fn a_200000_record_input_and_a_5_mb_record_are_answered_record_by_record() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.jsonl");
    let mut text = String::with_capacity(12 << 20);
    for i in 0..200_000 {
        text.push_str(&format!("{{\"id\": {i}, \"text\": \" \"}}\n"));
    }
    // One 5 MB record, over --max-chars.
    text.push_str(&format!(
        "{{\"id\": \"huge\", \"text\": \"{}\"}}\n",
        "Một câu dài. ".repeat(5_000_000 / 14)
    ));
    std::fs::write(&input, &text).unwrap();
    let out = dir.path().join("out.jsonl");
    let t = Instant::now();
    let o = Command::new(assert_cmd::cargo::cargo_bin("dich"))
        .args(["--offline", "batch"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .args(["--no-timings", "--checkpoint-secs", "1"])
        .env("DICH_HOME", dir.path().join("home"))
        .env_remove("DICH_LOG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    eprintln!("200,001 records: {:?}", t.elapsed());
    let written = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 200_001);
    for (i, l) in lines.iter().enumerate().take(200_000).step_by(997) {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["id"], i, "{l}");
        assert_eq!(v["error"]["kind"], "empty-text", "{l}");
    }
    let last: serde_json::Value = serde_json::from_str(lines[200_000]).unwrap();
    assert_eq!(last["id"], "huge");
    assert_eq!(last["error"]["kind"], "too-long", "{}", lines[200_000]);
}
