//! Checkpoint files in the Hugging Face layouts: `model.safetensors`, or
//! `pytorch_model.bin` (a zip of pickled tensors, unpickled by candle's
//! pickle machine after `pickle_check` has bounded what it can build).
//! Tensors are found by their checkpoint names, with or without
//! the `model.` prefix, and handed out as f32 values checked against the
//! shape the caller expects, so an error names the file and the tensor.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use candle_core::pickle::{Object, Stack};
use candle_core::{DType, Device, Tensor};

use super::pickle_check::check_pickle;
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
            read_pth(path)?
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

/// The largest `data.pkl` read (real ones are a few hundred KB).
const MAX_PICKLE_BYTES: u64 = 256 << 20;

/// The tensors of a `pytorch_model.bin` (what `torch.save` writes: a zip
/// holding `<dir>/data.pkl`, a pickled state dict whose tensors point at
/// storages `<dir>/data/<key>`). Entries that are not tensors are skipped;
/// a tensor that cannot be read is an error naming it.
fn read_pth(path: &Path) -> Result<HashMap<String, Tensor>> {
    let bad = |message: String| invalid(path, message);
    let file = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| bad(format!("not a PyTorch checkpoint (a zip archive): {e}")))?;
    let pickles: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok())
        .filter(|n| n.ends_with("data.pkl"))
        .map(|n| n.into_owned())
        .collect();
    if pickles.is_empty() {
        return Err(bad(
            "not a PyTorch checkpoint: the zip archive has no data.pkl".into(),
        ));
    }
    let mut tensors = HashMap::new();
    for pkl in pickles {
        let dir = pkl.strip_suffix(".pkl").unwrap_or(&pkl).to_string();
        let bytes = {
            let entry = zip.by_name(&pkl).map_err(|e| bad(format!("{pkl}: {e}")))?;
            if entry.size() > MAX_PICKLE_BYTES {
                return Err(bad(format!(
                    "{pkl} is {} bytes, more than the {MAX_PICKLE_BYTES} a state dict can need",
                    entry.size()
                )));
            }
            let mut bytes = Vec::new();
            entry
                .take(MAX_PICKLE_BYTES)
                .read_to_end(&mut bytes)
                .map_err(|e| bad(format!("{pkl}: {e}")))?;
            bytes
        };
        check_pickle(&bytes).map_err(|why| bad(format!("{pkl}: {why}")))?;
        let mut stack = Stack::empty();
        stack
            .read_loop(&mut bytes.as_slice())
            .map_err(|e| bad(format!("{pkl}: cannot unpickle: {e}")))?;
        let obj = stack
            .finalize()
            .map_err(|e| bad(format!("{pkl}: cannot unpickle: {e}")))?;
        // A TorchScript module keeps its state dict as the argument of BUILD.
        let obj = match obj {
            Object::Build { callable, args } => match *callable {
                Object::Reduce { callable, .. } => match *callable {
                    Object::Class {
                        module_name,
                        class_name,
                    } if module_name == "__torch__" && class_name == "Module" => *args,
                    _ => continue,
                },
                _ => continue,
            },
            obj => obj,
        };
        let Object::Dict(entries) = obj else {
            continue;
        };
        for (name, value) in entries {
            let Object::Unicode(name) = name else {
                continue;
            };
            let tensor = tensor_ref(value)
                .and_then(|r| r.map(|r| load_tensor(&mut zip, &dir, &r)).transpose())
                .map_err(|why| bad(format!("tensor `{name}`: {why}")))?;
            if let Some(t) = tensor {
                tensors.insert(name, t);
            }
        }
    }
    Ok(tensors)
}

/// A pickled tensor: `torch._utils._rebuild_tensor_v2(storage, offset,
/// size, stride, ...)`, the storage a persistent id
/// `("storage", <type>, key, location, numel)`.
struct TensorRef {
    dtype: DType,
    key: String,
    offset: usize,
    dims: Vec<usize>,
    stride: Vec<usize>,
}

fn class_is(obj: &Object, module: &str, class: &str) -> bool {
    matches!(obj, Object::Class { module_name, class_name } if module_name == module && class_name == class)
}

fn tuple_of(obj: Object, min: usize, what: &str) -> std::result::Result<Vec<Object>, String> {
    match obj {
        Object::Tuple(v) if v.len() >= min => Ok(v),
        Object::Tuple(v) => Err(format!("{what} has {} items, expected {min}", v.len())),
        _ => Err(format!("{what} is not a tuple")),
    }
}

fn non_negative(obj: &Object, what: &str) -> std::result::Result<usize, String> {
    let v = match obj {
        Object::Int(v) => i64::from(*v),
        Object::Long(v) => *v,
        _ => return Err(format!("{what} is not an integer")),
    };
    usize::try_from(v).map_err(|_| format!("{what} is {v}"))
}

fn usizes(obj: &Object, what: &str) -> std::result::Result<Vec<usize>, String> {
    match obj {
        Object::Tuple(v) => v.iter().map(|x| non_negative(x, what)).collect(),
        _ => Err(format!("{what} is not a tuple")),
    }
}

/// What a state dict entry says about its tensor; `None` for an entry that
/// is not a tensor.
fn tensor_ref(value: Object) -> std::result::Result<Option<TensorRef>, String> {
    let Object::Reduce { callable, args } = value else {
        return Ok(None);
    };
    let (callable, args) = if class_is(&callable, "torch._tensor", "_rebuild_from_type_v2") {
        // (func, type, args, state)
        let mut a = tuple_of(*args, 3, "_rebuild_from_type_v2's arguments")?;
        let inner = a.swap_remove(2);
        (a.swap_remove(0), inner)
    } else if class_is(&callable, "torch._utils", "_rebuild_parameter") {
        // (data, requires_grad, backward_hooks)
        match tuple_of(*args, 1, "_rebuild_parameter's arguments")?.swap_remove(0) {
            Object::Reduce { callable, args } => (*callable, *args),
            _ => return Err("_rebuild_parameter of something that is not a tensor".into()),
        }
    } else {
        (*callable, *args)
    };
    if !class_is(&callable, "torch._utils", "_rebuild_tensor_v2") {
        return Ok(None);
    }
    let a = tuple_of(args, 4, "_rebuild_tensor_v2's arguments")?;
    let Object::PersistentLoad(storage) = &a[0] else {
        return Err("its storage is not a persistent id".into());
    };
    let s = match storage.as_ref() {
        Object::Tuple(s) if s.len() >= 5 => s,
        _ => {
            return Err(
                "its storage is not a (\"storage\", type, key, location, size) tuple".into(),
            )
        }
    };
    let Object::Class { class_name, .. } = &s[1] else {
        return Err("its storage type is not a class".into());
    };
    let dtype = match class_name.as_str() {
        "FloatStorage" => DType::F32,
        "DoubleStorage" => DType::F64,
        "HalfStorage" => DType::F16,
        "BFloat16Storage" => DType::BF16,
        "ByteStorage" => DType::U8,
        "LongStorage" => DType::I64,
        // As candle's reader: tensors of other types (bool buffers, ...)
        // are left out; a model that needs one finds it missing.
        other => {
            tracing::debug!("skipping a tensor of unsupported storage type `{other}`");
            return Ok(None);
        }
    };
    let Object::Unicode(key) = &s[2] else {
        return Err("its storage key is not a string".into());
    };
    let dims = usizes(&a[2], "its size")?;
    let stride = usizes(&a[3], "its stride")?;
    if stride.len() != dims.len() {
        return Err(format!("stride {stride:?} does not fit size {dims:?}"));
    }
    Ok(Some(TensorRef {
        dtype,
        key: key.clone(),
        offset: non_negative(&a[1], "its storage offset")?,
        dims,
        stride,
    }))
}

/// Whether `stride` lays out `dims` densely, the last (`rev`: the first)
/// dimension varying fastest; dimensions of size 1 may have any stride.
fn dense(dims: &[usize], stride: &[usize], rev: bool) -> bool {
    let mut acc = 1usize;
    let mut check = |d: usize, s: usize| {
        let ok = d <= 1 || s == acc;
        acc = acc.saturating_mul(d);
        ok
    };
    if rev {
        dims.iter().zip(stride).all(|(&d, &s)| check(d, s))
    } else {
        dims.iter().zip(stride).rev().all(|(&d, &s)| check(d, s))
    }
}

/// Reads a tensor's bytes from its storage entry. Sizes are checked against
/// what the entry really holds, read as it is decompressed, so a header
/// claiming a huge tensor costs no more memory than the entry's data.
fn load_tensor<R: std::io::Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    dir: &str,
    r: &TensorRef,
) -> std::result::Result<Tensor, String> {
    let elems = r
        .dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| format!("shape {:?} has too many elements", r.dims))?;
    let size = r.dtype.size_in_bytes();
    let (start, end) = r
        .offset
        .checked_mul(size)
        .and_then(|start| Some((start, start.checked_add(elems.checked_mul(size)?)?)))
        .ok_or_else(|| format!("offset {} and shape {:?} overflow", r.offset, r.dims))?;
    let fortran = if dense(&r.dims, &r.stride, false) {
        false
    } else if dense(&r.dims, &r.stride, true) {
        true
    } else {
        return Err(format!(
            "stride {:?} of shape {:?} is not contiguous",
            r.stride, r.dims
        ));
    };
    let name = format!("{dir}/{}", r.key);
    let entry = zip
        .by_name(&name)
        .map_err(|e| format!("storage `{name}`: {e}"))?;
    if entry.size() < end as u64 {
        return Err(format!(
            "needs {end} bytes of storage `{name}`, which has {}",
            entry.size()
        ));
    }
    let mut bytes = Vec::new();
    entry
        .take(end as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("storage `{name}`: {e}"))?;
    if bytes.len() < end {
        return Err(format!(
            "storage `{name}` is truncated: {} of {end} bytes",
            bytes.len()
        ));
    }
    let data = &bytes[start..end];
    let t = if fortran && r.dims.len() > 1 {
        let rev: Vec<usize> = r.dims.iter().rev().copied().collect();
        let order: Vec<usize> = (0..r.dims.len()).rev().collect();
        Tensor::from_raw_buffer(data, r.dtype, &rev, &Device::Cpu).and_then(|t| t.permute(order))
    } else {
        Tensor::from_raw_buffer(data, r.dtype, &r.dims, &Device::Cpu)
    };
    t.map_err(|e| e.to_string())
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
