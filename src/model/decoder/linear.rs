//! A quantized projection ([`Linear`]) and the choice of kernels that run
//! it: dich's packed AVX-512 kernels, dich's AVX2 block kernels, or
//! candle's, with a load-time warning for types that have no fast kernel.

use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};

use super::DecoderConfig;
use crate::format::gguf::GgufFile;
use crate::kernels::kquant::{matmul_many, PackedMatrix, Q8Rows};
use crate::kernels::q32::{self, BlockMatrix, BlockType, Q8Blocks};

/// A quantized projection.
///
/// On CPUs with AVX-512 VNNI, Q4_K and Q6_K matrices run on our own packed
/// kernels ([`kquant`]): compact tiles, and every row computed the same way
/// whatever the batch, so batch invariance is free. Elsewhere (GPUs, older
/// CPUs, other quant types, or `DICH_KERNELS=candle`) candle's kernels run.
/// On the CPU, candle multiplies a single Q6_K row with a different kernel
/// (compact vector dot) than two or more rows (repacked tiles), and the two
/// round differently; in batch-invariant mode a lone row is then fed twice,
/// so that a sequence's logits never depend on how many other rows share
/// its forward pass.
pub(super) enum Linear {
    Packed(PackedMatrix),
    /// Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 on AVX2 CPUs ([`q32`]; the k-quants too
    /// when [`DecoderConfig::own_kquant_kernels`]).
    Blocks(BlockMatrix),
    Candle {
        inner: QMatMul,
        q6k_cpu: bool,
    },
}

/// Whether our packed CPU kernels are used for the matrices they support:
/// the CPU has them and `DICH_KERNELS` is not `candle`.
pub fn packed_kernels_enabled() -> bool {
    PackedMatrix::supported() && std::env::var("DICH_KERNELS").map_or(true, |v| v != "candle")
}

/// Whether our AVX2 kernels run the 32-value block types ([`q32`]): the CPU
/// has AVX2 and FMA and `DICH_KERNELS` is not `candle`.
pub fn block_kernels_enabled() -> bool {
    q32::supported() && std::env::var("DICH_KERNELS").map_or(true, |v| v != "candle")
}

impl Linear {
    /// `own_kquants`: run Q4_K/Q5_K/Q6_K on [`q32`] too (see
    /// [`DecoderConfig::own_kquant_kernels`]).
    pub(super) fn new(t: Arc<QTensor>, own_kquants: bool) -> candle_core::Result<Self> {
        if packed_kernels_enabled() && PackedMatrix::packable(&t) {
            return Ok(Self::Packed(PackedMatrix::from_qtensor(&t)?));
        }
        if t.device().is_cpu() && block_kernels_enabled() {
            if let (Some(ty), Ok((n, k))) = (BlockType::from_ggml(t.dtype()), t.shape().dims2()) {
                let k_quant = ty.block_values() != q32::QK;
                let wanted = !k_quant || own_kquants;
                if wanted && k.is_multiple_of(ty.block_values()) {
                    let data = t.data()?.into_owned();
                    return Ok(Self::Blocks(BlockMatrix::new(ty, n, k, data)?));
                }
            }
        }
        let q6k_cpu = t.dtype() == GgmlDType::Q6K && t.device().is_cpu();
        Ok(Self::Candle {
            inner: QMatMul::from_arc(t)?,
            q6k_cpu,
        })
    }

    /// The matrix `name` of `g`: where it lies in the memory-mapped file
    /// when it runs on [`q32`] (no copy: pages are read as first used and
    /// shared by every process that maps the file), else read into memory
    /// for the kernels of [`Linear::new`].
    pub(super) fn from_file(
        g: &mut GgufFile,
        name: &str,
        device: &Device,
        own_kquants: bool,
    ) -> crate::model::Result<Self> {
        if device.is_cpu() && block_kernels_enabled() && !packed_kernels_enabled() {
            if let Some((bytes, dtype, dims)) = g.tensor_bytes(name)? {
                if let (Some(ty), &[n, k]) = (BlockType::from_ggml(dtype), &dims[..]) {
                    let k_quant = ty.block_values() != q32::QK;
                    if (!k_quant || own_kquants) && k.is_multiple_of(ty.block_values()) {
                        return Ok(Self::Blocks(BlockMatrix::new(ty, n, k, bytes)?));
                    }
                }
            }
        }
        Ok(Self::new(Arc::new(g.tensor(name, device)?), own_kquants)?)
    }

    pub(super) fn run(&self, xs: &Tensor, invariant: bool) -> candle_core::Result<Tensor> {
        match self {
            Self::Packed(_) | Self::Blocks(_) => {
                Ok(Self::run_many(&[self], xs, invariant)?.remove(0))
            }
            Self::Candle { inner, q6k_cpu } => {
                if invariant && *q6k_cpu && xs.dims().len() == 2 && xs.dim(0)? == 1 {
                    let twice = Tensor::cat(&[xs, xs], 0)?;
                    return inner.forward(&twice)?.narrow(0, 0, 1);
                }
                inner.forward(xs)
            }
        }
    }

    /// Several projections of the same input. Packed ones share one
    /// quantization of `xs` and one parallel region.
    pub(super) fn run_many(
        ls: &[&Linear],
        xs: &Tensor,
        invariant: bool,
    ) -> candle_core::Result<Vec<Tensor>> {
        let packed: Option<Vec<&PackedMatrix>> = ls
            .iter()
            .map(|l| match l {
                Self::Packed(p) => Some(p),
                _ => None,
            })
            .collect();
        let blocks: Option<Vec<&BlockMatrix>> = ls
            .iter()
            .map(|l| match l {
                Self::Blocks(b) => Some(b),
                _ => None,
            })
            .collect();
        if packed.is_none() && blocks.is_none() {
            return ls.iter().map(|l| l.run(xs, invariant)).collect();
        }
        let dims = xs.dims().to_vec();
        let Some((&k, lead)) = dims.split_last() else {
            candle_core::bail!("a projection got a scalar input");
        };
        let m: usize = lead.iter().product();
        let flat = xs.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let shaped = |out: Vec<f32>, rows: usize| {
            let mut shape = lead.to_vec();
            shape.push(rows);
            Tensor::from_vec(out, shape, xs.device())
        };
        if let Some(blocks) = blocks {
            for b in &blocks {
                if b.cols() != k {
                    candle_core::bail!("projection expects {} inputs, got {k}", b.cols());
                }
            }
            // One quantization of the input per activation format needed.
            let mut quantized: Vec<(q32::ActQuant, Q8Blocks)> = Vec::new();
            let mut which = Vec::with_capacity(blocks.len());
            for b in &blocks {
                let mode = b.block_type().act_quant();
                let at = match quantized.iter().position(|(q, _)| *q == mode) {
                    Some(i) => i,
                    None => {
                        quantized.push((mode, Q8Blocks::quantize(&flat, m, k, mode)));
                        quantized.len() - 1
                    }
                };
                which.push(at);
            }
            let xs: Vec<&Q8Blocks> = which.iter().map(|&i| &quantized[i].1).collect();
            let mut outs: Vec<Vec<f32>> = blocks.iter().map(|b| vec![0f32; m * b.rows()]).collect();
            let mut slices: Vec<&mut [f32]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
            q32::matmul_many_into(&blocks, &xs, &mut slices);
            return outs
                .into_iter()
                .zip(&blocks)
                .map(|(out, b)| shaped(out, b.rows()))
                .collect();
        }
        let packed = packed.expect("checked above");
        for p in &packed {
            if p.cols() != k {
                candle_core::bail!("projection expects {} inputs, got {k}", p.cols());
            }
        }
        let x = Q8Rows::quantize(&flat, m, k);
        matmul_many(&packed, &x)
            .into_iter()
            .zip(&packed)
            .map(|(out, p)| shaped(out, p.rows()))
            .collect()
    }
}

/// At or above this many bytes of k-quant matrices, they run on dich's
/// AVX2 kernels (see [`own_kquant_kernels`]).
const OWN_KQUANT_BYTES: u64 = 768_000_000;

/// Whether the k-quant matrices run on dich's AVX2 kernels instead of
/// candle's. Measured on the 1.5B default (1.0 GB of k-quants, 2 threads,
/// AVX2): ours decode 8-15% faster, 35% faster on the batch-invariant path
/// and 15-25% faster at batch 8, and take half the memory (2.7 -> 1.4 GB
/// peak: candle keeps a second, repacked copy of each matrix, ours are used
/// where they lie in the mapped file); candle's fill prompts 15% faster and
/// are faster on the small registry models (their k-quant matrices fit in
/// cache). So ours run for 768 MB of k-quants and more, or when candle's
/// copy would not fit comfortably (three times the k-quant bytes above
/// half the machine's RAM), or with `DICH_KERNELS=q32`.
pub(super) fn own_kquant_kernels(g: &GgufFile, device: &Device) -> bool {
    if !device.is_cpu() || !block_kernels_enabled() || packed_kernels_enabled() {
        return false;
    }
    if std::env::var("DICH_KERNELS").is_ok_and(|v| v == "q32") {
        return true;
    }
    let kquant_bytes: u64 = g
        .tensor_infos()
        .filter(|(_, i)| {
            matches!(
                i.ggml_dtype,
                GgmlDType::Q4K | GgmlDType::Q5K | GgmlDType::Q6K
            )
        })
        .map(|(_, i)| {
            (i.shape.elem_count() / i.ggml_dtype.block_size()) as u64
                * i.ggml_dtype.type_size() as u64
        })
        .sum();
    let tight = crate::util::mem_total_bytes().is_some_and(|ram| kquant_bytes * 3 > ram / 2);
    let own = tight || kquant_bytes >= OWN_KQUANT_BYTES;
    if own {
        tracing::debug!(
            "{}: {:.1} GB of k-quant matrices run on dich's AVX2 kernels, used where they lie in the mapped file",
            g.path.display(),
            kquant_bytes as f64 / 1e9,
        );
    }
    own
}

/// Matrix types that run without SIMD on this CPU: candle's scalar loops
/// (F16, BF16, F32 weights; Q4_1, Q5_0, Q5_1 without AVX2).
fn slow_on_cpu(dtype: GgmlDType) -> bool {
    let blocks = block_kernels_enabled();
    match dtype {
        GgmlDType::F16 | GgmlDType::BF16 | GgmlDType::F32 => true,
        GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1 => !blocks,
        _ => false,
    }
}

/// Names, at load, the weight types of `g`'s matrices that will run on a
/// slow CPU kernel (so a slow model is never silently slow).
pub(super) fn slow_types_warning(g: &GgufFile, cfg: &DecoderConfig) {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for (name, info) in g.tensor_infos() {
        let matrix =
            name.starts_with("blk.") && info.shape.dims().len() == 2 || name == "output.weight";
        if matrix && slow_on_cpu(info.ggml_dtype) {
            *counts.entry(format!("{:?}", info.ggml_dtype)).or_default() += 1;
        }
    }
    if !counts.is_empty() {
        let list: Vec<String> = counts
            .iter()
            .map(|(t, n)| format!("{n} {t} matrices"))
            .collect();
        tracing::warn!(
            "{}: {} have no fast kernel on this CPU (candle multiplies them \
             without SIMD): this {} model runs far below the speed of its size",
            g.path.display(),
            list.join(", "),
            cfg.architecture.name()
        );
    }
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        self.run(xs, false)
    }
}
