//! Opening a GGUF file with checks that turn bad files into clear errors: not
//! a GGUF at all, truncated (a tensor reaching past the end of the file), or
//! an architecture we have no implementation for.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};

use super::{candle_root, FormatError, Result};

pub struct GgufFile {
    pub path: PathBuf,
    pub content: Content,
    pub reader: BufReader<File>,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self> {
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
        Ok(Self {
            path: path.to_path_buf(),
            content,
            reader,
        })
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
        self.content
            .tensor(&mut self.reader, name, device)
            .map_err(|e| FormatError::InvalidModel {
                path: self.path.clone(),
                message: format!("tensor `{name}`: {}", candle_root(e)),
            })
    }

    pub fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }
}
