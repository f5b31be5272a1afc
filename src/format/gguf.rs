//! Opening a GGUF file with checks that turn bad files into clear errors: not
//! a GGUF at all, truncated (a tensor reaching past the end of the file), a
//! split model with a part missing or out of place, or an architecture we
//! have no implementation for.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::GgmlDType;

use crate::util::bytes::Bytes;

use super::{candle_root, FormatError, Result};

/// One GGUF model: a single file, or the parts of a split model
/// (`name-00001-of-00003.gguf`, llama.cpp's `gguf-split`), read as one.
pub struct GgufFile {
    /// The file named by the user (the first part of a split model).
    pub path: PathBuf,
    /// The first part's header: all metadata lives there.
    pub content: Content,
    reader: BufReader<File>,
    /// Parts after the first, with their own headers and readers.
    rest: Vec<Part>,
    /// Which part holds a tensor (0 = the first), for split models.
    index: HashMap<String, usize>,
    /// Each part's memory map (first part first), made on first use.
    maps: Vec<Option<Arc<memmap2::Mmap>>>,
}

struct Part {
    path: PathBuf,
    content: Content,
    reader: BufReader<File>,
}

/// `(stem, number, count)` of a split part's file name
/// (`stem-00002-of-00003.gguf` -> `("stem", 2, 3)`).
pub fn split_name(path: &Path) -> Option<(String, usize, usize)> {
    let name = path.file_name()?.to_str()?;
    let base = name.strip_suffix(".gguf")?;
    let (rest, count) = base.rsplit_once("-of-")?;
    let (stem, no) = rest.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(no) || !digits(count) {
        return None;
    }
    let (no, count) = (no.parse().ok()?, count.parse().ok()?);
    (no >= 1 && no <= count).then(|| (stem.to_string(), no, count))
}

/// The file name of part `no` of `count`.
pub fn split_part_name(stem: &str, no: usize, count: usize) -> String {
    format!("{stem}-{no:05}-of-{count:05}.gguf")
}

/// Opens one GGUF file and checks that every tensor lies inside it.
fn open_one(path: &Path) -> Result<(Content, BufReader<File>)> {
    let file = File::open(path).map_err(|e| FormatError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| FormatError::io(path, e))?.len();
    let mut reader = BufReader::new(file);
    if alignment_is_zero(&mut reader) {
        return Err(FormatError::InvalidModel {
            path: path.to_path_buf(),
            message: "cannot read the GGUF header: metadata key `general.alignment` is 0".into(),
        });
    }
    reader.rewind().map_err(|e| FormatError::io(path, e))?;
    let content = Content::read(&mut reader).map_err(|e| FormatError::InvalidModel {
        path: path.to_path_buf(),
        message: format!("cannot read the GGUF header: {}", candle_root(e)),
    })?;
    // Find the furthest byte any tensor needs, so a cut-off download is
    // reported as truncated before we spend seconds loading the rest.
    let mut needed = content.tensor_data_offset;
    for (name, info) in &content.tensor_infos {
        let bytes = tensor_size(info).map_err(|why| FormatError::InvalidModel {
            path: path.to_path_buf(),
            message: format!("tensor `{name}`: {why}"),
        })?;
        let end = content
            .tensor_data_offset
            .saturating_add(info.offset)
            .saturating_add(bytes);
        if end > file_len {
            return Err(FormatError::InvalidModel {
                path: path.to_path_buf(),
                message: format!(
                    "the file is truncated: tensor `{name}` ends at byte {end} but the file has {file_len} bytes"
                ),
            });
        }
        needed = needed.max(end);
    }
    tracing::debug!(
        "{}: {} tensors, {} metadata keys, tensor data to byte {needed}",
        path.display(),
        content.tensor_infos.len(),
        content.metadata.len()
    );
    Ok((content, reader))
}

/// Whether the header's metadata sets `general.alignment` to 0 (the last
/// value wins, as in candle's map). candle divides by it unchecked, which
/// panics, so the metadata is walked here first, reading only the lengths
/// and that key. Anything else wrong with the header ends the walk with
/// `false`: candle's reader then reports it.
fn alignment_is_zero<R: Read + Seek>(r: &mut R) -> bool {
    use std::io::{ErrorKind, Result as IoResult};
    fn u32_le(r: &mut impl Read) -> IoResult<u32> {
        let mut b = [0u8; 4];
        r.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    /// A length or count: u32 in version 1, u64 later (`wide`).
    fn len(r: &mut impl Read, wide: bool) -> IoResult<u64> {
        if !wide {
            return u32_le(r).map(u64::from);
        }
        let mut b = [0u8; 8];
        r.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn skip<R: Read + Seek>(r: &mut R, n: u64) -> IoResult<()> {
        if n <= 4096 {
            // Through the reader's buffer (a seek would empty it).
            return std::io::copy(&mut r.take(n), &mut std::io::sink()).map(|_| ());
        }
        let n = i64::try_from(n).map_err(|_| ErrorKind::InvalidData)?;
        r.seek(std::io::SeekFrom::Current(n)).map(|_| ())
    }
    fn fixed(ty: u32) -> Option<u64> {
        match ty {
            0 | 1 | 7 => Some(1),
            2 | 3 => Some(2),
            4..=6 => Some(4),
            10..=12 => Some(8),
            _ => None,
        }
    }
    /// Skips a value of type `ty`; `Err` for anything candle would refuse.
    fn skip_value<R: Read + Seek>(r: &mut R, ty: u32, wide: bool, depth: usize) -> IoResult<()> {
        match (ty, fixed(ty)) {
            (_, Some(n)) => skip(r, n),
            (8, _) => {
                let n = len(r, wide)?;
                skip(r, n)
            }
            (9, _) if depth < 8 => {
                let elem = u32_le(r)?;
                let count = len(r, wide)?;
                if let Some(size) = fixed(elem) {
                    return skip(r, count.checked_mul(size).ok_or(ErrorKind::InvalidData)?);
                }
                // Every element reads at least its length: a count past the
                // end of the file fails soon.
                for _ in 0..count {
                    skip_value(r, elem, wide, depth + 1)?;
                }
                Ok(())
            }
            _ => Err(ErrorKind::InvalidData.into()),
        }
    }
    fn walk<R: Read + Seek>(r: &mut R) -> IoResult<bool> {
        const KEY: &[u8] = b"general.alignment";
        let _magic = u32_le(r)?;
        let wide = u32_le(r)? >= 2;
        let _tensors = len(r, wide)?;
        let kvs = len(r, wide)?;
        let mut zero = false;
        for _ in 0..kvs {
            let n = len(r, wide)?;
            let is_key = if n == KEY.len() as u64 {
                let mut k = [0u8; KEY.len()];
                r.read_exact(&mut k)?;
                k == KEY
            } else {
                skip(r, n)?;
                false
            };
            let ty = u32_le(r)?;
            if !is_key {
                skip_value(r, ty, wide, 0)?;
                continue;
            }
            // The integer types candle reads it from; other types mean the
            // default alignment.
            let mut v = [0u8; 4];
            let n = match ty {
                0 | 1 => 1,
                2 | 3 => 2,
                4 | 5 => 4,
                _ => {
                    skip_value(r, ty, wide, 0)?;
                    zero = false;
                    continue;
                }
            };
            r.read_exact(&mut v[..n])?;
            zero = v == [0; 4];
        }
        Ok(zero)
    }
    walk(r).unwrap_or(false)
}

/// The bytes a tensor's data takes, from its shape and type as the header
/// gives them. A shape whose element count overflows, or whose rows are not
/// whole blocks of its type (llama.cpp refuses those too), is an error, so
/// later code may compute element counts and sizes without overflow; so is
/// an empty one (no model has one, and candle reads an empty tensor's
/// buffer through a pointer not aligned for its type).
fn tensor_size(info: &candle_core::quantized::gguf_file::TensorInfo) -> Result<u64, String> {
    let dims = info.shape.dims();
    let elems = dims
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
        .filter(|&n| n <= isize::MAX as u64)
        .ok_or_else(|| format!("shape {dims:?} has too many elements"))?;
    if elems == 0 {
        return Err(format!("shape {dims:?} has no elements"));
    }
    let dtype = info.ggml_dtype;
    let block = dtype.block_size().max(1) as u64;
    // dims are outermost first: the last one is a row (GGUF's ne[0]).
    let row = dims.last().map_or(1, |&d| d as u64);
    if !row.is_multiple_of(block) {
        return Err(format!(
            "shape {dims:?}: rows of {row} are not whole {dtype:?} blocks of {block}"
        ));
    }
    (elems / block)
        .checked_mul(dtype.type_size() as u64)
        .ok_or_else(|| format!("shape {dims:?} has too many bytes"))
}

fn split_u64(content: &Content, key: &str) -> Option<u64> {
    let v = content.metadata.get(key)?;
    v.to_u64()
        .ok()
        .or_else(|| v.to_u32().ok().map(u64::from))
        .or_else(|| v.to_u16().ok().map(u64::from))
        .or_else(|| v.to_i32().ok().and_then(|n| u64::try_from(n).ok()))
}

impl GgufFile {
    /// Opens a GGUF model. A file named like `name-00001-of-00003.gguf` is
    /// the first part of a split model: every part is opened, its part
    /// number and count checked against its own header, and the tensors of
    /// all parts counted against the total the first part records.
    pub fn open(path: &Path) -> Result<Self> {
        let (content, reader) = open_one(path)?;
        let invalid = |path: &Path, message: String| FormatError::InvalidModel {
            path: path.to_path_buf(),
            message,
        };
        let declared = split_u64(&content, "split.count").unwrap_or(1) as usize;
        let named = split_name(path);
        let count = match &named {
            Some((_, no, count)) if *no != 1 => {
                return Err(invalid(
                    path,
                    format!(
                        "this is part {no} of a model split into {count} files; give the first part ({})",
                        split_part_name(&named.as_ref().expect("matched").0, 1, *count)
                    ),
                ))
            }
            Some((_, _, count)) => *count,
            None => 1,
        };
        if declared != count && !(declared == 1 && count == 1) {
            return Err(invalid(
                path,
                format!("the file name says {count} parts but its header says {declared}"),
            ));
        }
        let mut index = HashMap::new();
        let mut rest = Vec::new();
        if let Some((stem, _, count)) = named.filter(|_| declared > 1) {
            let dir = path.parent().unwrap_or(Path::new("."));
            for no in 2..=count {
                let p = dir.join(split_part_name(&stem, no, count));
                if !p.exists() {
                    return Err(invalid(
                        &p,
                        format!("part {no} of {count} of {} is missing", path.display()),
                    ));
                }
                let (c, r) = open_one(&p)?;
                let got = split_u64(&c, "split.no").map(|n| n as usize + 1);
                let got_count = split_u64(&c, "split.count").map(|n| n as usize);
                if got != Some(no) || got_count != Some(count) {
                    return Err(invalid(
                        &p,
                        format!(
                            "expected part {no} of {count}, the header says part {} of {}",
                            got.map_or("?".into(), |n| n.to_string()),
                            got_count.map_or("?".into(), |n| n.to_string())
                        ),
                    ));
                }
                for name in c.tensor_infos.keys() {
                    index.insert(name.clone(), rest.len() + 1);
                }
                rest.push(Part {
                    path: p,
                    content: c,
                    reader: r,
                });
            }
            let total = content.tensor_infos.len()
                + rest
                    .iter()
                    .map(|p| p.content.tensor_infos.len())
                    .sum::<usize>();
            if let Some(want) = split_u64(&content, "split.tensors.count") {
                if want as usize != total {
                    return Err(invalid(
                        path,
                        format!("the parts hold {total} tensors, the header promises {want}"),
                    ));
                }
            }
        }
        for name in content.tensor_infos.keys() {
            index.insert(name.clone(), 0);
        }
        let maps = vec![None; rest.len() + 1];
        Ok(Self {
            path: path.to_path_buf(),
            content,
            reader,
            rest,
            index,
            maps,
        })
    }

    /// Every part's file, the first one first.
    pub fn part_paths(&self) -> Vec<&Path> {
        std::iter::once(self.path.as_path())
            .chain(self.rest.iter().map(|p| p.path.as_path()))
            .collect()
    }

    /// Every tensor's name and description, over all parts.
    pub fn tensor_infos(
        &self,
    ) -> impl Iterator<Item = (&String, &candle_core::quantized::gguf_file::TensorInfo)> {
        self.content
            .tensor_infos
            .iter()
            .chain(self.rest.iter().flat_map(|p| p.content.tensor_infos.iter()))
    }

    pub fn metadata(&self) -> &HashMap<String, Value> {
        &self.content.metadata
    }

    pub fn architecture(&self) -> Result<String> {
        self.metadata()
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .ok_or_else(|| FormatError::InvalidModel {
                path: self.path.clone(),
                message: "metadata key `general.architecture` is missing".into(),
            })
    }

    /// A required metadata value, with an error naming the key and the file.
    pub fn md(&self, key: &str) -> Result<&Value> {
        self.metadata()
            .get(key)
            .ok_or_else(|| FormatError::InvalidModel {
                path: self.path.clone(),
                message: format!("metadata key `{key}` is missing"),
            })
    }

    pub fn md_u32(&self, key: &str) -> Result<u32> {
        let v = self.md(key)?;
        // Writers disagree on integer widths; accept any non-negative integer.
        let n = v
            .to_u32()
            .ok()
            .or_else(|| v.to_u64().ok().and_then(|n| u32::try_from(n).ok()))
            .or_else(|| v.to_i32().ok().and_then(|n| u32::try_from(n).ok()));
        n.ok_or_else(|| FormatError::InvalidModel {
            path: self.path.clone(),
            message: format!("metadata key `{key}` is not an unsigned integer"),
        })
    }

    pub fn md_f32(&self, key: &str) -> Result<f32> {
        self.md(key)?
            .to_f32()
            .map_err(|_| FormatError::InvalidModel {
                path: self.path.clone(),
                message: format!("metadata key `{key}` is not a float"),
            })
    }

    pub fn tensor(
        &mut self,
        name: &str,
        device: &candle_core::Device,
    ) -> Result<candle_core::quantized::QTensor> {
        let (content, reader, path) = match self.index.get(name).copied() {
            Some(i) if i > 0 => {
                let p = &mut self.rest[i - 1];
                (&p.content, &mut p.reader, &p.path)
            }
            _ => (&self.content, &mut self.reader, &self.path),
        };
        content
            .tensor(reader, name, device)
            .map_err(|e| FormatError::InvalidModel {
                path: path.clone(),
                message: format!("tensor `{name}`: {}", candle_root(e)),
            })
    }

    /// A tensor's blocks where they lie in its file, memory-mapped (pages
    /// are read on first touch and shared with every process mapping the
    /// file), with its type and shape; `None` for a tensor the file does
    /// not have.
    pub fn tensor_bytes(&mut self, name: &str) -> Result<Option<(Bytes, GgmlDType, Vec<usize>)>> {
        let Some(&part) = self.index.get(name) else {
            return Ok(None);
        };
        let (content, reader, path) = if part > 0 {
            let p = &self.rest[part - 1];
            (&p.content, &p.reader, &p.path)
        } else {
            (&self.content, &self.reader, &self.path)
        };
        let Some(info) = content.tensor_infos.get(name) else {
            return Ok(None);
        };
        let map = match &self.maps[part] {
            Some(m) => m.clone(),
            None => {
                // SAFETY: the mapping is read-only; models are written to
                // the cache atomically (a new file renamed over the old),
                // so a mapped file is never rewritten in place by dich.
                let m = unsafe { memmap2::Mmap::map(reader.get_ref()) }
                    .map_err(|e| FormatError::io(path, e))?;
                let m = Arc::new(m);
                self.maps[part] = Some(m.clone());
                m
            }
        };
        let dtype = info.ggml_dtype;
        let len = info.shape.elem_count() / dtype.block_size().max(1) * dtype.type_size();
        let start = content.tensor_data_offset.saturating_add(info.offset);
        let bytes = usize::try_from(start)
            .ok()
            .and_then(|start| Bytes::mapped(map, start, len))
            .ok_or_else(|| FormatError::InvalidModel {
                path: path.clone(),
                message: format!("tensor `{name}` lies past the end of the file"),
            })?;
        Ok(Some((bytes, dtype, info.shape.dims().to_vec())))
    }

    pub fn has_tensor(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names() {
        let p = Path::new("/m/qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf");
        assert_eq!(
            split_name(p),
            Some(("qwen2.5-7b-instruct-q4_k_m".to_string(), 1, 2))
        );
        assert_eq!(
            split_part_name("qwen2.5-7b-instruct-q4_k_m", 2, 2),
            "qwen2.5-7b-instruct-q4_k_m-00002-of-00002.gguf"
        );
        assert_eq!(split_name(Path::new("a-00003-of-00002.gguf")), None);
        assert_eq!(split_name(Path::new("a-1-of-2.gguf")), None);
        assert_eq!(split_name(Path::new("model.gguf")), None);
    }

    /// A GGUF v3 header: magic, version, tensor count, metadata key count.
    fn header(tensors: u64, keys: u64) -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(tensors.to_le_bytes());
        b.extend(keys.to_le_bytes());
        b
    }

    /// A GGUF v3 file: no metadata, one tensor of `dims` (innermost first,
    /// as stored) and `dtype`, then `data` after the aligned header.
    fn gguf_with_tensor(dims: &[u64], dtype: u32, data: &[u8]) -> Vec<u8> {
        let mut b = header(1, 0);
        b.extend(1u64.to_le_bytes());
        b.push(b'w');
        b.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            b.extend(d.to_le_bytes());
        }
        b.extend(dtype.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.resize(b.len().div_ceil(32) * 32, 0);
        b.extend_from_slice(data);
        b
    }

    fn open_bytes(bytes: &[u8]) -> Result<GgufFile> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.gguf");
        std::fs::write(&path, bytes).unwrap();
        GgufFile::open(&path)
    }

    fn open_err(bytes: &[u8]) -> String {
        match open_bytes(bytes) {
            Ok(_) => panic!("opened"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_small_tensor_opens() {
        let mut g = open_bytes(&gguf_with_tensor(&[2], 0, &[0; 8])).unwrap();
        let (bytes, _, dims) = g.tensor_bytes("w").unwrap().unwrap();
        assert_eq!((bytes.len(), dims), (8, vec![2]));
    }

    /// Found by fuzzing (gguf_header): an element count that overflows
    /// (2^32 x 2^32) panicked in debug builds and wrapped to 0 bytes in
    /// release ones.
    #[test]
    fn an_element_count_that_overflows_is_an_error() {
        let e = open_err(&gguf_with_tensor(&[1 << 32, 1 << 32], 0, &[]));
        assert!(
            e.contains("tensor `w`: shape [4294967296, 4294967296] has too many elements"),
            "{e}"
        );
        let e = open_err(&gguf_with_tensor(&[1 << 62, 4], 0, &[]));
        assert!(e.contains("too many"), "{e}");
    }

    /// Found by fuzzing (gguf_header): a tensor with a zero dimension made
    /// `tensor()` hand candle an empty buffer whose dangling pointer is not
    /// aligned for f32 (debug builds abort).
    #[test]
    fn a_tensor_without_elements_is_an_error() {
        let e = open_err(&gguf_with_tensor(&[0, 1 << 57], 0, &[]));
        assert!(
            e.contains("tensor `w`: shape [144115188075855872, 0] has no elements"),
            "{e}"
        );
    }

    /// Found by fuzzing (gguf_header): `general.alignment` = 0 made candle
    /// divide by zero (a panic in every build).
    #[test]
    fn a_zero_alignment_is_an_error() {
        for (ty, value) in [(4u32, &[0u8; 4][..]), (0, &[0]), (3, &[0, 0])] {
            let mut b = header(0, 3);
            // A string array before the key, to be walked past.
            b.extend(4u64.to_le_bytes());
            b.extend(b"toks");
            b.extend(9u32.to_le_bytes());
            b.extend(8u32.to_le_bytes());
            b.extend(2u64.to_le_bytes());
            for t in ["a", "bc"] {
                b.extend((t.len() as u64).to_le_bytes());
                b.extend(t.as_bytes());
            }
            for v in [&[32u8, 0, 0, 0][..], value] {
                b.extend(17u64.to_le_bytes());
                b.extend(b"general.alignment");
                b.extend(if v.len() == 4 { 4u32 } else { ty }.to_le_bytes());
                b.extend(v);
            }
            let e = open_err(&b);
            assert!(e.contains("metadata key `general.alignment` is 0"), "{e}");
        }
        // A later non-zero value wins, as in candle's map.
        let mut b = header(0, 2);
        for v in [0u32, 64] {
            b.extend(17u64.to_le_bytes());
            b.extend(b"general.alignment");
            b.extend(4u32.to_le_bytes());
            b.extend(v.to_le_bytes());
        }
        let g = open_bytes(&b).unwrap();
        assert_eq!(g.content.tensor_data_offset, 128);
    }

    #[test]
    fn a_huge_tensor_in_a_small_file_is_truncated() {
        // 2^40 f32 values claimed, 8 bytes present.
        let e = open_err(&gguf_with_tensor(&[1 << 20, 1 << 20], 0, &[0; 8]));
        assert!(
            e.contains("the file is truncated: tensor `w` ends at byte"),
            "{e}"
        );
    }

    #[test]
    fn rows_that_are_not_whole_blocks_are_an_error() {
        // Q4_0 (type 2) has blocks of 32 values.
        let e = open_err(&gguf_with_tensor(&[33, 32], 2, &[0; 18 * 33]));
        assert!(
            e.contains("rows of 33 are not whole Q4_0 blocks of 32"),
            "{e}"
        );
    }

    #[test]
    fn huge_string_and_array_lengths_are_errors() {
        // A metadata key whose length claims 2^40 bytes.
        let mut b = header(0, 1);
        b.extend((1u64 << 40).to_le_bytes());
        b.extend([0; 16]);
        let e = open_err(&b);
        assert!(e.contains("cannot read the GGUF header"), "{e}");
        // An array of 2^40 u8 values.
        let mut b = header(0, 1);
        b.extend(1u64.to_le_bytes());
        b.push(b'k');
        b.extend(9u32.to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend((1u64 << 40).to_le_bytes());
        b.extend([0; 16]);
        let e = open_err(&b);
        assert!(e.contains("cannot read the GGUF header"), "{e}");
    }
}
