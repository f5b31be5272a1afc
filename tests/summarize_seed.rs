//! `dich summarize` end to end with both default models, as a user runs it:
//! the raw Vietnamese seed (translated here), then abstractive summaries of
//! one and of both seed articles. Slow (minutes): it runs the language model.

mod common;

use assert_cmd::Command;
use serde_json::Value;

const VI_SEED: &str = "seeds/vi-vtc-hanoi-convention-signing.txt";
const VI_DOC: &str = "tests/fixtures/translation_vi_seed.json";
const EN_DOC: &str = "tests/fixtures/translation_en_seed.json";

fn dich() -> Command {
    common::dich(true)
}

fn run(args: &[&str]) -> String {
    let out = dich().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    eprintln!("{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// Support entries point at existing segments; a sentence is flagged
/// `unsupported` exactly when it has none.
fn check_summary(docs: &[&Value], summary: &Value, k: usize) {
    let sentences = summary["sentences"].as_array().unwrap();
    assert!(!sentences.is_empty() && sentences.len() <= k, "{summary}");
    for s in sentences {
        assert!(s["en"].as_str().unwrap().len() > 10, "{s}");
        let vi = s["vi"].as_str().unwrap();
        assert!(
            dich::text::lang::detect(vi) == dich::types::Lang::Vi,
            "not Vietnamese: {vi}"
        );
        for sup in s["support"].as_array().unwrap() {
            let d = sup["doc"].as_u64().unwrap() as usize;
            let id = sup["segment"].as_u64().unwrap();
            assert!(docs[d]["segments"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["id"].as_u64() == Some(id)));
        }
        let unsupported = s["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "unsupported");
        assert_eq!(unsupported, s["support"].as_array().unwrap().is_empty());
    }
}

#[test]
fn seed_article_summaries_extractive_then_abstractive() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("seed.json");
    let json = json.to_str().unwrap();
    run(&[
        "summarize",
        "--format",
        "json",
        "--threads",
        "2",
        "-o",
        json,
        VI_SEED,
    ]);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let input = std::fs::read_to_string(common::repo_path(VI_SEED)).unwrap();
    assert_eq!(doc["input"], VI_SEED);
    assert_eq!(doc["scorer"]["name"], "multilingual-e5-small");
    for s in doc["segments"].as_array().unwrap() {
        let (a, b) = (
            s["source_span"][0].as_u64().unwrap() as usize,
            s["source_span"][1].as_u64().unwrap() as usize,
        );
        assert_eq!(&input[a..b], s["source"].as_str().unwrap());
        if !s["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "verbatim")
        {
            assert!(s["score"].as_f64().unwrap() > 0.5, "{s}");
        }
    }
    assert_eq!(doc["summary"]["method"], "extractive");
    check_summary(&[&doc], &doc["summary"], 5);

    // The same translation, reused: only the summary is written.
    let out = run(&[
        "summarize",
        "--method",
        "abstractive",
        "--format",
        "json",
        "--sentences",
        "4",
        json,
    ]);
    let abs: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(abs["summary"]["method"], "abstractive");
    assert_eq!(abs["segments"], doc["segments"]);
    check_summary(&[&abs], &abs["summary"], 4);
    // A summary of this article must be about it: some sentence is supported.
    assert!(abs["summary"]["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| !s["support"].as_array().unwrap().is_empty()));
}

#[test]
fn joint_abstractive_summary_of_both_seeds() {
    let out = run(&[
        "summarize",
        "--method",
        "abstractive",
        "--format",
        "json",
        "--sentences",
        "4",
        VI_DOC,
        EN_DOC,
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let docs: Vec<&Value> = v["documents"].as_array().unwrap().iter().collect();
    assert_eq!(docs.len(), 2);
    check_summary(&docs, &v["summary"], 4);
    for s in v["summary"]["sentences"].as_array().unwrap() {
        let flags: Vec<&str> = s["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let n = s["docs"].as_array().unwrap().len();
        assert_eq!(flags.contains(&"shared"), n == 2);
        assert_eq!(flags.contains(&"single-source"), n == 1);
    }
}
