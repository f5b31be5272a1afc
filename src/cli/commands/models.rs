//! `dich models`: list, fetch, locate and verify the catalog's models.

use anyhow::{bail, Context, Result};

use crate::cli::args::{GlobalArgs, ListFormat, ModelsCommand};
use crate::cli::common::emit;
use dich::registry::{self, Catalog, ModelEntry, Store};

pub fn run(g: &GlobalArgs, command: ModelsCommand) -> Result<()> {
    let store = Store::default();
    let catalog = Catalog::builtin()?;
    match command {
        ModelsCommand::List { format } => list(&store, &catalog, format),
        ModelsCommand::Pull { name } => pull(g, &store, &catalog, &name),
        ModelsCommand::Path { name } => path(&store, &catalog, &name),
        ModelsCommand::Verify { name } => verify(&store, &catalog, name.as_deref()),
    }
}

/// The catalog's model called `name`, or an error listing the known ones.
fn find<'a>(catalog: &'a Catalog, name: &str) -> Result<&'a ModelEntry> {
    catalog
        .get(name)
        .with_context(|| format!("unknown model `{name}`; known models: {}", catalog.names()))
}

/// Hub-verified models have no size in the catalog: once cached, their
/// size is what is on disk; before that it is unknown.
fn size(store: &Store, m: &ModelEntry) -> Option<u64> {
    m.total_size()
        .or_else(|| (store.state(m) == registry::CacheState::Cached).then(|| store.size_on_disk(m)))
}

/// RAM a chat model needs, estimated: its weights (read into memory) plus
/// 15% for the key/value cache of a few thousand tokens, activations and
/// the tokenizer, plus 300 MB for the process.
fn ram_estimate(m: &ModelEntry, size: Option<u64>) -> Option<u64> {
    (m.format == registry::ModelFormat::Gguf)
        .then_some(size?)
        .map(|s| s + s * 15 / 100 + 300_000_000)
}

/// What `dich bench --model NAME` measured here (`<cache>/bench/NAME.json`):
/// generated tokens per second after the short prompt, one sequence, and
/// the measured read bandwidth.
fn measured(store: &Store, name: &str) -> Option<(f64, f64)> {
    let path = store.home().join("bench").join(format!("{name}.json"));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    Some((
        v["decode_tps_short"].as_f64()?,
        v["read_bandwidth_gbs"].as_f64()?,
    ))
}

/// Speed here: measured by `dich bench`, else the bandwidth bound (weight
/// bytes per generated token against the bandwidth any earlier bench run
/// measured on this machine), else unknown.
fn speed(
    store: &Store,
    catalog: &Catalog,
    m: &ModelEntry,
    size: Option<u64>,
) -> (Option<f64>, &'static str) {
    if m.format != registry::ModelFormat::Gguf {
        return (None, "");
    }
    if let Some((tps, _)) = measured(store, &m.name) {
        return (Some(tps), "measured");
    }
    let bandwidth = catalog
        .models
        .iter()
        .find_map(|o| measured(store, &o.name).map(|x| x.1));
    match (bandwidth, size) {
        (Some(bw), Some(bytes)) if bytes > 0 => (Some(bw * 1e9 / bytes as f64), "at most"),
        _ => (None, ""),
    }
}

/// `dich models list`: every catalog model with its size, the RAM it needs,
/// its speed here and its cache state.
fn list(store: &Store, catalog: &Catalog, format: ListFormat) -> Result<()> {
    let rows: Vec<serde_json::Value> = catalog
        .models
        .iter()
        .map(|m| {
            let (tps, how) = speed(store, catalog, m, size(store, m));
            serde_json::json!({
                "ram_estimate": ram_estimate(m, size(store, m)),
                "decode_tps": tps.map(|t| dich::util::num::round_to(t, 1)),
                "decode_tps_kind": (!how.is_empty()).then_some(how),
                "name": m.name,
                "role": m.role,
                "default": m.default,
                "architecture": m.architecture,
                "format": m.format,
                "size": size(store, m),
                "license": m.license,
                "state": store.state(m).as_str(),
                "path": store.entry_path(m),
            })
        })
        .collect();
    let text = match format {
        ListFormat::Json => format!("{}\n", serde_json::to_string_pretty(&rows)?),
        ListFormat::Text => {
            let names: Vec<String> = catalog
                .models
                .iter()
                .map(|m| {
                    if m.default {
                        format!("{} (default)", m.name)
                    } else {
                        m.name.clone()
                    }
                })
                .collect();
            let w = names.iter().map(String::len).max().unwrap_or(4);
            let mut t = format!(
                "{:<w$}  {:<10}  {:>8}  {:>8}  {:<22}  {:<10}  {}\n",
                "NAME", "ROLE", "SIZE", "RAM", "DECODE HERE", "STATE", "LICENSE"
            );
            for (m, name) in catalog.models.iter().zip(&names) {
                let bytes = size(store, m);
                let (tps, how) = speed(store, catalog, m, bytes);
                let speed = match tps {
                    Some(t) => format!("{} {t:.1} tok/s", how),
                    None if m.format == registry::ModelFormat::Gguf => "not measured".into(),
                    None => "-".into(),
                };
                t.push_str(&format!(
                    "{:<w$}  {:<10}  {:>8}  {:>8}  {:<22}  {:<10}  {}\n",
                    name,
                    m.role.to_string(),
                    bytes.map_or("unknown".into(), dich::util::progress::human_bytes),
                    ram_estimate(m, bytes).map_or("-".into(), dich::util::progress::human_bytes),
                    speed,
                    store.state(m).as_str(),
                    m.license
                ));
            }
            t
        }
    };
    emit(&text, None)
}

/// `dich models pull NAME`: fetches the model and prints where it is.
fn pull(g: &GlobalArgs, store: &Store, catalog: &Catalog, name: &str) -> Result<()> {
    let m = find(catalog, name)?;
    if g.offline {
        bail!("`dich models pull {name}` needs the network, and --offline is set");
    }
    tracing::info!(
        "pulling {} ({}) into {}",
        m.name,
        registry::progress_size(m),
        store.model_dir(m).display()
    );
    registry::fetch::pull(store, m)?;
    emit(&format!("{}\n", store.entry_path(m).display()), None)
}

/// `dich models path NAME`: where the cached model is.
fn path(store: &Store, catalog: &Catalog, name: &str) -> Result<()> {
    let m = find(catalog, name)?;
    let path = store.entry_path(m);
    if store.state(m) != registry::CacheState::Cached {
        bail!(
            "model `{name}` is not cached (expected at {}); run `dich models pull {name}`",
            path.display()
        );
    }
    emit(&format!("{}\n", path.display()), None)
}

/// `dich models verify [NAME]`: re-hashes the cached files of one model, or
/// of every model (where a file that is not cached is no failure).
fn verify(store: &Store, catalog: &Catalog, name: Option<&str>) -> Result<()> {
    let targets: Vec<_> = match name {
        Some(n) => vec![find(catalog, n)?],
        None => catalog.models.iter().collect(),
    };
    let mut bad = 0;
    let mut report = String::new();
    for m in targets {
        for slot in m.slots() {
            let line = match store.present(m, &slot) {
                Some(f) => match store.verify_file(m, f, true) {
                    Ok(_) => format!("{}\t{}\tok\n", m.name, f.name),
                    Err(e) => {
                        bad += 1;
                        format!("{}\t{}\tFAILED: {e}\n", m.name, f.name)
                    }
                },
                None if slot.optional => {
                    format!("{}\t{}\tnot cached (optional)\n", m.name, slot.name())
                }
                None => {
                    if name.is_some() {
                        bad += 1;
                    }
                    format!("{}\t{}\tnot cached\n", m.name, slot.name())
                }
            };
            report.push_str(&line);
        }
    }
    emit(&report, None)?;
    if bad > 0 {
        bail!("{bad} file(s) failed verification");
    }
    Ok(())
}
