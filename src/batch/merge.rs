//! `dich batch merge`: joins the outputs of shard runs into one output in
//! input order, checking that every input record appears exactly once.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::input::{self, BatchInput};
use super::journal::{record_key, sibling};
use super::manifest::{self, Counts, InputInfo, Manifest};
use crate::error::{Error, Result};
use crate::input::InputError;

#[derive(Debug, Clone)]
pub struct MergeOptions {
    pub shards: Vec<PathBuf>,
    pub output: PathBuf,
    /// The input the shards ran over; default: the path in their manifests.
    pub input: Option<String>,
    /// Write the merged output even if records are missing or repeated.
    pub allow_gaps: bool,
}

#[derive(Debug, Clone, Default)]
pub struct MergeReport {
    pub records: usize,
    pub failed: usize,
    /// Input records with no output record, as `line 7 (id "x")` labels.
    pub missing: Vec<String>,
    /// Keys found more than once, with where.
    pub duplicates: Vec<String>,
    /// Other problems: unfinished shards, missing shard indices, manifests
    /// that disagree.
    pub problems: Vec<String>,
    /// Output records whose key is not in the input.
    pub unknown: usize,
    /// Whether the output was written.
    pub written: bool,
    pub checked_against_input: bool,
}

impl MergeReport {
    pub fn complete(&self) -> bool {
        self.missing.is_empty() && self.duplicates.is_empty() && self.problems.is_empty()
    }

    /// The problems, for stderr (at most `limit` per kind).
    pub fn describe(&self, limit: usize) -> String {
        let mut out = String::new();
        let mut list = |title: String, items: &[String]| {
            if items.is_empty() {
                return;
            }
            out.push_str(&title);
            out.push('\n');
            for i in items.iter().take(limit) {
                out.push_str(&format!("  - {i}\n"));
            }
            if items.len() > limit {
                out.push_str(&format!("  ... and {} more\n", items.len() - limit));
            }
        };
        list(
            format!("{} problem(s):", self.problems.len()),
            &self.problems,
        );
        list(
            format!(
                "{} input record(s) missing from every shard:",
                self.missing.len()
            ),
            &self.missing,
        );
        list(
            format!("{} record(s) appear more than once:", self.duplicates.len()),
            &self.duplicates,
        );
        out
    }
}

struct Found {
    /// (file index, line number) of the first copy.
    at: (usize, usize),
    line: String,
    failed: bool,
    seq: usize,
}

pub fn merge(opts: &MergeOptions) -> Result<MergeReport> {
    if opts.shards.is_empty() {
        return Err(Error::Internal(
            "merge needs at least one shard output".into(),
        ));
    }
    let mut report = MergeReport::default();
    let manifests = load_manifests(opts, &mut report)?;
    check_manifests(opts, &manifests, &mut report);

    let found = read_shards(opts, &mut report)?;

    let input = read_input(opts, &manifests)?;
    let order: HashMap<&str, usize> = match &input {
        Some(inp) => check_against_input(inp, &manifests, &found, &mut report),
        None => {
            check_counts(&manifests, &found, &mut report);
            HashMap::new()
        }
    };
    report.records = found.len();
    report.failed = found.values().filter(|f| f.failed).count();

    if report.complete() || opts.allow_gaps {
        write_merged(opts, &found, &order)?;
        write_manifest(opts, &manifests, input.as_ref(), &report)?;
        report.written = true;
    }
    Ok(report)
}

/// Each shard's manifest (`None` where it has none), noting shards whose run
/// is unfinished.
fn load_manifests(opts: &MergeOptions, report: &mut MergeReport) -> Result<Vec<Option<Manifest>>> {
    let mut manifests: Vec<Option<Manifest>> = Vec::new();
    for path in &opts.shards {
        if path == &opts.output {
            return Err(InputError::InvalidDocument {
                input: path.display().to_string(),
                message: "is both a shard and the merge output".into(),
            }
            .into());
        }
        if sibling(path, ".part").exists() {
            report.problems.push(format!(
                "{}: the shard's run is unfinished or still running ({} exists); run its command again to finish it",
                path.display(),
                sibling(path, ".part").display()
            ));
        }
        manifests.push(Manifest::load(&manifest::manifest_path(path))?);
    }
    Ok(manifests)
}

/// Every record of every shard, by key; repeated keys go to the report.
fn read_shards(opts: &MergeOptions, report: &mut MergeReport) -> Result<HashMap<String, Found>> {
    let mut found: HashMap<String, Found> = HashMap::new();
    let mut seq = 0;
    for (fi, path) in opts.shards.iter().enumerate() {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let mut number = 0;
        for raw in text.split_inclusive(|&b| b == b'\n') {
            number += 1;
            let bad = |why: &str| InputError::InvalidDocument {
                input: path.display().to_string(),
                message: format!("line {number}: {why}"),
            };
            if !raw.ends_with(b"\n") {
                return Err(bad("the last line has no newline (a cut-off record); run this shard's command again to repair and finish it").into());
            }
            let line =
                std::str::from_utf8(&raw[..raw.len() - 1]).map_err(|_| bad("not valid UTF-8"))?;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value =
                serde_json::from_str(line).map_err(|e| bad(&format!("invalid JSON: {e}")))?;
            let (key, failed) = record_key(&v).ok_or_else(|| bad("not a dich batch record"))?;
            if let Some(first) = found.get(&key) {
                report.duplicates.push(format!(
                    "{key}: {} line {} and {} line {number}",
                    opts.shards[first.at.0].display(),
                    first.at.1,
                    path.display()
                ));
                continue;
            }
            found.insert(
                key,
                Found {
                    at: (fi, number),
                    line: line.to_string(),
                    failed,
                    seq,
                },
            );
            seq += 1;
        }
    }
    Ok(found)
}

/// What should be there: the input's records, when the input can be read.
fn read_input(opts: &MergeOptions, manifests: &[Option<Manifest>]) -> Result<Option<BatchInput>> {
    let input_spec = opts.input.clone().or_else(|| {
        manifests
            .iter()
            .flatten()
            .map(|m| &m.input)
            .find(|i| i.kind != input::InputKind::Stdin)
            .map(|i| i.path.clone())
    });
    Ok(match &input_spec {
        Some(spec) if opts.input.is_some() || Path::new(spec).exists() => {
            Some(input::read(spec, usize::MAX)?)
        }
        _ => None,
    })
}

/// Compares the records found with the input's, noting what is missing or
/// unknown; returns each input key's position in the input.
fn check_against_input<'a>(
    inp: &'a BatchInput,
    manifests: &[Option<Manifest>],
    found: &HashMap<String, Found>,
    report: &mut MergeReport,
) -> HashMap<&'a str, usize> {
    let mut order: HashMap<&str, usize> = HashMap::new();
    report.checked_against_input = true;
    let want = manifests
        .iter()
        .flatten()
        .map(|m| m.input.sha256.as_str())
        .next();
    if want.is_some_and(|w| w != inp.sha256) {
        report.problems.push(format!(
            "{}: the input changed since the shards ran (sha256 differs from their manifests)",
            inp.name
        ));
    }
    for r in inp.records.iter() {
        order.insert(r.key.as_str(), r.order);
        if !found.contains_key(&r.key) {
            report.missing.push(r.label());
        }
    }
    report.unknown = found
        .keys()
        .filter(|k| !order.contains_key(k.as_str()))
        .count();
    if report.unknown > 0 {
        report.problems.push(format!(
            "{} output record(s) are not in the input {}",
            report.unknown, inp.name
        ));
    }
    order
}

/// No input to compare with: the manifests' counts must add up.
fn check_counts(
    manifests: &[Option<Manifest>],
    found: &HashMap<String, Found>,
    report: &mut MergeReport,
) {
    let selected: usize = manifests.iter().flatten().map(|m| m.counts.selected).sum();
    if manifests.iter().any(Option::is_none) {
        report
            .problems
            .push("no input to check against and some shards have no manifest".into());
    } else if selected != found.len() {
        report.problems.push(format!(
            "the shards selected {selected} records but {} are present",
            found.len()
        ));
    }
}

/// Writes the records found to the output, in input order where known, else
/// in the order the shards gave them.
fn write_merged(
    opts: &MergeOptions,
    found: &HashMap<String, Found>,
    order: &HashMap<&str, usize>,
) -> Result<()> {
    let mut rows: Vec<(&String, &Found)> = found.iter().collect();
    rows.sort_by_key(|(k, f)| (order.get(k.as_str()).copied().unwrap_or(usize::MAX), f.seq));
    let mut text = String::new();
    for (_, f) in rows {
        text.push_str(&f.line);
        text.push('\n');
    }
    crate::util::fs::write_atomic(&opts.output, text.as_bytes())
        .map_err(|e| Error::io(&opts.output, e))
}

fn check_manifests(opts: &MergeOptions, manifests: &[Option<Manifest>], report: &mut MergeReport) {
    let present: Vec<(&PathBuf, &Manifest)> = opts
        .shards
        .iter()
        .zip(manifests)
        .filter_map(|(p, m)| m.as_ref().map(|m| (p, m)))
        .collect();
    let Some((first_path, first)) = present.first() else {
        return;
    };
    let mut by_index: BTreeMap<usize, &PathBuf> = BTreeMap::new();
    for (path, m) in &present {
        if m.status != "complete" {
            report.problems.push(format!(
                "{}: its manifest says the run is `{}`, not complete",
                path.display(),
                m.status
            ));
        }
        let mut s = m.settings.clone();
        let mut f = first.settings.clone();
        for v in [&mut s, &mut f] {
            if let Some(o) = v.as_object_mut() {
                o.remove("timings");
            }
        }
        let diff = manifest::settings_diff(&f, &s);
        if !diff.is_empty() {
            report.problems.push(format!(
                "{} was made with other settings than {}: {}",
                path.display(),
                first_path.display(),
                diff.join("; ")
            ));
        }
        if m.input.sha256 != first.input.sha256 {
            report.problems.push(format!(
                "{} ran over a different input than {} (sha256 differs)",
                path.display(),
                first_path.display()
            ));
        }
        match (m.shard, first.shard) {
            (Some(s), Some(f)) if s.count == f.count => {
                if let Some(other) = by_index.insert(s.index, path) {
                    report.problems.push(format!(
                        "{} and {} are both shard {s}",
                        other.display(),
                        path.display()
                    ));
                }
            }
            (s, f) => report.problems.push(format!(
                "{} is shard {} but {} is shard {}",
                path.display(),
                s.map_or("(none)".into(), |s| s.to_string()),
                first_path.display(),
                f.map_or("(none)".into(), |s| s.to_string())
            )),
        }
    }
    if let Some(count) = first.shard.map(|s| s.count) {
        if present.len() == opts.shards.len() {
            let missing: Vec<String> = (0..count)
                .filter(|i| !by_index.contains_key(i))
                .map(|i| format!("{i}/{count}"))
                .collect();
            if !missing.is_empty() {
                report.problems.push(format!(
                    "shard output(s) missing: {} (give every shard's output)",
                    missing.join(", ")
                ));
            }
        }
    }
}

fn write_manifest(
    opts: &MergeOptions,
    manifests: &[Option<Manifest>],
    input: Option<&BatchInput>,
    report: &MergeReport,
) -> Result<()> {
    let present: Vec<&Manifest> = manifests.iter().flatten().collect();
    let first = present.first();
    let m = Manifest {
        dich_version: env!("CARGO_PKG_VERSION").to_string(),
        status: if report.complete() {
            "complete"
        } else {
            "incomplete"
        }
        .into(),
        output: opts.output.display().to_string(),
        input: match (input, first) {
            (Some(i), _) => InputInfo {
                path: i.name.clone(),
                kind: i.kind,
                sha256: i.sha256.clone(),
                records: i.records.len(),
            },
            (None, Some(f)) => f.input.clone(),
            (None, None) => InputInfo {
                path: String::new(),
                kind: input::InputKind::Jsonl,
                sha256: String::new(),
                records: 0,
            },
        },
        shard: None,
        settings: first.map(|f| f.settings.clone()).unwrap_or_default(),
        options: serde_json::json!({
            "merged_from": opts.shards.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        }),
        counts: Counts {
            input: input.map_or(0, |i| i.records.len()),
            selected: report.records + report.missing.len(),
            written: report.records,
            ok: report.records - report.failed,
            failed: report.failed,
        },
        started: present
            .iter()
            .map(|m| m.started.clone())
            .min()
            .unwrap_or_else(|| manifest::timestamp(std::time::SystemTime::now())),
        ended: present.iter().filter_map(|m| m.ended.clone()).max(),
        runs: present.iter().flat_map(|m| m.runs.clone()).collect(),
    };
    m.save(&manifest::manifest_path(&opts.output))
}
