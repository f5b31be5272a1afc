//! `dich translate` with Marian checkpoints, end to end through the binary:
//! a random-weight checkpoint in the real formats, as a local directory and
//! as the catalog's `opus-mt-vi-en` pulled from a stand-in Hub on 127.0.0.1.
//! Random weights translate into nonsense; what is checked is the contract:
//! one target per segment, exact byte spans, no special tokens in text,
//! n-best lists, and clear errors for flags a backend does not take.

mod common;

use std::path::{Path, PathBuf};

use common::hubserver::{EtagKind, HubServer};
use dich::backend::marian::random::{write_checkpoint, RandomSpec};
use serde_json::Value;

const SEED: &str = "seeds/vi-vtc-hanoi-convention-signing.txt";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tiny_checkpoint(dir: &Path) {
    let spec = RandomSpec {
        eos_bias: 1.5,
        ..RandomSpec::tiny(11)
    };
    write_checkpoint(dir, &spec, &root().join("tests/fixtures/spm/tiny.spm")).unwrap();
}

fn dich(home: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("dich").unwrap();
    c.current_dir(root())
        .env("DICH_HOME", home.join("dich"))
        .env("HF_HOME", home.join("hf"))
        .env("DICH_PYTHON", "false")
        .env_remove("HF_TOKEN")
        .env_remove("RUST_LOG");
    c
}

fn run_json(cmd: &mut assert_cmd::Command) -> Value {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every segment has its exact source span and a target free of specials.
fn check_document(doc: &Value) {
    let input = std::fs::read_to_string(root().join(SEED)).unwrap();
    let segs = doc["segments"].as_array().unwrap();
    assert!(segs.len() > 10);
    for s in segs {
        let [a, b] = [0, 1].map(|i| s["source_span"][i].as_u64().unwrap() as usize);
        assert_eq!(&input[a..b], s["source"].as_str().unwrap());
        let t = s["target"].as_str().unwrap();
        for special in ["<pad>", "</s>", "<unk>", "\u{2581}"] {
            assert!(!t.contains(special), "{t}");
        }
    }
}

#[test]
fn translates_the_seed_article_with_a_local_checkpoint() {
    let home = tempfile::tempdir().unwrap();
    let model = home.path().join("opus-mt-vi-en");
    tiny_checkpoint(&model);
    let m = model.to_str().unwrap();
    let doc = run_json(dich(home.path()).args([
        "translate",
        SEED,
        "--model",
        m,
        "--no-score",
        "--format",
        "json",
        "--max-length",
        "24",
    ]));
    check_document(&doc);
    assert_eq!(doc["model"]["name"], "opus-mt-vi-en");
    // Beam search with n-best lists: K alternatives, best first, the first
    // being the target.
    let doc = run_json(dich(home.path()).args([
        "translate",
        SEED,
        "--model",
        m,
        "--no-score",
        "--format",
        "json",
        "--max-length",
        "24",
        "--beam",
        "3",
        "--n-best",
        "2",
        "--batch-sentences",
        "5",
        "--quantize",
        "q8",
    ]));
    check_document(&doc);
    for s in doc["segments"].as_array().unwrap() {
        if s["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "verbatim")
        {
            continue;
        }
        let alts = s["alternatives"].as_array().unwrap();
        assert_eq!(alts.len(), 2, "{s}");
        assert_eq!(alts[0]["target"], s["target"]);
        assert!(alts[0]["score"].as_f64().unwrap() >= alts[1]["score"].as_f64().unwrap());
    }
}

#[test]
fn batch_size_does_not_change_the_output() {
    let home = tempfile::tempdir().unwrap();
    let model = home.path().join("m");
    tiny_checkpoint(&model);
    let m = model.to_str().unwrap();
    let targets = |batch: &str| -> Vec<Value> {
        let doc = run_json(dich(home.path()).args([
            "translate",
            SEED,
            "--model",
            m,
            "--no-score",
            "--format",
            "json",
            "--max-length",
            "16",
            "--beam",
            "2",
            "--batch-sentences",
            batch,
        ]));
        doc["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["target"].clone())
            .collect()
    };
    assert_eq!(targets("1"), targets("32"));
}

fn fails_with(cmd: &mut assert_cmd::Command, needle: &str) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn flags_a_backend_does_not_take_are_clear_errors() {
    let home = tempfile::tempdir().unwrap();
    let model = home.path().join("opus-mt-vi-en");
    tiny_checkpoint(&model);
    let m = model.to_str().unwrap();
    fails_with(
        dich(home.path()).args(["translate", SEED, "--model", m, "--temperature", "0.7"]),
        "--temperature is not supported by opus-mt-vi-en",
    );
    fails_with(
        dich(home.path()).args(["translate", SEED, "--model", m, "--lanes", "2"]),
        "--lanes is not supported",
    );
    fails_with(
        dich(home.path()).args([
            "translate",
            SEED,
            "--model",
            m,
            "--beam",
            "2",
            "--n-best",
            "3",
        ]),
        "--n-best must be between 1 and --beam (2)",
    );
    fails_with(
        dich(home.path()).args([
            "translate",
            SEED,
            "--model",
            m,
            "--from",
            "en",
            "--to",
            "vi",
        ]),
        "opus-mt-vi-en translates vi -> en",
    );
    fails_with(
        dich(home.path()).args(["translate", SEED, "--model", m, "--quantize", "q3"]),
        "--quantize `q3`",
    );
    // A GGUF chat model rejects the decoding flags before loading anything.
    let gguf = home.path().join("chat.gguf");
    std::fs::write(&gguf, b"GGUF").unwrap();
    fails_with(
        dich(home.path()).args([
            "translate",
            SEED,
            "--model",
            gguf.to_str().unwrap(),
            "--beam",
            "4",
        ]),
        "--beam is not supported by chat.gguf",
    );
    // Commands that prompt a chat model say so for a Marian model.
    fails_with(
        dich(home.path()).args(["summarize", SEED, "--model", m]),
        "is a Marian (encoder-decoder) model",
    );
}

#[test]
fn opus_mt_vi_en_pulls_from_the_hub_and_translates_in_one_command() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("repo");
    tiny_checkpoint(&dir);
    let file = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let server = HubServer::start(
        "Helsinki-NLP/opus-mt-vi-en",
        "main",
        vec![
            ("config.json", file("config.json"), EtagKind::Git),
            (
                "model.safetensors",
                file("model.safetensors"),
                EtagKind::Lfs,
            ),
            ("source.spm", file("source.spm"), EtagKind::Lfs),
            ("target.spm", file("target.spm"), EtagKind::Lfs),
            ("vocab.json", file("vocab.json"), EtagKind::Git),
        ],
    );
    let out = dich(home.path())
        .env("HF_ENDPOINT", &server.endpoint)
        .args([
            "translate",
            SEED,
            "--model",
            "opus-mt-vi-en",
            "--no-score",
            "--format",
            "json",
            "--max-length",
            "16",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stderr.contains("model.safetensors"), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    check_document(&doc);
    assert_eq!(doc["model"]["name"], "opus-mt-vi-en");
    // Cached now: offline works and makes no connection.
    let before = server.connections();
    let doc2 = run_json(
        dich(home.path())
            .env("HF_ENDPOINT", &server.endpoint)
            .args([
                "--offline",
                "translate",
                SEED,
                "--model",
                "opus-mt-vi-en",
                "--no-score",
                "--format",
                "json",
                "--max-length",
                "16",
            ]),
    );
    assert_eq!(server.connections(), before);
    assert_eq!(doc["segments"], doc2["segments"]);
}
