//! Reading a batch's input: a JSONL file (or stdin) of
//! `{"id": ..., "text": ..., "lang": optional, ...}` records, or a directory
//! of `.txt` files (id = the relative path).
//!
//! Every input record becomes a [`Record`]; a record that cannot be used
//! (bad JSON, no id, empty text, ...) carries a [`RecordError`] naming the
//! line and what is wrong, so the run reports it and goes on.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::types::Lang;

/// What a failed record says: a stable `kind` for programs and a message
/// for people. Kinds: `bad-json`, `not-object`, `missing-id`, `bad-id`,
/// `duplicate-id`, `missing-text`, `bad-text`, `invalid-utf8`, `empty-text`,
/// `too-long`, `bad-lang`, `nothing-to-translate`, `nothing-to-summarize`,
/// `failed` (the model run failed), `internal` (a bug in dich).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordError {
    pub kind: String,
    pub message: String,
}

impl RecordError {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        Self {
            kind: kind.to_string(),
            message: message.into(),
        }
    }
}

/// Where the input came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    Jsonl,
    Dir,
    Stdin,
}

/// One input record, usable or not.
#[derive(Debug, Clone)]
pub struct Record {
    /// The record's identity in outputs: `id:<id>` for a record with a
    /// usable id seen for the first time, `line:<n>` for one without
    /// (bad JSON, missing id) or with an id already taken.
    pub key: String,
    /// The id as given (a string or an integer), if there is a usable one.
    pub id: Option<Value>,
    /// 1-based line number in a JSONL input.
    pub line: Option<usize>,
    /// Input order (0-based), used to sort outputs.
    pub order: usize,
    /// Fields other than id, text and lang, passed through to the output.
    pub fields: Map<String, Value>,
    pub work: std::result::Result<Work, RecordError>,
}

/// A usable record: its text and language (if given).
#[derive(Debug, Clone)]
pub struct Work {
    pub text: String,
    pub lang: Option<Lang>,
}

impl Record {
    /// How the record is named in messages: `line 7 (id "a-1")`.
    pub fn label(&self) -> String {
        let id = self.id.as_ref().map(id_string);
        match (self.line, id) {
            (Some(l), Some(id)) => format!("line {l} (id {id:?})"),
            (Some(l), None) => format!("line {l}"),
            (None, Some(id)) => format!("{id:?}"),
            (None, None) => format!("record {}", self.order + 1),
        }
    }
}

/// All records of an input, with a fingerprint of its bytes.
#[derive(Debug)]
pub struct BatchInput {
    pub name: String,
    pub kind: InputKind,
    pub sha256: String,
    /// Shared, so that the workers of a batched run can read them while
    /// the run writes its journal.
    pub records: std::sync::Arc<Vec<Record>>,
}

/// The canonical text of an id: a string as is, an integer in decimal.
pub fn id_string(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn id_key(id: &Value) -> String {
    format!("id:{}", id_string(id))
}

pub fn line_key(line: usize) -> String {
    format!("line:{line}")
}

/// Reads `spec`: `-` (JSONL on stdin), a directory, or a JSONL file.
pub fn read(spec: &str, max_chars: usize) -> Result<BatchInput> {
    if spec == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("<stdin>", e))?;
        return Ok(parse_jsonl("<stdin>", InputKind::Stdin, &bytes, max_chars));
    }
    let path = Path::new(spec);
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        read_dir(path, max_chars)
    } else {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Ok(parse_jsonl(spec, InputKind::Jsonl, &bytes, max_chars))
    }
}

/// Splits JSONL bytes into records. Blank lines are not records.
pub fn parse_jsonl(name: &str, kind: InputKind, bytes: &[u8], max_chars: usize) -> BatchInput {
    let sha256 = hex(&Sha256::digest(bytes));
    let mut records = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut offset = 0usize;
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_start = offset;
        offset += raw.len() + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let line = i + 1;
        let mut rec = parse_line(raw, line, line_start, max_chars);
        rec.order = records.len();
        if let Some(id) = &rec.id {
            let key = id_key(id);
            if let Some(first) = seen.get(&key) {
                rec.key = line_key(line);
                rec.work = Err(RecordError::new(
                    "duplicate-id",
                    format!(
                        "line {line}: id {:?} was already used on line {first}; this record is not processed",
                        id_string(id)
                    ),
                ));
            } else {
                seen.insert(key.clone(), line);
                rec.key = key;
            }
        }
        records.push(rec);
    }
    BatchInput {
        name: name.to_string(),
        kind,
        sha256,
        records: records.into(),
    }
}

fn parse_line(raw: &[u8], line: usize, line_start: usize, max_chars: usize) -> Record {
    let mut rec = Record {
        key: line_key(line),
        id: None,
        line: Some(line),
        order: 0,
        fields: Map::new(),
        work: Err(RecordError::new("internal", "unparsed")),
    };
    let work = parse_fields(&mut rec, raw, line, line_start, max_chars);
    rec.work = work;
    rec
}

/// Fills in `rec`'s id and extra fields from the line, as far as they can be
/// read, and returns its work or what is wrong with it.
fn parse_fields(
    rec: &mut Record,
    raw: &[u8],
    line: usize,
    line_start: usize,
    max_chars: usize,
) -> std::result::Result<Work, RecordError> {
    let (mut obj, bad_utf8) = parse_object(raw, line, line_start)?;
    let id = obj.remove("id");
    let text = obj.remove("text");
    let lang = obj.remove("lang");
    rec.fields = obj;
    rec.id = Some(parse_id(id, line)?);
    if let Some(at) = bad_utf8 {
        return Err(RecordError::new(
            "invalid-utf8",
            format!("line {line}: not valid UTF-8 at byte offset {at} of the input"),
        ));
    }
    let text = parse_text(text, line)?;
    let lang = parse_lang(lang, line)?;
    check_text(text, &format!("line {line}"), max_chars).map(|text| Work { text, lang })
}

/// The line as a JSON object, and the input byte offset of its first invalid
/// UTF-8 byte if it has one.
fn parse_object(
    raw: &[u8],
    line: usize,
    line_start: usize,
) -> std::result::Result<(Map<String, Value>, Option<usize>), RecordError> {
    // Invalid UTF-8 is reported with its byte offset; the record is still
    // read with replacement characters so that its id can be named.
    let (text, bad_utf8) = match std::str::from_utf8(raw) {
        Ok(t) => (std::borrow::Cow::Borrowed(t), None),
        Err(e) => (
            String::from_utf8_lossy(raw),
            Some(line_start + e.valid_up_to()),
        ),
    };
    let value: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let message = match bad_utf8 {
                Some(at) => {
                    format!("line {line}: not valid UTF-8 at byte offset {at} of the input")
                }
                None => format!("line {line}: invalid JSON at column {}: {e}", e.column()),
            };
            let kind = if bad_utf8.is_some() {
                "invalid-utf8"
            } else {
                "bad-json"
            };
            return Err(RecordError::new(kind, message));
        }
    };
    let Value::Object(obj) = value else {
        return Err(RecordError::new(
            "not-object",
            format!(
                "line {line}: a record must be a JSON object with `id` and `text`, found {}",
                json_type(&value)
            ),
        ));
    };
    Ok((obj, bad_utf8))
}

/// The record's `id`: a non-empty string or an integer.
fn parse_id(id: Option<Value>, line: usize) -> std::result::Result<Value, RecordError> {
    match id {
        None | Some(Value::Null) => Err(RecordError::new(
            "missing-id",
            format!("line {line}: the record has no `id`"),
        )),
        Some(v @ Value::String(_)) if v.as_str().is_some_and(|s| !s.trim().is_empty()) => Ok(v),
        Some(v @ Value::Number(_)) if v.is_i64() || v.is_u64() => Ok(v),
        Some(v) => Err(RecordError::new(
            "bad-id",
            format!(
                "line {line}: `id` must be a non-empty string or an integer, found {}",
                json_type(&v)
            ),
        )),
    }
}

/// The record's `text`, which must be a string.
fn parse_text(text: Option<Value>, line: usize) -> std::result::Result<String, RecordError> {
    match text {
        Some(Value::String(t)) => Ok(t),
        None | Some(Value::Null) => Err(RecordError::new(
            "missing-text",
            format!("line {line}: the record has no `text`"),
        )),
        Some(v) => Err(RecordError::new(
            "bad-text",
            format!(
                "line {line}: `text` must be a string, found {}",
                json_type(&v)
            ),
        )),
    }
}

/// The record's optional `lang`: `vi`, `en`, or `auto` (the same as none).
fn parse_lang(lang: Option<Value>, line: usize) -> std::result::Result<Option<Lang>, RecordError> {
    match lang {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(code)) if code == "auto" => Ok(None),
        Some(Value::String(code)) => match Lang::parse(&code) {
            Some(l) => Ok(Some(l)),
            None => Err(RecordError::new(
                "bad-lang",
                format!("line {line}: `lang` {code:?} is not vi, en or auto"),
            )),
        },
        Some(v) => Err(RecordError::new(
            "bad-lang",
            format!(
                "line {line}: `lang` must be a string, found {}",
                json_type(&v)
            ),
        )),
    }
}

/// The checks every text gets, from a JSONL record or a file.
fn check_text(
    text: String,
    at: &str,
    max_chars: usize,
) -> std::result::Result<String, RecordError> {
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(RecordError::new(
            "empty-text",
            format!("{at}: the text is empty or only whitespace"),
        ));
    }
    if let Some(offset) = text.bytes().position(|b| b == 0) {
        return Err(RecordError::new(
            "bad-text",
            format!("{at}: the text contains a NUL character at byte offset {offset}"),
        ));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(RecordError::new(
            "too-long",
            format!("{at}: the text has {chars} characters, more than --max-chars {max_chars}"),
        ));
    }
    Ok(text)
}

/// Every `.txt` file under `dir` (recursively, hidden entries skipped), in
/// byte order of their relative paths; the id is the relative path with `/`.
fn read_dir(dir: &Path, max_chars: usize) -> Result<BatchInput> {
    let mut files = Vec::new();
    collect_txt(dir, dir, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    let mut records = Vec::new();
    for (order, (rel, path)) in files.into_iter().enumerate() {
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        hasher.update(rel.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
        let id = Value::String(rel.clone());
        let work = match String::from_utf8(bytes) {
            Ok(text) => check_text(text, &rel, max_chars).map(|text| Work { text, lang: None }),
            Err(e) => Err(RecordError::new(
                "invalid-utf8",
                format!(
                    "{rel}: not valid UTF-8 at byte offset {}",
                    e.utf8_error().valid_up_to()
                ),
            )),
        };
        records.push(Record {
            key: id_key(&id),
            id: Some(id),
            line: None,
            order,
            fields: Map::new(),
            work,
        });
    }
    Ok(BatchInput {
        name: dir.display().to_string(),
        kind: InputKind::Dir,
        sha256: hex(&hasher.finalize()),
        records: records.into(),
    })
}

fn collect_txt(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        // Follows symlinks: a linked file or directory counts as its target.
        let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        if meta.is_dir() {
            collect_txt(root, &path, out)?;
        } else if meta.is_file() && path.extension().is_some_and(|e| e == "txt") {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push((rel.join("/"), path));
        }
    }
    Ok(())
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &BatchInput) -> Vec<(String, String)> {
        input
            .records
            .iter()
            .map(|r| {
                (
                    r.key.clone(),
                    match &r.work {
                        Ok(_) => "ok".to_string(),
                        Err(e) => e.kind.clone(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn every_kind_of_bad_record_is_reported_with_its_line() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(
            b"{\"id\": \"a\", \"text\": \"Xin ch\xc3\xa0o.\", \"src\": \"x\"}\n",
        );
        bytes.extend_from_slice(b"\n");
        bytes.extend_from_slice(b"{\"id\": 7, \"text\": \"Hello.\", \"lang\": \"en\"}\r\n");
        bytes.extend_from_slice(b"{\"id\": \"b\", \"text\": \n");
        bytes.extend_from_slice(b"[1, 2]\n");
        bytes.extend_from_slice(b"{\"text\": \"no id\"}\n");
        bytes.extend_from_slice(b"{\"id\": 1.5, \"text\": \"x\"}\n");
        bytes.extend_from_slice(b"{\"id\": \"a\", \"text\": \"again\"}\n");
        bytes.extend_from_slice(b"{\"id\": \"c\"}\n");
        bytes.extend_from_slice(b"{\"id\": \"d\", \"text\": 5}\n");
        bytes.extend_from_slice(b"{\"id\": \"e\", \"text\": \"H\xc3\x80\xff\"}\n");
        bytes.extend_from_slice(b"{\"id\": \"f\", \"text\": \"  \\n \"}\n");
        bytes.extend_from_slice(b"{\"id\": \"g\", \"text\": \"0123456789a\"}\n");
        bytes.extend_from_slice(b"{\"id\": \"h\", \"text\": \"x\", \"lang\": \"fr\"}\n");
        bytes.extend_from_slice(b"{\"id\": \"i\", \"text\": \"a\\u0000b\"}\n");
        bytes.extend_from_slice(b"{\"id\": \"j\", \"text\": \"cu\xe1\xbb\x91i\"}");
        let input = parse_jsonl("in.jsonl", InputKind::Jsonl, &bytes, 10);
        let got = kinds(&input);
        let want = [
            ("id:a", "ok"),
            ("id:7", "ok"),
            ("line:4", "bad-json"),
            ("line:5", "not-object"),
            ("line:6", "missing-id"),
            ("line:7", "bad-id"),
            ("line:8", "duplicate-id"),
            ("id:c", "missing-text"),
            ("id:d", "bad-text"),
            ("id:e", "invalid-utf8"),
            ("id:f", "empty-text"),
            ("id:g", "too-long"),
            ("id:h", "bad-lang"),
            ("id:i", "bad-text"),
            ("id:j", "ok"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
        let r = &input.records[0];
        assert_eq!(r.fields.get("src"), Some(&Value::String("x".into())));
        assert_eq!(r.work.as_ref().unwrap().text, "Xin chào.");
        assert_eq!(input.records[1].work.as_ref().unwrap().lang, Some(Lang::En));
        // The invalid byte: line 11 starts after the first ten lines.
        let e = input.records[9].work.as_ref().unwrap_err();
        let line11 = bytes
            .split(|&b| b == b'\n')
            .take(10)
            .map(|l| l.len() + 1)
            .sum::<usize>();
        let at = line11 + bytes[line11..].iter().position(|&b| b == 0xff).unwrap();
        assert_eq!(
            e.message,
            format!("line 11: not valid UTF-8 at byte offset {at} of the input")
        );
        let e = input.records[6].work.as_ref().unwrap_err();
        assert!(
            e.message.contains("already used on line 1"),
            "{}",
            e.message
        );
        assert_eq!(input.records[6].id, Some(Value::String("a".into())));
        let e = input.records[11].work.as_ref().unwrap_err();
        assert!(e
            .message
            .contains("11 characters, more than --max-chars 10"));
        // Orders are 0.. over non-blank lines; lines are 1-based file lines.
        assert_eq!(input.records[2].line, Some(4));
        assert_eq!(input.records[14].order, 14);
    }

    #[test]
    fn a_directory_of_text_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub/deeper")).unwrap();
        std::fs::create_dir_all(dir.path().join(".hidden")).unwrap();
        std::fs::write(dir.path().join("b.txt"), "Một.").unwrap();
        std::fs::write(dir.path().join("a.txt"), "Hai.").unwrap();
        std::fs::write(dir.path().join("sub/deeper/c.txt"), b"\xff").unwrap();
        std::fs::write(dir.path().join("sub/notes.md"), "skip").unwrap();
        std::fs::write(dir.path().join(".hidden/d.txt"), "skip").unwrap();
        std::fs::write(dir.path().join("empty.txt"), "").unwrap();
        let input = read(dir.path().to_str().unwrap(), 100).unwrap();
        assert_eq!(input.kind, InputKind::Dir);
        let got = kinds(&input);
        assert_eq!(
            got,
            vec![
                ("id:a.txt".to_string(), "ok".to_string()),
                ("id:b.txt".into(), "ok".into()),
                ("id:empty.txt".into(), "empty-text".into()),
                ("id:sub/deeper/c.txt".into(), "invalid-utf8".into()),
            ]
        );
        let again = read(dir.path().to_str().unwrap(), 100).unwrap();
        assert_eq!(input.sha256, again.sha256);
        std::fs::write(dir.path().join("b.txt"), "Ba.").unwrap();
        let changed = read(dir.path().to_str().unwrap(), 100).unwrap();
        assert_ne!(input.sha256, changed.sha256);
    }
}
