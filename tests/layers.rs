//! The library's layers depend one way. Each top-level module of `src/`
//! has a layer (the table below, as in `src/lib.rs` and the README); a file
//! may use modules of lower layers and its own module only. Within the
//! library no two files depend on each other in a cycle, the command-line
//! crates (clap, anyhow) stay out of it, and no library source names a
//! command-line flag outside the few places listed.
//!
//! `cargo test --test layers -- --nocapture` prints the dependencies
//! between top-level modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules and their layers, lowest first.
const LAYERS: &[(&str, u8)] = &[
    ("types", 0),
    ("util", 0),
    ("text", 1),
    ("input", 1),
    ("render", 1),
    ("kernels", 1),
    ("format", 2),
    ("metrics", 2),
    ("registry", 3),
    ("model", 3),
    ("decode", 4),
    ("error", 5),
    ("translate", 6),
    ("align", 6),
    ("summarize", 7),
    ("eval", 7),
    ("batch", 8),
    ("bench", 8),
];

/// Library files allowed to spell a `--flag`, and why.
const FLAG_MENTIONS: &[(&str, &str)] = &[
    // Arguments of `python3 -m pip download`.
    ("registry/fetch/pypi.rs", "pip's own flags"),
    // `cargo build --features cuda` in the device error.
    ("model/device.rs", "cargo's --features"),
    // Part of the output records' error text: changing it changes outputs.
    ("batch/input.rs", "the too-long record message"),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every library source file (not the binary's `main.rs` and `cli/`).
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let rel = p.strip_prefix(src()).unwrap().to_path_buf();
        if rel == Path::new("main.rs") || rel.starts_with("cli") {
            continue;
        }
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` -> `["a", "b"]`; `src/lib.rs` -> `[]`.
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The code of a file without comment lines (doc links may name anything).
fn code(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The module paths a file refers to: `crate::a::b::...` (also inside
/// `crate::{...}` groups) and `super::...`, resolved against `me`.
fn references(code: &str, me: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let text: String = bytes.iter().collect();
    // Paths start after a non-identifier character.
    let mut i = 0;
    while i < bytes.len() {
        let at_start = i == 0 || !(ident_char(bytes[i - 1]) || bytes[i - 1] == ':');
        if at_start && text[char_offset(&text, i)..].starts_with("crate::") {
            i += "crate::".len();
            out.extend(path_group(&bytes, &mut i, Vec::new()));
            continue;
        }
        if at_start && text[char_offset(&text, i)..].starts_with("super::") {
            // `super` of module `a::b` (file a/b.rs or a/b/mod.rs) is `a`.
            let mut base: Vec<String> = me.to_vec();
            while text[char_offset(&text, i)..].starts_with("super::") {
                base.pop();
                i += "super::".len();
            }
            out.extend(path_group(&bytes, &mut i, base));
            continue;
        }
        i += 1;
    }
    out
}

fn char_offset(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(b, _)| b)
}

/// Reads `a::b::c` or `a::{b, c::d}` at `i` after `prefix`.
fn path_group(s: &[char], i: &mut usize, prefix: Vec<String>) -> Vec<Vec<String>> {
    let mut path = prefix;
    loop {
        if *i < s.len() && s[*i] == '{' {
            *i += 1;
            let mut out = Vec::new();
            loop {
                while *i < s.len() && (s[*i].is_whitespace() || s[*i] == ',') {
                    *i += 1;
                }
                if *i >= s.len() || s[*i] == '}' {
                    *i += 1;
                    return out;
                }
                let before = *i;
                out.extend(path_group(s, i, path.clone()));
                if *i == before {
                    *i += 1;
                }
            }
        }
        let start = *i;
        while *i < s.len() && ident_char(s[*i]) {
            *i += 1;
        }
        if *i == start {
            return vec![path];
        }
        let word: String = s[start..*i].iter().collect();
        if word != "self" {
            path.push(word);
        }
        if *i + 1 < s.len() && s[*i] == ':' && s[*i + 1] == ':' {
            *i += 2;
        } else {
            return vec![path];
        }
    }
}

struct Crate {
    /// Module path of each file, and the modules each refers to.
    uses: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
    texts: BTreeMap<Vec<String>, (PathBuf, String)>,
}

fn scan() -> Crate {
    let mut list = Vec::new();
    files(&src(), &mut list);
    let modules: BTreeSet<Vec<String>> = list.iter().map(|f| module_path(f)).collect();
    let mut uses = BTreeMap::new();
    let mut texts = BTreeMap::new();
    for f in &list {
        let me = module_path(f);
        let text = std::fs::read_to_string(f).unwrap();
        let refs: BTreeSet<Vec<String>> = references(&code(&text), &me)
            .into_iter()
            // The longest known module that prefixes the path.
            .filter_map(|p| {
                (0..=p.len())
                    .rev()
                    .map(|n| p[..n].to_vec())
                    .find(|m| modules.contains(m))
            })
            .filter(|m| !m.is_empty() && *m != me)
            .collect();
        uses.insert(me.clone(), refs);
        texts.insert(me, (f.clone(), text));
    }
    Crate { uses, texts }
}

fn layer(top: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(m, _)| *m == top)
        .map(|(_, l)| *l)
        .unwrap_or_else(|| panic!("module `{top}` is missing from LAYERS in tests/layers.rs"))
}

#[test]
fn every_top_level_module_has_a_layer() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    let listed: BTreeSet<&str> = LAYERS.iter().map(|(m, _)| *m).collect();
    assert_eq!(declared, listed);
}

#[test]
fn modules_use_only_lower_layers() {
    let c = scan();
    let mut bad = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (me, refs) in &c.uses {
        let Some(top) = me.first() else { continue };
        for r in refs {
            let other = &r[0];
            if other == top {
                continue;
            }
            edges.entry(top.clone()).or_default().insert(other.clone());
            if layer(other) >= layer(top) {
                bad.push(format!(
                    "{} (layer {}) uses {} (layer {})",
                    me.join("::"),
                    layer(top),
                    r.join("::"),
                    layer(other)
                ));
            }
        }
    }
    for (top, lower) in &edges {
        println!(
            "{top} (layer {}) -> {}",
            layer(top),
            lower.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    assert!(
        bad.is_empty(),
        "upward or sideways imports:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_file_depends_on_itself_through_others() {
    let c = scan();
    // Edges to an ancestor module (a child using what its parent declares)
    // are how Rust modules are built; every other edge counts.
    let graph: BTreeMap<&Vec<String>, Vec<&Vec<String>>> = c
        .uses
        .iter()
        .map(|(m, refs)| (m, refs.iter().filter(|r| !m.starts_with(r)).collect()))
        .collect();
    // Depth-first search with colours: grey on the stack, black done.
    let mut colour: BTreeMap<&Vec<String>, u8> = BTreeMap::new();
    let mut cycles = Vec::new();
    fn visit<'a>(
        m: &'a Vec<String>,
        graph: &BTreeMap<&'a Vec<String>, Vec<&'a Vec<String>>>,
        colour: &mut BTreeMap<&'a Vec<String>, u8>,
        stack: &mut Vec<&'a Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        colour.insert(m, 1);
        stack.push(m);
        for &n in graph.get(m).into_iter().flatten() {
            match colour.get(n).copied().unwrap_or(0) {
                0 => visit(n, graph, colour, stack, cycles),
                1 => {
                    let from = stack.iter().position(|s| *s == n).unwrap_or(0);
                    let names: Vec<String> = stack[from..]
                        .iter()
                        .chain(std::iter::once(&n))
                        .map(|s| s.join("::"))
                        .collect();
                    cycles.push(names.join(" -> "));
                }
                _ => {}
            }
        }
        stack.pop();
        colour.insert(m, 2);
    }
    for m in graph.keys() {
        if colour.get(m).copied().unwrap_or(0) == 0 {
            visit(m, &graph, &mut colour, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(
        cycles.is_empty(),
        "dependency cycles:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_library_knows_no_command_line() {
    let c = scan();
    let mut bad = Vec::new();
    for (me, (path, text)) in &c.texts {
        let rel = path.strip_prefix(src()).unwrap().display().to_string();
        let code = code(text);
        for krate in ["clap::", "anyhow::"] {
            if code.contains(krate) {
                bad.push(format!("{rel}: uses {krate}"));
            }
        }
        if FLAG_MENTIONS.iter().any(|(f, _)| *f == rel) {
            continue;
        }
        // Unit tests may spell flags in their names and data.
        let code = code.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            let spells_flag = line.match_indices("--").any(|(i, _)| {
                let after = line[i + 2..].chars().next();
                let before = line[..i].chars().last();
                after.is_some_and(|c| c.is_ascii_lowercase())
                    && matches!(before, Some(' ' | '"' | '`'))
                    && line[..i].contains('"')
            });
            if spells_flag {
                bad.push(format!(
                    "{rel}:{}: {} ({})",
                    n + 1,
                    line.trim(),
                    me.join("::")
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "the command line leaks into the library:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_scanner_reads_grouped_and_relative_paths() {
    let me = vec![
        "translate".to_string(),
        "llm".to_string(),
        "lanes".to_string(),
    ];
    let refs = references(
        "use crate::{types::{Lang, Segment}, util::num};\nuse super::super::check;\nlet x = crate::model::batcher::Batcher::new();",
        &me,
    );
    let joined: Vec<String> = refs.iter().map(|r| r.join("::")).collect();
    assert!(joined.contains(&"types::Lang".to_string()), "{joined:?}");
    assert!(joined.contains(&"util::num".to_string()), "{joined:?}");
    assert!(
        joined.contains(&"translate::check".to_string()),
        "{joined:?}"
    );
    assert!(
        joined.contains(&"model::batcher::Batcher::new".to_string()),
        "{joined:?}"
    );
}
