//! `dich align` and `dich summarize` through the real binary, on the seed
//! articles and their real translations (`tests/fixtures/translation_*_seed.json`,
//! written by `dich translate --format json` with the default models). Only
//! the embedder runs here; `tests/summarize_seed.rs` runs the language model.

mod common;

use assert_cmd::Command;
use serde_json::Value;

const VI_DOC: &str = "tests/fixtures/translation_vi_seed.json";
const EN_DOC: &str = "tests/fixtures/translation_en_seed.json";
const VI_SEED: &str = "seeds/vi-vtc-hanoi-convention-signing.txt";
const EN_SEED: &str = "seeds/en-sggp-global-shield.txt";

fn dich() -> Command {
    common::dich(false)
}

fn run_json(args: &[&str]) -> Value {
    let out = dich().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(common::repo_path(rel)).unwrap()
}

fn span(v: &Value) -> (usize, usize) {
    (
        v[0].as_u64().unwrap() as usize,
        v[1].as_u64().unwrap() as usize,
    )
}

#[test]
fn align_two_articles_covers_every_segment_once_with_exact_spans() {
    let doc = run_json(&["align", "--format", "json", VI_SEED, EN_SEED]);
    let (a_text, b_text) = (read(VI_SEED), read(EN_SEED));
    assert_eq!(doc["a"]["lang"], "vi");
    assert_eq!(doc["b"]["lang"], "en");
    let links = doc["links"].as_array().unwrap();
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    for l in links {
        for (ids, spans, text, input, seen) in [
            ("a", "a_spans", "a_text", &a_text, &mut seen_a),
            ("b", "b_spans", "b_text", &b_text, &mut seen_b),
        ] {
            let parts: Vec<&str> = l[spans]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let (start, end) = span(s);
                    &input[start..end]
                })
                .collect();
            assert_eq!(parts.join(" "), l[text].as_str().unwrap());
            seen.extend(
                l[ids]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap()),
            );
        }
        let kind = l["type"].as_str().unwrap();
        if kind != "1-0" && kind != "0-1" {
            assert!(l["score"].as_f64().unwrap() > 1.0, "{l}");
        }
    }
    let n_a = doc["a"]["segments"].as_u64().unwrap();
    let n_b = doc["b"]["segments"].as_u64().unwrap();
    assert_eq!(seen_a, (0..n_a).collect::<Vec<_>>());
    assert_eq!(seen_b, (0..n_b).collect::<Vec<_>>());
    // Independent articles: most sentences have no counterpart.
    assert!(doc["stats"]["linked"].as_u64().unwrap() < n_b);
}

#[test]
fn align_recovers_a_translation_sentence_by_sentence() {
    // The English side of the seed's real translation, one paragraph per line.
    let tr: Value = serde_json::from_str(&read(VI_DOC)).unwrap();
    let mut paras: Vec<Vec<String>> = Vec::new();
    let mut last = None;
    for s in tr["segments"].as_array().unwrap() {
        let p = s["paragraph"].as_u64();
        if p != last {
            paras.push(Vec::new());
            last = p;
        }
        paras
            .last_mut()
            .unwrap()
            .push(s["target"].as_str().unwrap().to_string());
    }
    let english: String = paras
        .iter()
        .map(|p| p.join(" "))
        .collect::<Vec<_>>()
        .join("\n\n");
    let dir = tempfile::tempdir().unwrap();
    let en_path = dir.path().join("en.txt");
    std::fs::write(&en_path, &english).unwrap();
    let doc = run_json(&[
        "align",
        "--format",
        "json",
        VI_SEED,
        en_path.to_str().unwrap(),
    ]);
    let links = doc["links"].as_array().unwrap();
    let n = doc["a"]["segments"].as_u64().unwrap() as usize;
    // Segment i of the source should meet sentence i of its translation
    // (the English side may cut sentences differently, so count the source
    // segments that land in a link with the matching target index).
    let diagonal = links
        .iter()
        .filter(|l| {
            let a: Vec<u64> = l["a"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            let b: Vec<u64> = l["b"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            a.iter().any(|i| b.contains(i))
        })
        .count();
    eprintln!("{diagonal} of {n} source segments linked to their own translation");
    assert!(
        diagonal * 10 >= n * 8,
        "only {diagonal} of {n} on the diagonal"
    );
}

/// Every support entry of a summary names an existing segment of an
/// existing document, and its span selects its source text in the original file.
fn check_support(doc_inputs: &[&str], docs: &[Value], summary: &Value) {
    for (i, s) in summary["sentences"].as_array().unwrap().iter().enumerate() {
        assert!(!s["en"].as_str().unwrap().is_empty());
        assert!(!s["vi"].as_str().unwrap().is_empty());
        for sup in s["support"].as_array().unwrap() {
            let d = sup["doc"].as_u64().unwrap() as usize;
            let id = sup["segment"].as_u64().unwrap();
            let seg = docs[d]["segments"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["id"].as_u64() == Some(id))
                .unwrap_or_else(|| panic!("sentence {i}: no segment {id} in document {d}"));
            let (start, end) = span(&seg["source_span"]);
            assert_eq!(
                &read(doc_inputs[d])[start..end],
                seg["source"].as_str().unwrap()
            );
            let score = sup["score"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&score), "{score}");
        }
        let flagged = s["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "unsupported");
        assert_eq!(flagged, s["support"].as_array().unwrap().is_empty(), "{s}");
    }
}

#[test]
fn extractive_summary_of_one_article() {
    let out = run_json(&["summarize", "--format", "json", "--sentences", "4", VI_DOC]);
    // One input: the translation document with a `summary` field.
    assert_eq!(out["source_lang"], "vi");
    assert!(out["segments"].as_array().unwrap().len() >= 30);
    let summary = &out["summary"];
    assert_eq!(summary["method"], "extractive");
    let sentences = summary["sentences"].as_array().unwrap();
    assert_eq!(sentences.len(), 4);
    check_support(&[VI_SEED], std::slice::from_ref(&out), summary);
    // Extractive: the Vietnamese sentence is the supporting segment's source
    // and the English one its translation, and they come in document order.
    let mut last = None;
    for s in sentences {
        let first = &s["support"][0];
        let seg = &out["segments"][first["segment"].as_u64().unwrap() as usize];
        let collapse = |v: &Value| {
            v.as_str()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(collapse(&s["vi"]), collapse(&seg["source"]));
        assert_eq!(collapse(&s["en"]), collapse(&seg["target"]));
        assert!(last < Some(seg["id"].as_u64()));
        last = Some(seg["id"].as_u64());
    }
}

#[test]
fn joint_summary_marks_shared_and_single_source_sentences() {
    let out = run_json(&[
        "summarize",
        "--format",
        "json",
        "--ratio",
        "0.15",
        VI_DOC,
        EN_DOC,
    ]);
    let docs = out["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 2);
    let summary = &out["summary"];
    check_support(&[VI_SEED, EN_SEED], docs, summary);
    let sentences = summary["sentences"].as_array().unwrap();
    // 15% of the candidates (sentences; headings, bylines, captions are not).
    let candidates = docs
        .iter()
        .flat_map(|d| d["segments"].as_array().unwrap())
        .filter(|g| g["kind"] == "sentence")
        .count();
    assert_eq!(sentences.len(), (0.15 * candidates as f64).round() as usize);
    let mut from = [0, 0];
    for s in sentences {
        let flags: Vec<&str> = s["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let docs: Vec<u64> = s["docs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect();
        assert_eq!(flags.contains(&"shared"), docs.len() == 2, "{s}");
        assert_eq!(flags.contains(&"single-source"), docs.len() == 1, "{s}");
        from[s["support"][0]["doc"].as_u64().unwrap() as usize] += 1;
    }
    // Both articles contribute.
    assert!(from[0] > 0 && from[1] > 0, "{from:?}");
}

#[test]
fn text_and_markdown_renderings() {
    let out = dich()
        .args(["summarize", "--sentences", "3", VI_DOC])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Summary (extractive, 3 sentences)"),
        "{text}"
    );
    assert_eq!(text.matches("   support: #").count(), 3, "{text}");
    let out = dich()
        .args([
            "summarize",
            "--format",
            "markdown",
            "--sentences",
            "3",
            VI_DOC,
        ])
        .output()
        .unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("## English") && md.contains("## Tiếng Việt"));
    // Footnote references and their definitions, with byte spans.
    let refs = md.matches("[^d0s").count();
    let defs = md.lines().filter(|l| l.starts_with("[^d0s")).count();
    assert_eq!(defs, 3, "{md}");
    assert_eq!(refs, 3 * 2 + defs, "{md}");
    assert!(md.contains("(bytes "));
}

#[test]
fn bad_summarize_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"segments\": [1, 2,\n").unwrap();
    let out = dich().args(["summarize"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json: invalid JSON at line 3"), "{err}");

    let other = dir.path().join("other.json");
    std::fs::write(&other, "{\"hello\": 1}").unwrap();
    let out = dich().args(["summarize"]).arg(&other).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("other.json: JSON input must be a translation document"),
        "{err}"
    );

    for (args, want) in [
        (vec!["--ratio", "0"], "--ratio must be in (0, 1]"),
        (vec!["--sentences", "0"], "--sentences must be at least 1"),
        (vec!["--lang", "fr"], "--lang `fr`"),
    ] {
        let out = dich()
            .arg("summarize")
            .args(&args)
            .arg(VI_DOC)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let out = dich()
        .args(["summarize", "no-such-file.txt"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-file.txt"), "{err}");
    let out = dich().args(["align", VI_SEED]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
