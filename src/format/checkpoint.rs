//! Checkpoint files in the Hugging Face layouts: `model.safetensors`, or
//! `pytorch_model.bin` (a zip of pickled tensors, read by candle's pickle
//! reader). Tensors are found by their checkpoint names, with or without
//! the `model.` prefix, and handed out as f32 values checked against the
//! shape the caller expects, so an error names the file and the tensor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use super::{FormatError, Result};

fn invalid(path: &Path, message: impl Into<String>) -> FormatError {
    FormatError::InvalidCheckpoint {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The tensors of a checkpoint file, by name.
pub struct TensorFile {
    pub path: PathBuf,
    tensors: HashMap<String, Tensor>,
}

impl TensorFile {
    pub fn open(path: &Path) -> Result<Self> {
        let is_pth = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(".bin"));
        let tensors: HashMap<String, Tensor> = if is_pth {
            candle_core::pickle::read_all(path)
                .map_err(|e| invalid(path, format!("cannot read the PyTorch checkpoint: {e}")))?
                .into_iter()
                .collect()
        } else {
            candle_core::safetensors::load(path, &Device::Cpu)
                .map_err(|e| invalid(path, format!("cannot read the safetensors file: {e}")))?
        };
        Ok(Self {
            path: path.to_path_buf(),
            tensors,
        })
    }

    pub fn find(&self, name: &str) -> Option<&Tensor> {
        self.tensors
            .get(name)
            .or_else(|| match name.strip_prefix("model.") {
                Some(short) => self.tensors.get(short),
                None => self.tensors.get(&format!("model.{name}")),
            })
    }

    /// The tensor `name` as f32 values, checked against `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let t = self
            .find(name)
            .ok_or_else(|| invalid(&self.path, format!("tensor `{name}` is missing")))?;
        if t.dims() != shape {
            return Err(invalid(
                &self.path,
                format!(
                    "tensor `{name}` has shape {:?}, expected {shape:?}",
                    t.dims()
                ),
            ));
        }
        let conv = || -> candle_core::Result<Vec<f32>> {
            t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
        };
        conv().map_err(|e| invalid(&self.path, format!("tensor `{name}`: {e}")))
    }
}

impl TensorFile {
    /// The error for a bad tensor of this file.
    pub fn invalid(&self, message: impl Into<String>) -> FormatError {
        invalid(&self.path, message)
    }
}
