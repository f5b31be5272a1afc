//! Opening a GGUF file with checks that turn bad files into clear errors: not
//! a GGUF at all, truncated (a tensor reaching past the end of the file), a
//! split model with a part missing or out of place, or an architecture we
//! have no implementation for.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
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
    let content = Content::read(&mut reader).map_err(|e| FormatError::InvalidModel {
        path: path.to_path_buf(),
        message: format!("cannot read the GGUF header: {}", candle_root(e)),
    })?;
    // Find the furthest byte any tensor needs, so a cut-off download is
    // reported as truncated before we spend seconds loading the rest.
    let mut needed = content.tensor_data_offset;
    for (name, info) in &content.tensor_infos {
        let elems = info.shape.elem_count();
        let block = info.ggml_dtype.block_size();
        let bytes = (elems / block.max(1)) as u64 * info.ggml_dtype.type_size() as u64;
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
}
