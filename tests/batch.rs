//! `dich batch` end to end with the real default models: bad records are
//! reported and the rest finish; a run killed with SIGKILL and resumed gives
//! byte-identical records to an uninterrupted run; N shard processes plus
//! `merge` give the single-process output; a cut-off last line is repaired.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Valid records (short real sentences from the seed article and the VLSP
/// news sentences, one English, one with a byline paragraph) and one of each
/// kind of bad record. The last line is a valid record, so that cutting the
/// output's last line cuts a translated record.
fn input_bytes() -> Vec<u8> {
    let long = "Sáng 25/10, Lễ mở ký Công ước Liên hợp quốc về phòng chống tội phạm mạng (Công ước Hà Nội) diễn ra với sự tham gia kí của gần 70 nước, với sự có mặt của hàng trăm đại biểu trong nước và quốc tế. Sự kiện do Việt Nam đăng cai tổ chức tại Trung tâm Hội nghị Quốc gia Hà Nội. Việc ký kết tại Hà Nội được đánh giá là dấu mốc đặc biệt, nhấn mạnh vị thế quốc tế của Việt Nam.";
    let lines: Vec<Vec<u8>> = vec![
        r#"{"id": "vi-1", "text": "Sự kiện do Việt Nam đăng cai tổ chức tại Trung tâm Hội nghị Quốc gia Hà Nội.", "source": "seed", "n": 1}"#.as_bytes().to_vec(),
        r#"{"id": "bad-json", "text": "#.as_bytes().to_vec(),
        r#"{"id": "en-1", "text": "The convention was signed in Hanoi on October 25.", "lang": "en"}"#.as_bytes().to_vec(),
        r#"["not", "an", "object"]"#.as_bytes().to_vec(),
        r#"{"text": "Không có id."}"#.as_bytes().to_vec(),
        r#"{"id": "empty", "text": "   "}"#.as_bytes().to_vec(),
        r#"{"id": "vi-1", "text": "Trùng id."}"#.as_bytes().to_vec(),
        [&br#"{"id": "utf8", "text": "Vi"#[..], b"\xff", "ệt\"}".as_bytes()].concat(),
        format!(r#"{{"id": "long", "text": "{long}"}}"#).into_bytes(),
        r#"{"id": "fr", "text": "Bonjour.", "lang": "fr"}"#.as_bytes().to_vec(),
        r#"{"id": "vi-2", "text": "(VTC News) -\n\nĐại sứ Anh Iain Frew đại diện Vương quốc Anh tham gia ký kết.", "error": "kept"}"#.as_bytes().to_vec(),
        r#"{"id": 42, "text": "Quyền được thông tin là một quyền mang tính Hiến định của công dân."}"#.as_bytes().to_vec(),
    ];
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(&l);
        out.push(b'\n');
    }
    out
}

/// Error kinds by input line.
const BAD: [(usize, &str); 8] = [
    (2, "bad-json"),
    (4, "not-object"),
    (5, "missing-id"),
    (6, "empty-text"),
    (7, "duplicate-id"),
    (8, "invalid-utf8"),
    (9, "too-long"),
    (10, "bad-lang"),
];
const VALID: usize = 4;

fn dich_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("dich")
}

/// `dich --offline` with its cache at `home` (for runs that need no model).
fn offline(home: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("dich").unwrap();
    c.env("DICH_HOME", home).arg("--offline");
    c
}

fn write_input(dir: &Path) -> PathBuf {
    let p = dir.join("in.jsonl");
    std::fs::write(&p, input_bytes()).unwrap();
    p
}

/// The common flags: records without timings are byte-stable.
fn base_args(input: &Path, out: &Path) -> Vec<String> {
    vec![
        "batch".into(),
        input.display().to_string(),
        "-o".into(),
        out.display().to_string(),
        "--no-timings".into(),
        "--max-chars".into(),
        "300".into(),
    ]
}

struct Reference {
    _dir: tempfile::TempDir,
    input: PathBuf,
    out: PathBuf,
    bytes: Vec<u8>,
    stderr: String,
    code: Option<i32>,
}

/// One uninterrupted run, shared by the tests that compare against it.
fn reference() -> &'static Reference {
    static R: OnceLock<Reference> = OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let input = write_input(dir.path());
        let out = dir.path().join("ref.jsonl");
        let o = common::dich(true)
            .args(base_args(&input, &out))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        let bytes = std::fs::read(&out).unwrap_or_else(|e| panic!("no output ({e}): {stderr}"));
        Reference {
            _dir: dir,
            input,
            out,
            bytes,
            stderr,
            code: o.status.code(),
        }
    })
}

fn records(bytes: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(text.ends_with('\n'));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

fn manifest(out: &Path) -> Value {
    let p = out.with_file_name(
        out.file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".jsonl", ".manifest.json"),
    );
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

#[test]
fn bad_records_are_reported_and_the_rest_finish() {
    let r = reference();
    assert_eq!(
        r.code,
        Some(3),
        "exit 3 = finished with failed records\n{}",
        r.stderr
    );
    let recs = records(&r.bytes);
    assert_eq!(recs.len(), BAD.len() + VALID, "one record per input line");
    // In input order, each bad record with its line and kind.
    let lines: Vec<u64> = recs.iter().map(|v| v["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, (1..=12).collect::<Vec<u64>>());
    for (line, kind) in BAD {
        let v = &recs[line - 1];
        assert_eq!(v["error"]["kind"], kind, "line {line}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.starts_with(&format!("line {line}")), "{msg}");
        assert!(v.get("segments").is_none());
    }
    assert_eq!(recs[6]["id"], "vi-1");
    assert!(recs[1]["id"].is_null() && recs[4]["id"].is_null());
    assert_eq!(
        recs[7]["id"], "utf8",
        "the id is named even when the text is not UTF-8"
    );
    // Valid records: translated, spans into the record's text, fields kept.
    let input = records(&input_bytes_valid_only());
    for v in recs.iter().filter(|v| v.get("error").is_none()) {
        let src = input
            .iter()
            .find(|i| i["id"] == v["id"])
            .unwrap_or_else(|| panic!("{v}"));
        let text = src["text"].as_str().unwrap();
        let segs = v["segments"].as_array().unwrap();
        assert!(!segs.is_empty());
        for s in segs {
            let span = s["source_span"].as_array().unwrap();
            let (a, b) = (
                span[0].as_u64().unwrap() as usize,
                span[1].as_u64().unwrap() as usize,
            );
            assert_eq!(&text[a..b], s["source"].as_str().unwrap());
            assert!(!s["target"].as_str().unwrap().trim().is_empty(), "{s}");
        }
        assert!(!v["translation"].as_str().unwrap().is_empty());
        assert!(v.get("timings").is_none(), "--no-timings");
    }
    assert_eq!(recs[0]["source"], "seed");
    assert_eq!(recs[0]["n"], 1);
    assert_eq!(
        (
            recs[0]["source_lang"].as_str(),
            recs[0]["target_lang"].as_str()
        ),
        (Some("vi"), Some("en"))
    );
    assert_eq!(
        (
            recs[2]["source_lang"].as_str(),
            recs[2]["target_lang"].as_str()
        ),
        (Some("en"), Some("vi"))
    );
    assert_eq!(recs[10]["input_fields"]["error"], "kept");
    assert_eq!(recs[10]["segments"][0]["flags"][0], "verbatim");
    assert_eq!(recs[11]["id"], 42);
    // The manifest and the one-line summary.
    let m = manifest(&r.out);
    assert_eq!(m["status"], "complete");
    assert_eq!(m["counts"]["written"], 12);
    assert_eq!(m["counts"]["failed"], 8);
    assert_eq!(
        m["settings"]["translator"]["sha256"],
        common::default_model().sha256.as_str()
    );
    assert_eq!(
        m["settings"]["embedder"]["sha256"],
        common::default_embedder_paths().sha256.as_str()
    );
    assert_eq!(m["runs"].as_array().unwrap().len(), 1);
    assert_eq!(m["runs"][0]["documents"], VALID);
    let summary = r.stderr.lines().find(|l| l.starts_with("batch: ")).unwrap();
    assert!(
        summary.contains("12 processed now (4 ok, 8 failed)"),
        "{summary}"
    );
    assert!(!Path::new(&format!("{}.part", r.out.display())).exists());
    // Rerunning finds nothing to do and changes nothing.
    let o = common::dich(true)
        .args(base_args(&r.input, &r.out))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("0 records to do, 12 already in"));
    assert_eq!(std::fs::read(&r.out).unwrap(), r.bytes);
}

/// The default run decodes its documents batched; `--max-batch 1` runs
/// them one after another on the unbatched path: the records are the same,
/// byte for byte.
#[test]
fn batched_records_equal_one_at_a_time() {
    let r = reference();
    let m = manifest(&r.out);
    let run = &m["runs"][0];
    assert_eq!(run["max_batch"], VALID, "all four documents in flight");
    let mean = run["mean_batch"].as_f64().unwrap();
    assert!(mean > 1.0, "the passes were shared: {run}");
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let out = dir.path().join("one.jsonl");
    let mut args = base_args(&input, &out);
    args.extend(["--max-batch".into(), "1".into()]);
    let o = common::dich(true).args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(&out).unwrap()),
        String::from_utf8_lossy(&r.bytes),
        "one at a time differs from batched"
    );
    let one = manifest(&out);
    assert!(one["runs"][0].get("max_batch").is_none(), "{one}");
    assert_eq!(one["options"]["max_batch"], 1);
}

/// The input's valid records as JSON (for span checks).
fn input_bytes_valid_only() -> Vec<u8> {
    let mut out = Vec::new();
    for l in input_bytes().split(|&b| b == b'\n') {
        if let Ok(v) = serde_json::from_slice::<Value>(l) {
            if v.get("text").is_some_and(Value::is_string) && v.get("id").is_some() {
                out.extend_from_slice(l);
                out.push(b'\n');
            }
        }
    }
    out
}

#[test]
fn a_run_killed_with_sigkill_resumes_to_identical_records() {
    let r = reference();
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let out = dir.path().join("out.jsonl");
    common::default_model();
    common::default_embedder_paths();
    // Kill it once the bad records and one translation are on disk, while
    // other documents are being translated: batched, two in flight (so a
    // third has only just started when the first finishes). Checkpoints
    // every second move records from the part file into OUT while it runs.
    let mut args = base_args(&input, &out);
    args.extend([
        "--checkpoint-secs".into(),
        "1".into(),
        "--max-batch".into(),
        "2".into(),
    ]);
    let mut child = Command::new(dich_bin())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let wait_for = |lines: usize, child: &mut std::process::Child| {
        while common::finished_records(&out) < lines {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the run ended before it could be killed"
            );
            assert!(start.elapsed() < Duration::from_secs(600), "no progress");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for(BAD.len(), &mut child);
    // A second writer on the same output is refused while the first runs.
    let o = common::dich(true)
        .args(base_args(&input, &out))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("another dich batch process"), "{err}");
    wait_for(BAD.len() + 1, &mut child);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = common::finished_records(&out);
    assert!(done < BAD.len() + VALID, "killed too late to test a resume");
    // OUT only ever holds whole records (here: none yet, they are in the part).
    if let Ok(b) = std::fs::read(&out) {
        records(&b);
    }
    // Resumed one document at a time: the batched records and these mix.
    let mut resume = base_args(&input, &out);
    resume.extend(["--max-batch".into(), "1".into()]);
    let o = common::dich(true).args(&resume).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("{} records to do, {done} already in", 12 - done)),
        "{err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(&out).unwrap()),
        String::from_utf8_lossy(&r.bytes),
        "resumed output differs from the uninterrupted run"
    );
    let m = manifest(&out);
    assert_eq!(m["status"], "complete");
    let runs = m["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1]["done_before"], done);
    assert!(runs[0]["ended"].is_null(), "the killed run never ended");
    assert!(runs[1].get("max_batch").is_none(), "{}", runs[1]);
    // Its counts are those of its last checkpoint, if it reached one.
    assert!(runs[0]["processed"].as_u64().unwrap() as usize <= done);
}

#[test]
fn shard_processes_plus_merge_equal_the_single_run() {
    let r = reference();
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    common::default_model();
    common::default_embedder_paths();
    let n = 3;
    let pattern = dir.path().join("out.shard-{shard}.jsonl");
    let children: Vec<_> = (0..n)
        .map(|k| {
            let mut args = base_args(&input, &pattern);
            args.extend([
                "--shard".into(),
                format!("{k}/{n}"),
                "--threads".into(),
                "1".into(),
            ]);
            Command::new(dich_bin())
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut shards = Vec::new();
    let mut total = 0;
    for (k, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(matches!(o.status.code(), Some(0 | 3)), "shard {k}: {err}");
        let path = dir.path().join(format!("out.shard-{k}.jsonl"));
        let recs = records(&std::fs::read(&path).unwrap());
        assert!(!recs.is_empty(), "shard {k} is empty: pick another input");
        total += recs.len();
        assert_eq!(manifest(&path)["shard"]["index"], k);
        shards.push(path);
    }
    assert_eq!(total, 12, "the shards partition the input");
    let merged = dir.path().join("merged.jsonl");
    let mut args = vec!["batch".to_string(), "merge".into()];
    args.extend(shards.iter().map(|p| p.display().to_string()));
    args.extend(["-o".into(), merged.display().to_string()]);
    let o = common::dich(false).args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(3),
        "merged, with failed records: {err}"
    );
    assert!(err.contains("checked against the input"), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(&merged).unwrap()),
        String::from_utf8_lossy(&r.bytes)
    );
    assert_eq!(manifest(&merged)["counts"]["written"], 12);
    // A missing shard is a gap: named, exit 4, nothing written.
    let partial = dir.path().join("partial.jsonl");
    let o = common::dich(false)
        .args(["batch", "merge"])
        .args(&shards[..2])
        .args(["-o", partial.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("shard output(s) missing: 2/3"), "{err}");
    assert!(err.contains("missing from every shard"), "{err}");
    assert!(!partial.exists());
    // The same shard twice: every record repeated.
    let o = common::dich(false)
        .args(["batch", "merge"])
        .args([&shards[0], &shards[0], &shards[1], &shards[2]])
        .args(["-o", partial.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("appear more than once"));
}

#[test]
fn a_cut_off_last_line_is_repaired_and_redone() {
    let r = reference();
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let out = dir.path().join("out.jsonl");
    // An output cut in the middle of its last record (id 42), with the
    // manifest of the run that wrote it.
    let cut = r.bytes.len() - 200;
    std::fs::write(&out, &r.bytes[..cut]).unwrap();
    std::fs::copy(manifest_path(&r.out), manifest_path(&out)).unwrap();
    let o = common::dich(true)
        .args(base_args(&input, &out))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("the last line (line 12, byte offset"), "{err}");
    assert!(err.contains("1 records to do, 11 already in"), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(&out).unwrap()),
        String::from_utf8_lossy(&r.bytes)
    );
    let rejected = std::fs::read(format!("{}.rejected", out.display())).unwrap();
    let last_start = r.bytes[..r.bytes.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    assert_eq!(&rejected[..rejected.len() - 1], &r.bytes[last_start..cut]);
}

fn manifest_path(out: &Path) -> PathBuf {
    out.with_file_name(
        out.file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".jsonl", ".manifest.json"),
    )
}

#[test]
fn resuming_with_other_settings_is_refused() {
    let r = reference();
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let out = dir.path().join("out.jsonl");
    // Drop the first record so there is work left.
    let first_end = r.bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    std::fs::write(&out, &r.bytes[first_end..]).unwrap();
    std::fs::copy(manifest_path(&r.out), manifest_path(&out)).unwrap();
    let mut args = base_args(&input, &out);
    args.extend(["--seed".into(), "7".into()]);
    let o = common::dich(true).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("was made with other settings"), "{err}");
    assert!(err.contains("seed: 299792458 -> 7"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), &r.bytes[first_end..]);
    assert!(!Path::new(&format!("{}.part", out.display())).exists());
}

/// Only bad records: no model is needed, so this runs offline with an
/// empty model cache, from stdin and from a directory.
#[test]
fn bad_records_alone_need_no_model() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stdin.jsonl");
    let bad: Vec<u8> = input_bytes()
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(i, _)| BAD.iter().any(|(l, _)| *l == i + 1 && *l != 7))
        .flat_map(|(_, l)| [l, b"\n"].concat())
        .collect();
    let o = offline(home.path())
        .args([
            "batch",
            "-",
            "-o",
            out.to_str().unwrap(),
            "--max-chars",
            "300",
        ])
        .write_stdin(bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    let recs = records(&std::fs::read(&out).unwrap());
    let kinds: Vec<&str> = recs
        .iter()
        .map(|v| v["error"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "bad-json",
            "not-object",
            "missing-id",
            "empty-text",
            "invalid-utf8",
            "too-long",
            "bad-lang"
        ]
    );
    assert_eq!(manifest(&out)["input"]["kind"], "stdin");

    // A directory: ids are relative paths, in path order.
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(docs.join("2025/10")).unwrap();
    std::fs::write(docs.join("2025/10/a.txt"), b"\xc3\x28 bad").unwrap();
    std::fs::write(docs.join("2025/10/b.txt"), b"").unwrap();
    std::fs::write(docs.join("README.md"), b"not a document").unwrap();
    let out = dir.path().join("dir.jsonl");
    let o = offline(home.path())
        .args(["batch", docs.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let recs = records(&std::fs::read(&out).unwrap());
    let got: Vec<(String, String)> = recs
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().into(),
                v["error"]["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("2025/10/a.txt".to_string(), "invalid-utf8".to_string()),
            ("2025/10/b.txt".into(), "empty-text".into())
        ]
    );
    assert!(recs[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("byte offset 0"));
    assert!(!home.path().join("models").exists(), "no model was fetched");
}

/// `--shard auto` reads Slurm's and Kubernetes' variables; `{shard}` in the
/// output name is replaced.
#[test]
fn shard_auto_from_slurm_and_kubernetes() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.jsonl");
    let lines: String = (0..40)
        .map(|i| format!("{{\"id\": \"d{i}\", \"text\": \"\"}}\n"))
        .collect();
    std::fs::write(&input, lines).unwrap();
    let pattern = dir.path().join("o.{shard}-of-{shards}.jsonl");
    let run = |env: &[(&str, &str)]| {
        let mut c = offline(home.path());
        c.env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX");
        for (k, v) in env {
            c.env(k, v);
        }
        c.args([
            "batch",
            input.to_str().unwrap(),
            "-o",
            pattern.to_str().unwrap(),
            "--shard",
            "auto",
        ])
        .output()
        .unwrap()
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (id, env) in [
        (
            "1",
            vec![
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
            ],
        ),
        (
            "2",
            vec![
                ("SLURM_ARRAY_TASK_ID", "2"),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
            ],
        ),
    ] {
        let o = run(&env);
        assert_eq!(
            o.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let k = id.parse::<usize>().unwrap() - 1;
        let out = dir.path().join(format!("o.{k}-of-2.jsonl"));
        for v in records(&std::fs::read(&out).unwrap()) {
            *seen
                .entry(v["id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 40);
    assert!(seen.values().all(|&n| n == 1));
    let o = run(&[("JOB_COMPLETION_INDEX", "0"), ("DICH_SHARD_COUNT", "4")]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        manifest(&dir.path().join("o.0-of-4.jsonl"))["shard"]["count"],
        4
    );
    let o = run(&[("JOB_COMPLETION_INDEX", "0")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("DICH_SHARD_COUNT"));
}

#[test]
fn summarize_task_adds_an_aligned_summary() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let text = "Sáng 25/10, Lễ mở ký Công ước Hà Nội diễn ra tại Trung tâm Hội nghị Quốc gia. Đại sứ Anh Iain Frew đại diện Vương quốc Anh tham gia ký kết. Sự kiện do Việt Nam đăng cai tổ chức.";
    std::fs::write(
        &input,
        format!("{}\n", serde_json::json!({"id": "s", "text": text})),
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    let o = common::dich(true)
        .args([
            "batch",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .args([
            "--task",
            "summarize",
            "--sentences",
            "2",
            "--format",
            "compact",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = &records(&std::fs::read(&out).unwrap())[0];
    let segs = v["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 3);
    for s in segs {
        assert!(
            s.get("source").is_none(),
            "compact records leave the source out"
        );
        let span = s["source_span"].as_array().unwrap();
        let (a, b) = (
            span[0].as_u64().unwrap() as usize,
            span[1].as_u64().unwrap() as usize,
        );
        assert!(text.is_char_boundary(a) && text.is_char_boundary(b) && a < b);
    }
    let sentences = v["summary"]["sentences"].as_array().unwrap();
    assert_eq!(sentences.len(), 2);
    for s in sentences {
        assert!(!s["en"].as_str().unwrap().is_empty());
        assert!(!s["vi"].as_str().unwrap().is_empty());
        let support = s["support"][0]["segment"].as_u64().unwrap() as usize;
        assert!(support < segs.len());
    }
    let t = &v["timings"];
    assert!(t["generated_tokens"].as_u64().unwrap() > 0, "{t}");
    assert!(t["wall_s"].as_f64().unwrap() >= t["translate_s"].as_f64().unwrap());
}

/// The Slurm example scripts as a 2-task job array runs them (`srun` is a
/// shim that runs its command), then the merge script.
#[test]
fn slurm_example_scripts_shard_and_merge() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("corpus.jsonl");
    let lines: String = (0..30)
        .map(|i| format!("{{\"id\": {i}, \"text\": \" \"}}\n"))
        .collect();
    std::fs::write(&input, lines).unwrap();
    let shim = dir.path().join("bin");
    std::fs::create_dir_all(&shim).unwrap();
    std::fs::write(shim.join("srun"), "#!/bin/sh\nexec \"$@\"\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(shim.join("srun"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    let path = format!(
        "{}:{}",
        shim.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = dir.path().join("runs/corpus");
    let script = |name: &str| common::repo_path(&format!("examples/{name}"));
    for task in ["1", "2"] {
        let o = Command::new("bash")
            .arg(script("slurm-batch.sh"))
            .env("PATH", &path)
            .env("DICH", dich_bin())
            .env("DICH_HOME", home.path())
            .env("INPUT", &input)
            .env("OUT", &out)
            .env("SLURM_ARRAY_TASK_ID", task)
            .env("SLURM_ARRAY_TASK_MIN", "1")
            .env("SLURM_ARRAY_TASK_COUNT", "2")
            .env_remove("SLURM_CPUS_PER_TASK")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "task {task}: {err}");
        assert!(err.contains("shard finished with failed records"), "{err}");
    }
    let o = Command::new("bash")
        .arg(script("slurm-merge.sh"))
        .env("DICH", dich_bin())
        .env("OUT", &out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    let merged = records(&std::fs::read(format!("{}.jsonl", out.display())).unwrap());
    let ids: Vec<u64> = merged.iter().map(|v| v["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (0..30).collect::<Vec<u64>>());
}

/// A manifest beside a deleted output does not block a new run with other
/// settings; an output of one shard cannot be resumed as another.
#[test]
fn stale_manifest_and_shard_mismatch() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.jsonl");
    let lines: String = (0..10)
        .map(|i| format!("{{\"id\": {i}, \"text\": \"\"}}\n"))
        .collect();
    std::fs::write(&input, lines).unwrap();
    let out = dir.path().join("o.jsonl");
    let run = |extra: &[&str]| {
        offline(home.path())
            .args([
                "batch",
                input.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    assert_eq!(run(&["--shard", "0/2"]).status.code(), Some(3));
    let o = run(&[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("this output belongs to shard 0/2, not (none)"),
        "{err}"
    );
    std::fs::remove_file(&out).unwrap();
    // The input as its own output is refused before anything is touched.
    let before = std::fs::read(&input).unwrap();
    let o = offline(home.path())
        .args([
            "batch",
            input.to_str().unwrap(),
            "-o",
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is also the input"));
    assert_eq!(std::fs::read(&input).unwrap(), before);
    let o = run(&["--no-timings", "--format", "compact"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(records(&std::fs::read(&out).unwrap()).len(), 10);
    let m = manifest(&out);
    assert!(m["shard"].is_null());
    assert_eq!(
        m["runs"].as_array().unwrap().len(),
        1,
        "a fresh start, not a resume"
    );
}
