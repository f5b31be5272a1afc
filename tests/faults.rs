//! `dich batch` and `dich models pull` under resource faults and signals:
//! a file size limit reached at any point of a run, a full and a read-only
//! file system, SIGTERM once (stop after the records in flight) and twice
//! (stop at once). Each case gives a clear error naming the path or a
//! documented exit code, leaves no temporary file, keeps the previous
//! output whole, and the next run resumes to the records of an
//! uninterrupted run.
//!
//! The file size limit is set with `ulimit -f` in a shell that then runs
//! dich. The full and read-only file systems are small tmpfs mounts, which
//! need root; where mounting is not allowed those two cases print why and
//! check nothing else.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::hubserver::{EtagKind, HubServer};
use serde_json::Value;

fn dich_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("dich")
}

/// Records that need no model (blank texts and bad lines: error records,
/// written at once), enough of them for a 30 KB output.
fn error_records(dir: &Path) -> PathBuf {
    let mut text = String::new();
    for i in 0..240 {
        match i % 3 {
            0 => text.push_str(&format!("{{\"id\": \"blank-{i}\", \"text\": \"  \"}}\n")),
            1 => text.push_str(&format!("{{\"id\": \"cut-{i}\", \"text\": \n")),
            _ => text.push_str(&format!(
                "{{\"id\": \"lang-{i}\", \"text\": \"Salut.\", \"lang\": \"fr\"}}\n"
            )),
        }
    }
    let p = dir.join("in.jsonl");
    std::fs::write(&p, text).unwrap();
    p
}

/// `dich --offline batch INPUT -o OUT --no-timings` with its cache at
/// `home`, under `ulimit -f limit_kib` when given.
fn batch(home: &Path, input: &Path, out: &Path, limit_kib: Option<u64>, extra: &[&str]) -> Output {
    let mut args = vec![
        "--offline".to_string(),
        "batch".into(),
        input.display().to_string(),
        "-o".into(),
        out.display().to_string(),
        "--no-timings".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut c = match limit_kib {
        Some(kib) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -f {kib} && exec \"$0\" \"$@\""))
                .arg(dich_bin());
            c
        }
        None => Command::new(dich_bin()),
    };
    c.args(&args)
        .env("DICH_HOME", home)
        .env_remove("DICH_LOG")
        .output()
        .unwrap()
}

/// Files in `dir` (not recursive) whose names end in `.tmp`.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// Every line of `out` (if it exists) is a whole JSON record.
fn assert_whole_records(out: &Path) {
    if let Ok(bytes) = std::fs::read(out) {
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'), "{text}");
        for l in text.lines() {
            serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{l:?}: {e}"));
        }
    }
}

fn manifest(out: &Path) -> Value {
    let p = PathBuf::from(
        out.display()
            .to_string()
            .replace(".jsonl", ".manifest.json"),
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn a_file_size_limit_anywhere_in_a_run_is_a_clear_error_and_the_rerun_completes() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = error_records(dir.path());
    let reference = dir.path().join("ref.jsonl");
    let o = batch(home.path(), &input, &reference, None, &[]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let want = std::fs::read(&reference).unwrap();
    assert!(want.len() > 24 * 1024, "{} bytes", want.len());
    // 1 KiB: the manifest; then the part file at different records; the
    // largest: the consolidated output.
    let mut failed_at = Vec::new();
    for kib in [1u64, 2, 3, 5, 8, 13, 21, 34] {
        let sub = dir.path().join(format!("limit-{kib}"));
        std::fs::create_dir_all(&sub).unwrap();
        let out = sub.join("out.jsonl");
        let o = batch(home.path(), &input, &out, Some(kib), &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        match o.status.code() {
            Some(1) => {
                assert!(
                    err.contains("File too large") && err.contains("ulimit -f"),
                    "{kib} KiB: {err}"
                );
                assert!(
                    err.contains(&sub.display().to_string()) || err.contains("out."),
                    "{err}"
                );
                failed_at.push(kib);
            }
            Some(3) => {}
            other => panic!("{kib} KiB: exit {other:?} (a signal?): {err}"),
        }
        assert!(
            temporaries(&sub).is_empty(),
            "{kib} KiB: {:?}",
            temporaries(&sub)
        );
        assert_whole_records(&out);
        // The next run, without the limit, resumes to the same records.
        let o = batch(home.path(), &input, &out, None, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{kib} KiB rerun: {err}");
        assert_eq!(
            std::fs::read(&out).unwrap(),
            want,
            "{kib} KiB: resumed output differs"
        );
        assert_eq!(manifest(&out)["status"], "complete");
    }
    assert!(failed_at.len() >= 6, "limits that failed: {failed_at:?}");
}

/// A tmpfs of `size` mounted on a new directory, unmounted on drop; `None`
/// (with the reason printed) where this process may not mount.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match o {
            Ok(o) if o.status.success() => Some(Self { dir }),
            Ok(o) => {
                eprintln!(
                    "not checked here: mounting a tmpfs is not allowed ({})",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("not checked here: no mount command ({e})");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, options: &str) {
        let o = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(self.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_then_read_only_file_system_is_a_clear_error_and_the_rerun_completes() {
    let Some(fs) = Tmpfs::mount("12k") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = error_records(dir.path());
    let reference = dir.path().join("ref.jsonl");
    batch(home.path(), &input, &reference, None, &[]);
    let want = std::fs::read(&reference).unwrap();

    let out = fs.path().join("out.jsonl");
    let o = batch(home.path(), &input, &out, None, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("No space left on device") && err.contains("full"),
        "{err}"
    );
    assert!(err.contains(&fs.path().display().to_string()), "{err}");
    assert!(
        temporaries(fs.path()).is_empty(),
        "{:?}",
        temporaries(fs.path())
    );
    assert_whole_records(&out);

    // Read-only: refused at the start, naming the output.
    fs.remount("ro");
    let o = batch(home.path(), &input, &out, None, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(err.contains(&fs.path().display().to_string()), "{err}");

    // Room again: the run resumes to the uninterrupted records.
    fs.remount("rw,size=1m");
    let o = batch(home.path(), &input, &out, None, &[]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), want, "resumed output differs");
}

/// Short documents for the default model.
fn documents(dir: &Path) -> PathBuf {
    let lines = [
        r#"{"id": "a", "text": "Sự kiện do Việt Nam đăng cai tổ chức tại Trung tâm Hội nghị Quốc gia Hà Nội."}"#,
        r#"{"id": "b", "text": "Đại sứ Anh Iain Frew đại diện Vương quốc Anh tham gia ký kết."}"#,
        r#"{"id": "c", "text": "Quyền được thông tin là một quyền mang tính Hiến định của công dân."}"#,
        r#"{"id": "d", "text": "The convention was signed in Hanoi on October 25.", "lang": "en"}"#,
        r#"{"id": "e", "text": "Lễ mở ký diễn ra với sự tham gia của gần 70 nước."}"#,
        r#"{"id": "f", "text": "  "}"#,
    ];
    let p = dir.join("docs.jsonl");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

/// Starts a batch of `input` and sends it `signals` SIGTERMs once the
/// blank record and one translation are on disk.
fn terminated(input: &Path, out: &Path, extra: &[&str], signals: usize) -> Output {
    let mut child = Command::new(dich_bin())
        .args(["--offline", "batch"])
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(["--no-timings", "--no-score"])
        .args(extra)
        .env_remove("DICH_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while common::finished_records(out) < 2 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before the signal"
        );
        assert!(start.elapsed() < Duration::from_secs(600), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..signals {
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn sigterm_stops_after_the_records_in_flight_and_the_rerun_completes() {
    common::default_model();
    let dir = tempfile::tempdir().unwrap();
    let input = documents(dir.path());
    // A whole run of `input` into `out` with the common flags.
    let complete = |out: &Path, extra: &[&str]| {
        common::dich(true)
            .args(["--offline", "batch"])
            .arg(&input)
            .arg("-o")
            .arg(out)
            .args(["--no-timings", "--no-score"])
            .args(extra)
            .output()
            .unwrap()
    };
    let reference = dir.path().join("ref.jsonl");
    let o = complete(&reference, &["--max-batch", "1"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let want = std::fs::read(&reference).unwrap();

    // Once, batched (two documents in flight): both finish, nothing else
    // starts, the manifest says why the run ended, exit 143.
    let out = dir.path().join("once.jsonl");
    let o = terminated(&input, &out, &["--max-batch", "2"], 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(err.contains("stopped early by SIGTERM"), "{err}");
    let done = common::finished_records(&out);
    assert!((2..6).contains(&done), "{done} records: {err}");
    assert_whole_records(&out);
    assert!(temporaries(dir.path()).is_empty());
    let m = manifest(&out);
    assert_eq!(m["status"], "stopped", "{m}");
    let run = &m["runs"][0];
    assert_eq!(run["interrupted"], "SIGTERM", "{m}");
    assert!(!run["ended"].is_null(), "{m}");
    assert_eq!(run["processed"].as_u64(), Some(done as u64), "{m}");
    let o = complete(&out, &["--max-batch", "1"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), want, "resumed output differs");

    // Twice, one document at a time: the second ends the process at once
    // (143), finished records kept, and the rerun completes them.
    let out = dir.path().join("twice.jsonl");
    let o = terminated(&input, &out, &["--max-batch", "1"], 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(common::finished_records(&out) < 6, "{err}");
    let o = complete(&out, &[]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), want, "resumed output differs");
}

#[test]
fn a_download_over_the_file_size_limit_fails_clearly_and_the_next_pull_completes() {
    let weights: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let files = vec![
        (
            "config.json",
            br#"{"model_type": "marian", "d_model": 16}"#.to_vec(),
            EtagKind::Git,
        ),
        ("source.spm", vec![1u8; 5_000], EtagKind::Lfs),
        ("target.spm", vec![2u8; 6_000], EtagKind::Lfs),
        (
            "vocab.json",
            br#"{"</s>": 0, "<unk>": 1, "<pad>": 2}"#.to_vec(),
            EtagKind::Git,
        ),
        ("model.safetensors", weights, EtagKind::Lfs),
    ];
    let server = HubServer::start("Helsinki-NLP/opus-mt-vi-en", "main", files);
    let home = tempfile::tempdir().unwrap();
    let pull = |limit: Option<u64>| {
        let mut c = match limit {
            Some(kib) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -f {kib} && exec \"$0\" \"$@\""))
                    .arg(dich_bin());
                c
            }
            None => Command::new(dich_bin()),
        };
        c.args(["models", "pull", "opus-mt-vi-en"])
            .env("DICH_HOME", home.path().join("dich"))
            .env("HF_HOME", home.path().join("hf"))
            .env("HF_ENDPOINT", &server.endpoint)
            .env("DICH_PYTHON", "false")
            .env_remove("HF_TOKEN")
            .env_remove("DICH_LOG")
            .output()
            .unwrap()
    };
    let o = pull(Some(100));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("model.safetensors"), "{err}");
    assert!(err.contains("File too large"), "{err}");
    let model_dir = home.path().join("dich/models/opus-mt-vi-en");
    assert!(!model_dir.join("model.safetensors").exists());
    // Another process holds the model's lock (as a pull in progress does):
    // this one says what it waits for, waits, then completes the pull.
    std::fs::create_dir_all(&model_dir).unwrap();
    let mut holder = Command::new("flock")
        .arg(model_dir.join(".lock"))
        .args(["sleep", "3"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let o = pull(None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("waiting for another dich process that is fetching opus-mt-vi-en"),
        "{err}"
    );
    assert!(
        t.elapsed() >= Duration::from_secs(2),
        "did not wait for the lock"
    );
    holder.wait().unwrap();
    let o = Command::new(dich_bin())
        .args(["--offline", "models", "verify", "opus-mt-vi-en"])
        .env("DICH_HOME", home.path().join("dich"))
        .env("HF_HOME", home.path().join("hf"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{report}");
    assert!(
        report.contains("opus-mt-vi-en\tmodel.safetensors\tok"),
        "{report}"
    );
}

#[test]
fn a_model_file_replaced_under_a_running_batch_and_a_bus_error() {
    let gguf = common::default_model().path.clone();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("model.gguf");
    std::fs::copy(&gguf, &copy).unwrap();
    let input = documents(dir.path());
    let run = |out: &Path| {
        Command::new(dich_bin())
            .args(["--offline", "batch"])
            .arg(&input)
            .arg("-o")
            .arg(out)
            .args(["--no-timings", "--no-score", "--max-batch", "1", "--model"])
            .arg(&copy)
            .env_remove("DICH_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let wait_for_first = |out: &Path, child: &mut std::process::Child| {
        let start = Instant::now();
        while common::finished_records(out) < 2 {
            assert!(child.try_wait().unwrap().is_none(), "ended too soon");
            assert!(start.elapsed() < Duration::from_secs(600), "no progress");
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    // Replaced by renaming another file over it (as `dich models pull`
    // does): the run keeps the file it opened and finishes every record.
    let out = dir.path().join("renamed.jsonl");
    let mut child = run(&out);
    wait_for_first(&out, &mut child);
    let other = dir.path().join("other.gguf");
    std::fs::write(&other, b"not a model").unwrap();
    std::fs::rename(&other, &copy).unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    let records: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 6);
    let ok = records.iter().filter(|r| r.get("error").is_none()).count();
    assert_eq!(ok, 5, "{records:?}");

    // A bus error (what reading a mapped file truncated in place raises)
    // ends the run with a message saying so and 135; the next run resumes.
    std::fs::copy(&gguf, &copy).unwrap();
    let out = dir.path().join("bus.jsonl");
    let mut child = run(&out);
    wait_for_first(&out, &mut child);
    let ok = Command::new("kill")
        .args(["-BUS", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(135), "{err}");
    assert!(
        err.contains("truncated or rewritten while dich was reading it (SIGBUS)"),
        "{err}"
    );
    assert!(common::finished_records(&out) < 6);
    let o = run(&out).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(dir.path().join("renamed.jsonl")).unwrap()
    );
}

#[test]
fn a_read_only_model_cache_still_translates() {
    let model = common::default_model();
    common::default_embedder_paths();
    // The models' cache, mounted read-only elsewhere (a shared cache on a
    // cluster often is).
    let home = model.path.ancestors().nth(3).unwrap().to_path_buf();
    assert!(home.join("models").is_dir(), "{}", home.display());
    let ro = tempfile::tempdir().unwrap();
    let bind = Command::new("mount")
        .args(["--bind"])
        .arg(&home)
        .arg(ro.path())
        .output()
        .unwrap();
    if !bind.status.success() {
        eprintln!(
            "not checked here: bind mounts are not allowed ({})",
            String::from_utf8_lossy(&bind.stderr).trim()
        );
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(ro.path());
    let o = Command::new("mount")
        .args(["-o", "remount,ro,bind"])
        .arg(ro.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("one.txt");
    std::fs::write(
        &text,
        "Đại sứ Anh Iain Frew đại diện Vương quốc Anh tham gia ký kết.\n",
    )
    .unwrap();
    let o = Command::new(dich_bin())
        .args(["--offline", "translate"])
        .arg(&text)
        .env("DICH_HOME", ro.path())
        .env_remove("DICH_LOG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let english = String::from_utf8_lossy(&o.stdout);
    assert!(english.contains("Iain Frew"), "{english}");
}
