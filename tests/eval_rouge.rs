//! `dich eval rouge` through the binary, on examples checked by hand.

use assert_cmd::Command;
use serde_json::Value;

fn rouge(hyp: &str, reference: &str, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let (h, r) = (dir.path().join("hyp.txt"), dir.path().join("ref.txt"));
    std::fs::write(&h, hyp).unwrap();
    std::fs::write(&r, reference).unwrap();
    Command::cargo_bin("dich")
        .unwrap()
        .args(["eval", "rouge", "--format", "json", "--hyp"])
        .arg(&h)
        .arg("--ref")
        .arg(&r)
        .args(extra)
        .output()
        .unwrap()
}

fn f1(v: &Value, metric: &str) -> f64 {
    v[metric]["f1"].as_f64().unwrap()
}

#[test]
fn vietnamese_words_count_with_their_diacritics() {
    // hyp: thủ tướng phát biểu tại hà nội; ref: ... ở hà nội.
    // Unigrams 6/7 both ways; bigrams: thủ tướng, tướng phát, phát biểu,
    // hà nội = 4 of 6; LCS 6 of 7.
    let out = rouge(
        "Thủ tướng phát biểu tại Hà Nội.",
        "Thủ tướng phát biểu ở Hà Nội.",
        &[],
    );
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((f1(&v, "rouge1") - 6.0 / 7.0).abs() < 1e-9);
    assert!((f1(&v, "rouge2") - 4.0 / 6.0).abs() < 1e-9);
    assert!((f1(&v, "rougeL") - 6.0 / 7.0).abs() < 1e-9);
    // "ma", "mà", "má" are three different words: no overlap at all.
    let out = rouge("ma mà", "má", &[]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f1(&v, "rouge1"), 0.0);
}

#[test]
fn line_mode_averages_and_checks_line_counts() {
    // Line 1 identical (1.0), line 2 disjoint (0.0): mean 0.5.
    let out = rouge("a b c\nx y\n", "a b c\nz w\n", &["--lines"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pairs"], 2);
    assert!((f1(&v, "rouge1") - 0.5).abs() < 1e-9);
    let out = rouge("a\nb\nc\n", "a\n", &["--lines"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("has 3 lines but") && err.contains("has 1"),
        "{err}"
    );
}
