//! The output of a batch run, safe against crashes and kills.
//!
//! Design (write-ahead log + atomic rename):
//!
//! - Finished records are appended to `OUT.part`, one whole line per
//!   `write`, each followed by `fdatasync`. A `kill -9` can leave only a
//!   partial *last* line there, which the next run drops (that record is
//!   redone).
//! - `OUT` itself is only ever replaced by `rename(2)` of a complete, synced
//!   temporary file: at checkpoints and at the end of a run, `OUT` is
//!   rewritten as its old records plus the part's, sorted in input order,
//!   and the part is emptied. A crash between the rename and the emptying
//!   leaves records in both; they are the same bytes and are counted once.
//!   So `OUT` never holds a half-written line, whenever the process dies.
//! - The part file is also the run's lock (`flock`), so two processes
//!   cannot write the same output.
//! - An `OUT` whose last line is truncated (written by something else, or
//!   cut by a full disk or a copy) is repaired with a warning: the partial
//!   line is moved to `OUT.rejected` and its record is redone. A bad line
//!   elsewhere in `OUT` stops the run: that is not a truncation, and
//!   guessing could lose data.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::input::{id_key, line_key};
use crate::error::{Error, Result};
use crate::input::InputError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Src {
    Out,
    Part,
}

#[derive(Debug, Clone)]
struct Entry {
    src: Src,
    offset: u64,
    /// Bytes of the line, including its newline.
    len: usize,
    failed: bool,
    /// Position in the file it was read from (keeps unknown keys stable).
    seq: usize,
}

/// What opening an existing output found.
#[derive(Debug, Default, Clone)]
pub struct Recovery {
    /// Records already finished (in OUT or recovered from the part file).
    pub finished: usize,
    /// Of those, records that are errors.
    pub failed: usize,
    /// Records recovered from the part file of an interrupted run.
    pub from_part: usize,
    /// A partial line dropped from the part file (an interrupted write).
    pub dropped_partial: bool,
    /// Failed records dropped so that they are run again (`--retry-failed`).
    pub retried: usize,
    /// Messages for the user (already logged as warnings).
    pub warnings: Vec<String>,
}

pub struct Journal {
    out: PathBuf,
    part: PathBuf,
    rejected: PathBuf,
    part_file: File,
    part_len: u64,
    entries: HashMap<String, Entry>,
    next_seq: usize,
}

/// `OUT` + suffix: `out.jsonl` -> `out.jsonl.part`.
pub fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The key of an output record: `id:<id>`, or `line:<n>` for a record
/// without a usable id or whose id was a duplicate. `None` if the line is
/// not a batch record.
pub fn record_key(v: &Value) -> Option<(String, bool)> {
    let obj = v.as_object()?;
    let error_kind = obj
        .get("error")
        .and_then(|e| e.get("kind"))
        .and_then(Value::as_str);
    let failed = obj.get("error").is_some_and(|e| !e.is_null());
    let line = obj.get("line").and_then(Value::as_u64);
    let key = match obj.get("id")? {
        Value::Null => line_key(line? as usize),
        id @ (Value::String(_) | Value::Number(_)) => {
            if error_kind == Some("duplicate-id") {
                line_key(line? as usize)
            } else {
                id_key(id)
            }
        }
        _ => return None,
    };
    Some((key, failed))
}

/// One line of a JSONL file: where it starts, its bytes without the
/// newline, and whether it had one.
struct Line {
    number: usize,
    offset: u64,
    bytes: Vec<u8>,
    terminated: bool,
}

/// The lines of a file, read as a stream (outputs can be large).
struct Lines {
    r: std::io::BufReader<File>,
    path: PathBuf,
    offset: u64,
    number: usize,
}

impl Lines {
    /// `None` when the file does not exist.
    fn open(path: &Path) -> Result<Option<Lines>> {
        match File::open(path) {
            Ok(f) => Ok(Some(Lines {
                r: std::io::BufReader::new(f),
                path: path.to_path_buf(),
                offset: 0,
                number: 0,
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }
}

impl Iterator for Lines {
    type Item = Result<Line>;

    fn next(&mut self) -> Option<Result<Line>> {
        use std::io::BufRead;
        let mut bytes = Vec::new();
        match self.r.read_until(b'\n', &mut bytes) {
            Ok(0) => None,
            Ok(n) => {
                self.number += 1;
                let offset = self.offset;
                self.offset += n as u64;
                let terminated = bytes.last() == Some(&b'\n');
                if terminated {
                    bytes.pop();
                }
                Some(Ok(Line {
                    number: self.number,
                    offset,
                    bytes,
                    terminated,
                }))
            }
            Err(e) => Some(Err(Error::io(&self.path, e))),
        }
    }
}

fn parse_record(bytes: &[u8]) -> Option<(String, bool)> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    record_key(&v)
}

impl Journal {
    /// Opens (creating if needed) the output `out` for a run: takes the
    /// lock, reads what earlier runs finished, repairs a truncated last
    /// line, folds an interrupted run's part file into `out`, and (with
    /// `retry_failed`) drops failed records so they run again. `order` maps
    /// record keys to input order, for sorting.
    pub fn open(
        out: &Path,
        order: &HashMap<String, usize>,
        retry_failed: bool,
    ) -> Result<(Journal, Recovery)> {
        let part = sibling(out, ".part");
        let rejected = sibling(out, ".rejected");
        let part_file = lock(&part)?;
        let mut journal = Journal {
            out: out.to_path_buf(),
            part,
            rejected,
            part_file,
            part_len: 0,
            entries: HashMap::new(),
            next_seq: 0,
        };
        let mut rec = Recovery::default();
        let mut dirty = journal.load_out(&mut rec)?;
        dirty |= journal.load_part(&mut rec)?;
        // Anything left in the part (even records already in OUT) is folded
        // in and the part emptied.
        dirty |= journal.part_len > 0;

        if retry_failed {
            let before = journal.entries.len();
            journal.entries.retain(|_, e| !e.failed);
            rec.retried = before - journal.entries.len();
            dirty |= rec.retried > 0;
        }
        rec.finished = journal.entries.len();
        rec.failed = journal.entries.values().filter(|e| e.failed).count();
        if dirty {
            journal.checkpoint(order)?;
        }
        Ok((journal, rec))
    }

    /// The consolidated output from earlier runs. Returns whether the
    /// journal needs a checkpoint.
    fn load_out(&mut self, rec: &mut Recovery) -> Result<bool> {
        let mut dirty = false;
        let mut all = Lines::open(&self.out)?.into_iter().flatten().peekable();
        while let Some(l) = all.next() {
            let l = l?;
            let last = all.peek().is_none();
            if l.bytes.iter().all(u8::is_ascii_whitespace) && l.terminated {
                continue;
            }
            match parse_record(&l.bytes) {
                Some((key, failed)) if l.terminated => {
                    self.add_loaded(key, Src::Out, &l, failed, rec);
                }
                parsed if last => {
                    let what = if parsed.is_some() {
                        "has no final newline"
                    } else {
                        "is incomplete"
                    };
                    let msg = format!(
                        "{}: the last line (line {}, byte offset {}) {what}: it was cut off by an earlier writer; moved it to {} and its record will be redone",
                        self.out.display(),
                        l.number,
                        l.offset,
                        self.rejected.display()
                    );
                    tracing::warn!("{msg}");
                    rec.warnings.push(msg);
                    self.reject(&l.bytes)?;
                    dirty = true;
                }
                _ => {
                    return Err(InputError::InvalidDocument {
                        input: self.out.display().to_string(),
                        message: format!(
                            "line {} (byte offset {}) is not a dich batch record (a JSON object with `id`); refusing to resume into this file. Use another output path, or fix or remove that line",
                            l.number, l.offset
                        ),
                    }.into());
                }
            }
        }
        Ok(dirty)
    }

    /// Records an interrupted run finished but did not consolidate. Returns
    /// whether the journal needs a checkpoint.
    fn load_part(&mut self, rec: &mut Recovery) -> Result<bool> {
        let mut dirty = false;
        let mut part_lines = Lines::open(&self.part)?.into_iter().flatten().peekable();
        let mut part_len = 0;
        while let Some(l) = part_lines.next() {
            let l = l?;
            part_len = l.offset + l.bytes.len() as u64 + u64::from(l.terminated);
            let last = part_lines.peek().is_none();
            match parse_record(&l.bytes) {
                Some((key, failed)) if l.terminated => {
                    if self.entries.contains_key(&key) {
                        continue; // consolidated before the part was emptied
                    }
                    self.add_loaded(key, Src::Part, &l, failed, rec);
                    rec.from_part += 1;
                    dirty = true;
                }
                _ if last => {
                    tracing::info!(
                        "{}: dropped a partial record at byte offset {} (a write cut off by the interruption); it will be redone",
                        self.part.display(),
                        l.offset
                    );
                    rec.dropped_partial = true;
                    dirty = true;
                }
                _ => {
                    return Err(InputError::InvalidDocument {
                        input: self.part.display().to_string(),
                        message: format!(
                            "line {} (byte offset {}) is corrupt (not a whole record, and not the last line); move this file away to resume without the records it holds",
                            l.number, l.offset
                        ),
                    }.into());
                }
            }
        }
        self.part_len = part_len;
        Ok(dirty)
    }

    fn add_loaded(&mut self, key: String, src: Src, l: &Line, failed: bool, rec: &mut Recovery) {
        if self.entries.contains_key(&key) {
            let msg = format!(
                "{}: line {} repeats the record `{key}`; the first copy is kept",
                self.out.display(),
                l.number
            );
            tracing::warn!("{msg}");
            rec.warnings.push(msg);
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.insert(
            key,
            Entry {
                src,
                offset: l.offset,
                len: l.bytes.len() + 1,
                failed,
                seq,
            },
        );
    }

    fn reject(&self, bytes: &[u8]) -> Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.rejected)
            .map_err(|e| Error::io(&self.rejected, e))?;
        let mut line = bytes.to_vec();
        line.push(b'\n');
        f.write_all(&line)
            .and_then(|_| f.sync_data())
            .map_err(|e| Error::io(&self.rejected, e))
    }

    pub fn is_done(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn failed(&self) -> usize {
        self.entries.values().filter(|e| e.failed).count()
    }

    /// Appends one finished record (a JSON object on one line) and syncs it
    /// (and any deferred before it) to disk before returning.
    pub fn append(&mut self, key: &str, json_line: &str, failed: bool) -> Result<()> {
        self.append_with(key, json_line, failed, true)
    }

    /// [`Self::append`] without the sync, for records that cost nothing to
    /// make again (input errors): a run killed before the next sync redoes
    /// them. 200,000 of them in a row would otherwise be 200,000 syncs.
    pub fn append_deferred(&mut self, key: &str, json_line: &str, failed: bool) -> Result<()> {
        self.append_with(key, json_line, failed, false)
    }

    fn append_with(&mut self, key: &str, json_line: &str, failed: bool, sync: bool) -> Result<()> {
        if self.entries.contains_key(key) {
            return Err(Error::Internal(format!("record `{key}` written twice")));
        }
        debug_assert!(!json_line.contains('\n'));
        let mut buf = Vec::with_capacity(json_line.len() + 1);
        buf.extend_from_slice(json_line.as_bytes());
        buf.push(b'\n');
        self.part_file
            .write_all(&buf)
            .and_then(|_| {
                if sync {
                    self.part_file.sync_data()
                } else {
                    Ok(())
                }
            })
            .map_err(|e| Error::io(&self.part, e))?;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.insert(
            key.to_string(),
            Entry {
                src: Src::Part,
                offset: self.part_len,
                len: buf.len(),
                failed,
                seq,
            },
        );
        self.part_len += buf.len() as u64;
        Ok(())
    }

    /// Rewrites `OUT` atomically with every finished record, in input order
    /// (records whose key is not in `order` last, in the order they were
    /// written), then empties the part file.
    pub fn checkpoint(&mut self, order: &HashMap<String, usize>) -> Result<()> {
        // Records are copied one by one (memory stays at one record, however
        // large the output).
        // Records lie mostly in file order: each file is read through a
        // buffer, seeking only where the next record is not where the last
        // one ended (a seek per record made 200,000 records take minutes).
        let mut out_file = match File::open(&self.out) {
            Ok(f) => Some(Sequential::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&self.out, e)),
        };
        let mut part_read =
            Sequential::new(File::open(&self.part).map_err(|e| Error::io(&self.part, e))?);
        let mut keys: Vec<(&String, &Entry)> = self.entries.iter().collect();
        keys.sort_by_key(|(k, e)| (order.get(*k).copied().unwrap_or(usize::MAX), e.seq));
        let dir = match self.out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self
            .out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut tmp = crate::util::fs::temp_in(&dir, &format!(".{name}."), ".tmp")
            .map_err(|e| Error::io(&dir, e))?;
        let mut new_entries = HashMap::with_capacity(keys.len());
        let mut offset = 0u64;
        {
            let mut w = std::io::BufWriter::new(tmp.as_file_mut());
            let mut buf = Vec::new();
            for (key, e) in &keys {
                let (file, path) = match e.src {
                    Src::Out => (out_file.as_mut(), &self.out),
                    Src::Part => (Some(&mut part_read), &self.part),
                };
                let file = file.ok_or_else(|| {
                    Error::Internal(format!("record `{key}`: {} is gone", path.display()))
                })?;
                buf.resize(e.len, 0);
                file.read_at(e.offset, &mut buf)
                    .map_err(|err| Error::io(path, err))?;
                if buf.last() != Some(&b'\n') {
                    return Err(Error::Internal(format!(
                        "record `{key}` in {} changed under the run",
                        path.display()
                    )));
                }
                w.write_all(&buf).map_err(|e| Error::io(&self.out, e))?;
                new_entries.insert(
                    (*key).clone(),
                    Entry {
                        src: Src::Out,
                        offset,
                        ..(*e).clone()
                    },
                );
                offset += e.len as u64;
            }
            w.flush().map_err(|e| Error::io(&self.out, e))?;
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(tmp.path(), e))?;
        tmp.persist(&self.out)
            .map_err(|e| Error::io(&self.out, e.error))?;
        sync_dir(&dir);
        self.entries = new_entries;
        self.part_file
            .set_len(0)
            .and_then(|_| self.part_file.sync_all())
            .map_err(|e| Error::io(&self.part, e))?;
        self.part_len = 0;
        Ok(())
    }

    /// The final checkpoint; the part file (and so the lock) goes away.
    pub fn finish(mut self, order: &HashMap<String, usize>) -> Result<()> {
        self.checkpoint(order)?;
        std::fs::remove_file(&self.part).map_err(|e| Error::io(&self.part, e))?;
        Ok(())
    }
}

impl Drop for Journal {
    /// A run that stops on an error before writing anything leaves no empty
    /// part file behind (one with records stays: they are the next run's).
    fn drop(&mut self) {
        if self.part_len == 0 {
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

/// Opens `path` for appending and takes an exclusive lock on it. Re-opens
/// if the file was replaced or removed while we waited, so the lock always
/// belongs to the file at `path`.
/// A file read mostly front to back: `read_at` seeks only when the bytes
/// asked for do not start where the last read ended.
struct Sequential {
    r: std::io::BufReader<File>,
    pos: u64,
}

impl Sequential {
    fn new(f: File) -> Self {
        Self {
            r: std::io::BufReader::with_capacity(1 << 16, f),
            pos: 0,
        }
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        if offset != self.pos {
            self.r.seek(SeekFrom::Start(offset))?;
        }
        self.r.read_exact(buf)?;
        self.pos = offset + buf.len() as u64;
        Ok(())
    }
}

fn lock(path: &Path) -> Result<File> {
    for _ in 0..10 {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::io(
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::WouldBlock,
                        "another dich batch process is writing this output (the file is locked)",
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
        }
        if same_file(&f, path) {
            return Ok(f);
        }
    }
    Err(Error::io(
        path,
        std::io::Error::other("the file keeps being replaced while locking it"),
    ))
}

#[cfg(unix)]
fn same_file(f: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (f.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

/// Makes a rename durable (best effort: not every platform can open a
/// directory).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, n: usize) -> String {
        format!("{{\"id\":\"{id}\",\"line\":{n},\"translation\":\"t{n} ở đây\"}}")
    }

    fn order(ids: &[&str]) -> HashMap<String, usize> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| (format!("id:{id}"), i))
            .collect()
    }

    #[test]
    fn records_are_consolidated_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.jsonl");
        let ord = order(&["a", "b", "c"]);
        let (mut j, r) = Journal::open(&out, &ord, false).unwrap();
        assert_eq!(r.finished, 0);
        j.append("id:c", &rec("c", 3), false).unwrap();
        j.append("id:a", &rec("a", 1), true).unwrap();
        assert!(j.append("id:a", &rec("a", 1), true).is_err());
        j.checkpoint(&ord).unwrap();
        j.append("id:b", &rec("b", 2), false).unwrap();
        assert_eq!(j.failed(), 1);
        j.finish(&ord).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            text,
            format!("{}\n{}\n{}\n", rec("a", 1), rec("b", 2), rec("c", 3))
        );
        assert!(!sibling(&out, ".part").exists());
    }

    #[test]
    fn a_second_writer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.jsonl");
        let (_j, _) = Journal::open(&out, &HashMap::new(), false).unwrap();
        let e = Journal::open(&out, &HashMap::new(), false)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("another dich batch process"), "{e}");
    }

    /// A kill at any byte of a write: the part file holds the earlier
    /// records plus any prefix of the next one. Reopening recovers exactly
    /// the whole records, and OUT never has a partial line.
    #[test]
    fn a_cut_at_every_byte_of_the_part_file_recovers_whole_records() {
        let ord = order(&["a", "b", "c"]);
        let full = format!("{}\n{}\n", rec("b", 2), rec("a", 1));
        let first_len = rec("b", 2).len() + 1;
        for cut in 0..=full.len() {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("o.jsonl");
            std::fs::write(&out, format!("{}\n", rec("c", 3))).unwrap();
            std::fs::write(sibling(&out, ".part"), &full.as_bytes()[..cut]).unwrap();
            let (j, rec_) = Journal::open(&out, &ord, false).unwrap();
            let want = usize::from(cut >= first_len) + usize::from(cut == full.len());
            assert_eq!(rec_.from_part, want, "cut at {cut}");
            assert_eq!(
                rec_.dropped_partial,
                cut != 0 && cut != first_len && cut != full.len()
            );
            assert_eq!(j.len(), 1 + want);
            assert!(j.is_done("id:c"));
            let text = std::fs::read_to_string(&out).unwrap();
            assert!(text.ends_with('\n'));
            for line in text.lines() {
                serde_json::from_str::<Value>(line).unwrap();
            }
            assert_eq!(std::fs::metadata(sibling(&out, ".part")).unwrap().len(), 0);
            assert!(!sibling(&out, ".rejected").exists());
        }
    }

    #[test]
    fn a_truncated_last_line_from_another_writer_is_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.jsonl");
        let whole = format!("{}\n", rec("a", 1));
        let cut = &rec("b", 2)[..17];
        std::fs::write(&out, format!("{whole}{cut}")).unwrap();
        let ord = order(&["a", "b"]);
        let (j, r) = Journal::open(&out, &ord, false).unwrap();
        assert_eq!(r.finished, 1);
        assert!(
            r.warnings[0].contains("line 2, byte offset"),
            "{:?}",
            r.warnings
        );
        assert!(!j.is_done("id:b"));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), whole);
        assert_eq!(
            std::fs::read_to_string(sibling(&out, ".rejected")).unwrap(),
            format!("{cut}\n")
        );
        drop(j);
        // A whole record without its final newline is also cut off (the
        // writer may have stopped before the newline); it is redone.
        std::fs::write(&out, format!("{whole}{}", rec("b", 2))).unwrap();
        let (j, r) = Journal::open(&out, &ord, false).unwrap();
        assert!(r.warnings[0].contains("has no final newline"));
        assert!(!j.is_done("id:b"));
    }

    #[test]
    fn a_bad_line_in_the_middle_stops_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.jsonl");
        std::fs::write(
            &out,
            format!("{}\nnot json\n{}\n", rec("a", 1), rec("b", 2)),
        )
        .unwrap();
        let e = Journal::open(&out, &HashMap::new(), false)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("line 2 (byte offset"), "{e}");
        // The file is left as it was.
        assert!(std::fs::read_to_string(&out).unwrap().contains("not json"));
    }

    #[test]
    fn retry_failed_drops_error_records() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.jsonl");
        let bad = "{\"id\":\"b\",\"line\":2,\"error\":{\"kind\":\"failed\",\"message\":\"x\"}}";
        let dup =
            "{\"id\":\"a\",\"line\":3,\"error\":{\"kind\":\"duplicate-id\",\"message\":\"x\"}}";
        std::fs::write(&out, format!("{}\n{bad}\n{dup}\n", rec("a", 1))).unwrap();
        let ord = order(&["a", "b"]);
        let (j, r) = Journal::open(&out, &ord, false).unwrap();
        assert_eq!((r.finished, r.failed), (3, 2));
        assert!(j.is_done("line:3"));
        drop(j);
        let (j, r) = Journal::open(&out, &ord, true).unwrap();
        assert_eq!((r.finished, r.retried), (1, 2));
        assert!(!j.is_done("id:b"));
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            format!("{}\n", rec("a", 1))
        );
    }
}
