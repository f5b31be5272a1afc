//! `dich translate` with Marian checkpoints, end to end through the binary:
//! a random-weight checkpoint in the real formats, as a local directory and
//! as the catalog's `opus-mt-vi-en` pulled from a stand-in Hub on 127.0.0.1.
//! Random weights translate into nonsense; what is checked is the contract:
//! one target per segment, exact byte spans, no special tokens in text,
//! n-best lists, and clear errors for flags a backend does not take.

mod common;

use std::path::{Path, PathBuf};

use common::hubserver::{EtagKind, HubServer};
use dich::model::marian::random::{write_checkpoint, RandomSpec};
use dich::types::{Lang, LangPair};
use serde_json::Value;

const SEED: &str = "seeds/vi-vtc-hanoi-convention-signing.txt";
const SEED_EN: &str = "seeds/en-sggp-global-shield.txt";

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
    // Abstractive summaries need a chat model; an English text needs a
    // model that translates English.
    fails_with(
        dich(home.path()).args(["summarize", SEED, "--model", m, "--method", "abstractive"]),
        "--method abstractive is not supported by opus-mt-vi-en",
    );
    fails_with(
        dich(home.path()).args(["summarize", SEED_EN, "--model", m]),
        "the text is English, but opus-mt-vi-en translates vi -> en only",
    );
    // The pair comes from the checkpoint's tokenizer_config.json, not its
    // name: this one says English -> Vietnamese.
    let other = home.path().join("opus-mt-vi-en-but-really-en-vi");
    let spec = RandomSpec {
        pair: Some(LangPair::from_source(Lang::En)),
        ..RandomSpec::tiny(3)
    };
    write_checkpoint(&other, &spec, &root().join("tests/fixtures/spm/tiny.spm")).unwrap();
    fails_with(
        dich(home.path()).args(["translate", SEED, "--model", other.to_str().unwrap()]),
        "opus-mt-vi-en-but-really-en-vi translates en -> vi, but --from vi --to en was asked",
    );
}

/// `dich` with the default embedder from the shared cache (these tests'
/// own cache has no models and cannot fetch).
fn with_embedder(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    let dir = common::default_embedder_paths().path.parent().unwrap();
    cmd.arg("--embedder").arg(dir)
}

#[test]
fn summarize_batch_and_eval_translate_take_a_local_checkpoint() {
    let home = tempfile::tempdir().unwrap();
    let model = home.path().join("opus-mt-vi-en");
    // No end-of-sentence bias: every translation runs to --max-length, so
    // no target is empty and every sentence can enter the summary.
    let spm = root().join("tests/fixtures/spm/tiny.spm");
    write_checkpoint(&model, &RandomSpec::tiny(11), &spm).unwrap();
    let m = model.to_str().unwrap();

    // An extractive summary of the seed, translated by the checkpoint.
    let out = run_json(with_embedder(dich(home.path()).args([
        "summarize",
        SEED,
        "--model",
        m,
        "--max-length",
        "16",
        "--format",
        "json",
    ])));
    check_document(&out);
    assert_eq!(out["model"]["name"], "opus-mt-vi-en");
    let sentences = out["summary"]["sentences"].as_array().unwrap();
    assert_eq!(sentences.len(), 5);
    let ids: Vec<u64> = out["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    for s in sentences {
        for sup in s["support"].as_array().unwrap() {
            assert!(ids.contains(&sup["segment"].as_u64().unwrap()), "{s}");
        }
    }

    // A batch: Vietnamese records are translated, an English one is an
    // `unsupported-pair` error record, and the rest go on.
    let input = home.path().join("in.jsonl");
    std::fs::write(
        &input,
        concat!(
            r#"{"id": "vi", "text": "Sự kiện do Việt Nam đăng cai tổ chức tại Hà Nội. Hơn 100 đại biểu đã tham dự."}"#,
            "\n",
            r#"{"id": "en", "text": "The convention was signed in Hanoi.", "lang": "en"}"#,
            "\n",
            r#"{"id": "vi-2", "text": "Thủ tướng phát biểu tại lễ khai mạc."}"#,
            "\n",
        ),
    )
    .unwrap();
    let output = home.path().join("out.jsonl");
    let run = with_embedder(dich(home.path()).args([
        "batch",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--model",
        m,
        "--beam",
        "2",
        "--max-length",
        "16",
        "--no-timings",
    ]))
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    let text = std::fs::read_to_string(&output).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    let by_id = |id: &str| records.iter().find(|r| r["id"] == id).unwrap();
    assert_eq!(by_id("en")["error"]["kind"], "unsupported-pair");
    let inputs: Vec<Value> = std::fs::read_to_string(&input)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for id in ["vi", "vi-2"] {
        let r = by_id(id);
        assert!(r.get("error").is_none(), "{r}");
        let rec = inputs.iter().find(|r| r["id"] == id).unwrap();
        let source = rec["text"].as_str().unwrap();
        for s in r["segments"].as_array().unwrap() {
            let [a, b] = [0, 1].map(|i| s["source_span"][i].as_u64().unwrap() as usize);
            assert_eq!(&source[a..b], s["source"].as_str().unwrap());
            assert!(s["score"].as_f64().is_some(), "{s}");
        }
    }
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join("out.manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["settings"]["translator"]["name"], "opus-mt-vi-en");
    assert_eq!(manifest["settings"]["beam"], 2);

    // A dev set translated by the checkpoint and scored.
    let pairs = home.path().join("pairs.tsv");
    std::fs::write(
        &pairs,
        "Sự kiện do Việt Nam đăng cai tổ chức.\tThe event was hosted by Vietnam.\n\
         Thủ tướng phát biểu tại lễ khai mạc.\tThe Prime Minister spoke at the opening.\n",
    )
    .unwrap();
    let report = run_json(dich(home.path()).args([
        "eval",
        "translate",
        pairs.to_str().unwrap(),
        "--model",
        m,
        "--beam",
        "2",
        "--max-length",
        "16",
        "--format",
        "json",
    ]));
    assert_eq!(report["pairs"], 2);
    assert_eq!(report["metrics"].as_array().unwrap().len(), 2);
    assert_eq!(report["settings"]["model"], "opus-mt-vi-en");
    assert_eq!(report["settings"]["decoding"], "beam 2");
    assert!(report["timing"]["segments"].as_u64().unwrap() >= 2);
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
