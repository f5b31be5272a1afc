//! The run manifest beside a batch output (`OUT.manifest.json`): what made
//! the output (dich version, models with sha256, the settings that shape
//! its records), the input's fingerprint, counts, and one entry per run
//! (a resumed output has several).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::input::InputKind;
use super::shard::Shard;
use crate::error::{Error, Result};
use crate::input::InputError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub dich_version: String,
    /// `running` while a run is under way (or if it was killed), `complete`
    /// when every selected record has an output record.
    pub status: String,
    pub output: String,
    pub input: InputInfo,
    pub shard: Option<Shard>,
    /// Everything that shapes the records: a resumed run must match it.
    pub settings: Value,
    /// Options that do not change finished records (e.g. --max-chars).
    pub options: Value,
    pub counts: Counts,
    pub started: String,
    pub ended: Option<String>,
    pub runs: Vec<RunInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputInfo {
    pub path: String,
    pub kind: InputKind,
    /// sha256 of the JSONL bytes, or of the directory's (path, size, bytes)
    /// list.
    pub sha256: String,
    pub records: usize,
}

impl<'de> Deserialize<'de> for InputKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "jsonl" => Ok(InputKind::Jsonl),
            "dir" => Ok(InputKind::Dir),
            "stdin" => Ok(InputKind::Stdin),
            other => Err(serde::de::Error::custom(format!(
                "unknown input kind {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Records in the input.
    pub input: usize,
    /// Records in this shard (all of them without --shard).
    pub selected: usize,
    /// Output records (each selected record has exactly one when complete).
    pub written: usize,
    pub ok: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunInfo {
    pub started: String,
    pub ended: Option<String>,
    pub host: String,
    /// Records already in the output when the run started.
    pub done_before: usize,
    /// Records this run wrote, and how many of them are errors.
    pub processed: usize,
    pub failed: usize,
    /// Seconds from the first record to the last (model loading excluded).
    pub wall_s: f64,
    /// Records that went through the model (input errors excluded).
    pub documents: usize,
    pub documents_per_min: f64,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    /// Generated tokens over the run's wall time (end to end).
    pub generated_tokens_per_s: f64,
    /// Generated tokens over the time spent decoding them.
    pub decode_tokens_per_s: f64,
    /// Batched runs: the most documents in flight at once, and how many
    /// were in a forward pass on average (the batch occupancy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batch: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_batch: Option<f64>,
    /// Batched runs: forward passes, the token rows they took (prompts and
    /// decoding steps), and the seconds spent in them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_passes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_rows: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_s: Option<f64>,
    /// Batched runs: the passes that fed a prompt (with the decoding steps
    /// of the others), the prompt tokens and the seconds they took; the
    /// rest of `forward_s` went to passes of decoding steps only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_passes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_pass_rows: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_pass_s: Option<f64>,
    /// The signal that stopped this run early (`SIGTERM`), if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
}

/// `out.jsonl` -> `out.manifest.json`; other names get `.manifest.json`
/// appended.
pub fn manifest_path(out: &Path) -> PathBuf {
    let s = out.as_os_str().to_string_lossy();
    match s.strip_suffix(".jsonl") {
        Some(stem) => PathBuf::from(format!("{stem}.manifest.json")),
        None => PathBuf::from(format!("{s}.manifest.json")),
    }
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Option<Manifest>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            InputError::InvalidDocument {
                input: path.display().to_string(),
                message: format!("not a dich batch manifest: {e}"),
            }
            .into()
        })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("manifest: {e}")))?;
        text.push('\n');
        crate::util::fs::write_atomic(path, text.as_bytes()).map_err(|e| Error::io(path, e))
    }
}

/// The settings that differ between a previous run and this one, as
/// `name: before -> now` lines; empty if a resume is safe.
pub fn settings_diff(before: &Value, now: &Value) -> Vec<String> {
    let (Some(a), Some(b)) = (before.as_object(), now.as_object()) else {
        return vec![format!("settings: {before} -> {now}")];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (
                a.get(k).unwrap_or(&Value::Null),
                b.get(k).unwrap_or(&Value::Null),
            );
            (x != y).then(|| format!("{k}: {x} -> {y}"))
        })
        .collect()
}

/// RFC 3339 UTC timestamp with seconds, e.g. `2026-11-25T09:03:07Z`.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The machine's name, for the run log (clusters run shards on many).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // date -u -d @1795597387 +%FT%TZ
        let t = UNIX_EPOCH + Duration::from_secs(1_795_597_387);
        assert_eq!(timestamp(t), "2026-11-25T09:03:07Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // leap day
        assert_eq!(timestamp(t), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn manifest_names() {
        assert_eq!(
            manifest_path(Path::new("runs/out.jsonl")),
            PathBuf::from("runs/out.manifest.json")
        );
        assert_eq!(
            manifest_path(Path::new("out.txt")),
            PathBuf::from("out.txt.manifest.json")
        );
    }

    #[test]
    fn diff_names_what_changed() {
        let a = serde_json::json!({"task": "translate", "seed": 1});
        let b = serde_json::json!({"task": "summarize", "seed": 1, "x": true});
        assert_eq!(
            settings_diff(&a, &b),
            vec![
                "task: \"translate\" -> \"summarize\"".to_string(),
                "x: null -> true".to_string()
            ]
        );
        assert!(settings_diff(&a, &a).is_empty());
    }
}
