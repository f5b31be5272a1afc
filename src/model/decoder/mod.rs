//! Decoder-only transformers over GGUF quantized weights: Qwen2, Llama
//! (SmolLM2, Llama 3.x, Mistral-style), Qwen3 and Gemma 3, one forward pass
//! with the family switches of [`DecoderConfig`].
//!
//! The math follows candle-transformers' `quantized_qwen2`,
//! `quantized_llama`, `quantized_qwen3` and `quantized_gemma3` (and is tested
//! against them and against llama.cpp), but the key/value cache lives outside
//! the model in a [`KvCache`] the caller owns. That is what lets a pipeline
//! compute the instruction prefix once and start every sentence from a copy
//! of it.

use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{DType, Device, IndexOp, Module, Tensor, D};
use candle_transformers::quantized_nn::RmsNorm;
use candle_transformers::utils::repeat_kv;

use super::causal::{CausalLm, KvCache, LayerKv};
use crate::format::gguf::GgufFile;
use crate::kernels::attention::{causal_attention_many_windowed, AttnShape};
use crate::kernels::kquant::{matmul_many, PackedMatrix, Q8Rows};
use crate::kernels::q32::{self, BlockMatrix, BlockType, Q8Blocks};
use crate::model::{ModelError, Result};

mod config;
mod packed;

pub use config::{Architecture, DecoderConfig, SUPPORTED_ARCHITECTURES};
use packed::PackedBody;

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
enum Linear {
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
    fn new(t: Arc<QTensor>, own_kquants: bool) -> candle_core::Result<Self> {
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

    fn run(&self, xs: &Tensor, invariant: bool) -> candle_core::Result<Tensor> {
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
    fn run_many(ls: &[&Linear], xs: &Tensor, invariant: bool) -> candle_core::Result<Vec<Tensor>> {
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
            return blocks
                .iter()
                .map(|b| {
                    let mode = b.block_type().act_quant();
                    let at = match quantized.iter().position(|(q, _)| *q == mode) {
                        Some(i) => i,
                        None => {
                            quantized.push((mode, Q8Blocks::quantize(&flat, m, k, mode)));
                            quantized.len() - 1
                        }
                    };
                    let mut out = vec![0f32; m * b.rows()];
                    q32::matmul_into(b, &quantized[at].1, &mut out);
                    shaped(out, b.rows())
                })
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

/// Whether the k-quant matrices run on dich's AVX2 kernels instead of
/// candle's. candle's are faster here (measured: twice the decoding speed
/// on the 1.5B default) but keep a second, larger copy of every k-quant
/// matrix (a 4.9 GB 7B file took 10.9 GB of RAM, against 5.1 GB on ours).
/// So ours run when that copy would not fit comfortably: k-quant bytes
/// times 3 above half the machine's RAM (or `DICH_KERNELS=q32`).
fn own_kquant_kernels(g: &GgufFile, device: &Device) -> bool {
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
    let own = crate::util::mem_total_bytes().is_some_and(|ram| kquant_bytes * 3 > ram / 2);
    if own {
        tracing::info!(
            "{}: {:.1} GB of k-quant matrices run on dich's AVX2 kernels, keeping memory near the file's size \
             (candle's faster kernels would need about {:.1} GB more)",
            g.path.display(),
            kquant_bytes as f64 / 1e9,
            kquant_bytes as f64 * 1.25 / 1e9
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
fn slow_types_warning(g: &GgufFile, cfg: &DecoderConfig) {
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

struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    /// Qwen2's q/k/v biases.
    bias: Option<[Tensor; 3]>,
    /// Qwen3's and Gemma 3's per-head RMS norms of queries and keys.
    qk_norm: Option<[Tensor; 2]>,
    num_heads: usize,
    num_kv_heads: usize,
    head_dim: usize,
    eps: f64,
    /// Keys a sliding-window layer sees (itself included).
    window: Option<usize>,
    /// Extra query scaling (see [`DecoderConfig::query_scale`]).
    query_scale: Option<f32>,
}

struct Mlp {
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
    gelu: bool,
}

struct DecoderLayer {
    input_layernorm: RmsNorm,
    self_attn: Attention,
    /// Gemma's norm of the attention output, before the residual.
    post_attention_norm: Option<RmsNorm>,
    post_attention_layernorm: RmsNorm,
    mlp: Mlp,
    /// Gemma's norm of the MLP output, before the residual.
    post_ffw_norm: Option<RmsNorm>,
}

/// A decoder-only transformer of one of the [`Architecture`]s.
pub struct Decoder {
    cfg: DecoderConfig,
    /// Token embeddings, looked up row by row from the quantized matrix
    /// (never dequantized whole: that would be 0.9 GB of f32).
    embed_tokens: Arc<QTensor>,
    body: Body,
    device: Device,
}

/// The layers, in one of two forms.
enum Body {
    /// Every per-layer matrix on our packed CPU kernels: the whole pass runs
    /// on reused host buffers with fused row operations ([`PackedBody`]).
    /// Plain Qwen2/Llama layers only ([`DecoderConfig::plain`]).
    Packed(PackedBody),
    /// candle tensors and ops, our attention kernel on the CPU
    /// (accelerators, CPUs without AVX-512 VNNI, other quant types, other
    /// families, `DICH_KERNELS=candle`).
    Candle(CandleBody),
}

struct CandleBody {
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    lm_head: Linear,
    /// RoPE tables `[position, head_dim / 2]` of the global layers and of
    /// the sliding-window layers (the same tables when the bases agree).
    rope: RopeTables,
}

struct RopeTables {
    global: (Tensor, Tensor),
    local: (Tensor, Tensor),
}

impl RopeTables {
    fn new(cfg: &DecoderConfig, device: &Device) -> candle_core::Result<Self> {
        let global = rope_table(cfg, false, device)?;
        let local = if cfg.sliding_window.is_some() {
            rope_table(cfg, true, device)?
        } else {
            global.clone()
        };
        Ok(Self { global, local })
    }

    fn for_layer(&self, attn: &Attention) -> &(Tensor, Tensor) {
        if attn.window.is_some() {
            &self.local
        } else {
            &self.global
        }
    }
}

impl Mlp {
    fn forward(&self, xs: &Tensor, invariant: bool) -> candle_core::Result<Tensor> {
        let mut gu = Linear::run_many(&[&self.gate_proj, &self.up_proj], xs, invariant)?;
        let up = gu.pop().expect("two outputs");
        let gate = gu.pop().expect("two outputs");
        let act = if self.gelu {
            gate.gelu()?
        } else {
            candle_nn::ops::silu(&gate)?
        };
        self.down_proj.run(&(act * up)?, invariant)
    }
}

impl DecoderLayer {
    /// The residual stream after this layer, given the attention as a
    /// function of the normed input.
    fn forward(
        &self,
        xs: &Tensor,
        invariant: bool,
        attend: impl FnOnce(&Attention, &Tensor) -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<Tensor> {
        let h = self.input_layernorm.forward(xs)?;
        let mut h = attend(&self.self_attn, &h)?;
        if let Some(n) = &self.post_attention_norm {
            h = n.forward(&h)?;
        }
        let xs1 = (h + xs)?;
        let h = self.post_attention_layernorm.forward(&xs1)?;
        let mut h = self.mlp.forward(&h, invariant)?;
        if let Some(n) = &self.post_ffw_norm {
            h = n.forward(&h)?;
        }
        h + xs1
    }
}

impl Attention {
    /// q, k, v of `xs` (`[.., hidden]`), biases added, queries and keys
    /// normed per head where the family does, queries scaled where it does:
    /// `[.., heads * head_dim]` each.
    fn qkv(&self, xs: &Tensor, invariant: bool) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let mut qkv = Linear::run_many(&[&self.q_proj, &self.k_proj, &self.v_proj], xs, invariant)?;
        let mut v = qkv.pop().expect("three outputs");
        let mut k = qkv.pop().expect("three outputs");
        let mut q = qkv.pop().expect("three outputs");
        if let Some([qb, kb, vb]) = &self.bias {
            q = q.broadcast_add(qb)?;
            k = k.broadcast_add(kb)?;
            v = v.broadcast_add(vb)?;
        }
        if let Some([qn, kn]) = &self.qk_norm {
            q = self.head_norm(&q, qn, self.num_heads)?;
            k = self.head_norm(&k, kn, self.num_kv_heads)?;
        }
        if let Some(s) = self.query_scale {
            q = (q * s as f64)?;
        }
        Ok((q, k, v))
    }

    fn head_norm(&self, x: &Tensor, w: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
        let dims = x.dims().to_vec();
        let mut split = dims[..dims.len() - 1].to_vec();
        split.extend([heads, self.head_dim]);
        candle_nn::ops::rms_norm(&x.reshape(split)?, w, self.eps as f32)?.reshape(dims)
    }

    /// The accelerator path: one sequence `[1, seq, hidden]`.
    fn forward(
        &self,
        xs: &Tensor,
        pos: usize,
        cos: &Tensor,
        sin: &Tensor,
        cache: &mut Option<(Tensor, Tensor)>,
    ) -> candle_core::Result<Tensor> {
        let (b_sz, seq_len, _) = xs.dims3()?;
        let (q, k, v) = self.qkv(xs, false)?;

        let q = q
            .reshape((b_sz, seq_len, self.num_heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()?;
        let k = k
            .reshape((b_sz, seq_len, self.num_kv_heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()?;
        let v = v
            .reshape((b_sz, seq_len, self.num_kv_heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()?;

        let q = candle_nn::rotary_emb::rope(&q, cos, sin)?;
        let k = candle_nn::rotary_emb::rope(&k, cos, sin)?;

        let (k, v) = match cache.as_ref() {
            None => (k, v),
            Some((k_cache, v_cache)) => (
                Tensor::cat(&[k_cache, &k], 2)?,
                Tensor::cat(&[v_cache, &v], 2)?,
            ),
        };
        *cache = Some((k.clone(), v.clone()));

        let n_rep = self.num_heads / self.num_kv_heads;
        let k = repeat_kv(k, n_rep)?;
        let v = repeat_kv(v, n_rep)?;

        let att = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?;
        let att = match attention_mask(seq_len, pos, self.window, xs.device())? {
            None => att,
            Some(mask) => {
                let mask = mask.broadcast_as(att.shape())?;
                let neg_inf =
                    Tensor::new(f32::NEG_INFINITY, att.device())?.broadcast_as(att.shape())?;
                mask.where_cond(&neg_inf, &att)?
            }
        };
        let att = candle_nn::ops::softmax_last_dim(&att)?;
        let ys = att.matmul(&v.contiguous()?)?;
        let ys = ys
            .transpose(1, 2)?
            .reshape((b_sz, seq_len, self.num_heads * self.head_dim))?;
        self.o_proj.forward(&ys)
    }

    fn shape(&self) -> AttnShape {
        AttnShape {
            num_heads: self.num_heads,
            num_kv_heads: self.num_kv_heads,
            head_dim: self.head_dim,
        }
    }

    /// The CPU path over a batch of sequences whose rows are stacked in `xs`
    /// (`[rows, hidden]`): projections for all rows at once, then the new keys
    /// and values appended to each sequence's cache and attention per
    /// sequence over its own cache.
    fn forward_host(
        &self,
        xs: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        batch: &mut [(&[u32], &mut KvCache)],
        layer: usize,
        invariant: bool,
    ) -> candle_core::Result<Tensor> {
        let (rows, _hidden) = xs.dims2()?;
        let (q, k, v) = self.qkv(xs, invariant)?;
        let q = q.reshape((1, rows, self.num_heads, self.head_dim))?;
        let k = k.reshape((1, rows, self.num_kv_heads, self.head_dim))?;
        let q = candle_nn::rotary_emb::rope_thd(&q, cos, sin)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let k = candle_nn::rotary_emb::rope_thd(&k, cos, sin)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let v = v.flatten_all()?.to_vec1::<f32>()?;
        let shape = self.shape();
        let qd = self.num_heads * self.head_dim;
        let mut out = vec![0f32; rows * qd];
        append_and_attend(shape, self.window, batch, layer, &q, &k, &v, &mut out)?;
        let out = Tensor::from_vec(out, (rows, qd), xs.device())?;
        self.o_proj.run(&out, invariant)
    }
}

/// The mask of `seq_len` new rows after `pos` cached positions (1 =
/// hidden): later positions, and with a window the keys it no longer
/// covers. `None` when nothing is hidden.
fn attention_mask(
    seq_len: usize,
    pos: usize,
    window: Option<usize>,
    device: &Device,
) -> candle_core::Result<Option<Tensor>> {
    let total = pos + seq_len;
    let slides = window.is_some_and(|w| total > w);
    if seq_len == 1 && !slides {
        return Ok(None);
    }
    let mask: Vec<u8> = (0..seq_len)
        .flat_map(|i| {
            let p = pos + i;
            (0..total).map(move |j| {
                let late = j > p;
                let gone = window.is_some_and(|w| p - j.min(p) >= w);
                u8::from(late || gone)
            })
        })
        .collect();
    Ok(Some(Tensor::from_slice(&mask, (seq_len, total), device)?))
}

/// RoPE cos and sin, `[max_position, head_dim / 2]`, of one layer kind.
fn rope_table(
    cfg: &DecoderConfig,
    local: bool,
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor)> {
    let inv_freq = cfg.inv_freq(local);
    let n = inv_freq.len();
    let inv_freq = Tensor::from_vec(inv_freq, (1, n), device)?;
    let positions = Tensor::arange(0u32, cfg.max_position_embeddings as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((cfg.max_position_embeddings, 1))?;
    let freqs = positions.matmul(&inv_freq)?;
    Ok((freqs.cos()?, freqs.sin()?))
}

/// A small quantized tensor (a norm or a bias) as host f32 values.
fn f32s(t: &QTensor) -> Result<Vec<f32>> {
    Ok(t.dequantize(&Device::Cpu)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

/// The output projection and the final norm (also as f32 on the CPU, for
/// the packed body).
fn load_head(
    g: &mut GgufFile,
    device: &Device,
    cfg: &DecoderConfig,
    embed_tokens: &Arc<QTensor>,
) -> Result<(Linear, RmsNorm, Vec<f32>)> {
    // Small models tie the output projection to the embeddings.
    let lm_head = if g.has_tensor("output.weight") {
        Linear::new(
            Arc::new(g.tensor("output.weight", device)?),
            cfg.own_kquant_kernels,
        )?
    } else {
        Linear::new(embed_tokens.clone(), cfg.own_kquant_kernels)?
    };
    let norm_t = g.tensor("output_norm.weight", device)?;
    let norm_f32 = if device.is_cpu() {
        f32s(&norm_t)?
    } else {
        Vec::new()
    };
    let norm = RmsNorm::from_qtensor(norm_t, cfg.rms_norm_eps)?;
    Ok((lm_head, norm, norm_f32))
}

/// Undoes llama.cpp's permutation of Llama q/k weights: the file's rows
/// rotate adjacent pairs (`2i`, `2i + 1`) of each head; after this, row `i`
/// and row `i + head_dim / 2` form the pair, as in the other families. The
/// same permutation of queries and keys leaves every attention score
/// unchanged; only the RoPE layout changes. Rows are whole quantized
/// blocks, so this moves bytes and never changes a weight.
fn halves_from_adjacent_pairs(
    t: QTensor,
    heads: usize,
    head_dim: usize,
    device: &Device,
) -> candle_core::Result<QTensor> {
    let (rows, cols) = t.shape().dims2()?;
    if rows != heads * head_dim {
        candle_core::bail!("{rows} rows is not {heads} heads of {head_dim}");
    }
    let dtype = t.dtype();
    let row_bytes = cols / dtype.block_size() * dtype.type_size();
    let data = t.data()?;
    let mut out = vec![0u8; data.len()];
    let half = head_dim / 2;
    for h in 0..heads {
        for i in 0..half {
            for (src, dst) in [(2 * i, i), (2 * i + 1, half + i)] {
                let (s, d) = (
                    (h * head_dim + src) * row_bytes,
                    (h * head_dim + dst) * row_bytes,
                );
                out[d..d + row_bytes].copy_from_slice(&data[s..s + row_bytes]);
            }
        }
    }
    let storage = QStorage::from_data(std::borrow::Cow::Owned(out), device, dtype)?;
    QTensor::new(storage, (rows, cols))
}

/// Decoder layer `i`, and on the CPU its norm and bias vectors as f32 for
/// the packed body: `[attn_norm, ffn_norm, q_bias, k_bias, v_bias]` (zero
/// biases for families without them).
fn load_layer(
    g: &mut GgufFile,
    device: &Device,
    cfg: &DecoderConfig,
    i: usize,
) -> Result<(DecoderLayer, Option<[Vec<f32>; 5]>)> {
    let eps = cfg.rms_norm_eps;
    let head_dim = cfg.head_dim();
    let p = format!("blk.{i}");
    let has = |g: &GgufFile, name: &str| g.has_tensor(&format!("{p}.{name}"));
    let (wq, wk) = if cfg.rope_adjacent_pairs {
        // Permuted on the CPU, then placed on the device.
        let cpu = Device::Cpu;
        let wq = g.tensor(&format!("{p}.attn_q.weight"), &cpu)?;
        let wk = g.tensor(&format!("{p}.attn_k.weight"), &cpu)?;
        (
            halves_from_adjacent_pairs(wq, cfg.num_attention_heads, head_dim, device)?,
            halves_from_adjacent_pairs(wk, cfg.num_key_value_heads, head_dim, device)?,
        )
    } else {
        (
            g.tensor(&format!("{p}.attn_q.weight"), device)?,
            g.tensor(&format!("{p}.attn_k.weight"), device)?,
        )
    };
    let mut q = |name: &str| g.tensor(&format!("{p}.{name}"), device);
    let wv = q("attn_v.weight")?;
    let wo = q("attn_output.weight")?;
    let bias = if has(g, "attn_q.bias") {
        let mut b = |name: &str| -> Result<Tensor> {
            Ok(g.tensor(&format!("{p}.{name}"), device)?
                .dequantize(device)?)
        };
        let qb = b("attn_q.bias")?;
        let qb = if cfg.rope_adjacent_pairs {
            halves_of_vector(&qb, cfg.num_attention_heads, head_dim)?
        } else {
            qb
        };
        let kb = b("attn_k.bias")?;
        let kb = if cfg.rope_adjacent_pairs {
            halves_of_vector(&kb, cfg.num_key_value_heads, head_dim)?
        } else {
            kb
        };
        Some([qb, kb, b("attn_v.bias")?])
    } else {
        None
    };
    let mut q = |name: &str| g.tensor(&format!("{p}.{name}"), device);
    let qk_norm = if cfg.qk_norm {
        Some([
            q("attn_q_norm.weight")?.dequantize(device)?,
            q("attn_k_norm.weight")?.dequantize(device)?,
        ])
    } else {
        None
    };
    let self_attn = Attention {
        q_proj: Linear::new(Arc::new(wq), cfg.own_kquant_kernels)?,
        k_proj: Linear::new(Arc::new(wk), cfg.own_kquant_kernels)?,
        v_proj: Linear::new(Arc::new(wv), cfg.own_kquant_kernels)?,
        o_proj: Linear::new(Arc::new(wo), cfg.own_kquant_kernels)?,
        bias,
        qk_norm,
        num_heads: cfg.num_attention_heads,
        num_kv_heads: cfg.num_key_value_heads,
        head_dim,
        eps,
        window: cfg.window(i),
        query_scale: cfg.query_scale,
    };
    let mlp = Mlp {
        gate_proj: Linear::new(Arc::new(q("ffn_gate.weight")?), cfg.own_kquant_kernels)?,
        up_proj: Linear::new(Arc::new(q("ffn_up.weight")?), cfg.own_kquant_kernels)?,
        down_proj: Linear::new(Arc::new(q("ffn_down.weight")?), cfg.own_kquant_kernels)?,
        gelu: cfg.gelu,
    };
    let attn_norm = q("attn_norm.weight")?;
    let ffn_norm = q("ffn_norm.weight")?;
    let (post_attention_norm, post_ffw_norm) = if cfg.post_norms {
        (
            Some(RmsNorm::from_qtensor(
                q("post_attention_norm.weight")?,
                eps,
            )?),
            Some(RmsNorm::from_qtensor(q("post_ffw_norm.weight")?, eps)?),
        )
    } else {
        (None, None)
    };
    let vectors = if device.is_cpu() && cfg.plain() {
        let bias = |j: usize, n: usize| -> Result<Vec<f32>> {
            match &self_attn.bias {
                Some(b) => Ok(b[j].flatten_all()?.to_vec1::<f32>()?),
                None => Ok(vec![0.0; n]),
            }
        };
        Some([
            f32s(&attn_norm)?,
            f32s(&ffn_norm)?,
            bias(0, cfg.q_dim())?,
            bias(1, cfg.kv_dim())?,
            bias(2, cfg.kv_dim())?,
        ])
    } else {
        None
    };
    let layer = DecoderLayer {
        input_layernorm: RmsNorm::from_qtensor(attn_norm, eps)?,
        self_attn,
        post_attention_norm,
        post_attention_layernorm: RmsNorm::from_qtensor(ffn_norm, eps)?,
        mlp,
        post_ffw_norm,
    };
    Ok((layer, vectors))
}

/// [`halves_from_adjacent_pairs`] for a bias vector.
fn halves_of_vector(b: &Tensor, heads: usize, head_dim: usize) -> candle_core::Result<Tensor> {
    let v = b.flatten_all()?.to_vec1::<f32>()?;
    if v.len() != heads * head_dim {
        candle_core::bail!(
            "bias of {} values is not {heads} heads of {head_dim}",
            v.len()
        );
    }
    let half = head_dim / 2;
    let mut out = vec![0f32; v.len()];
    for h in 0..heads {
        for i in 0..half {
            out[h * head_dim + i] = v[h * head_dim + 2 * i];
            out[h * head_dim + half + i] = v[h * head_dim + 2 * i + 1];
        }
    }
    Tensor::from_vec(out, v.len(), b.device())
}

impl Decoder {
    pub fn load(g: &mut GgufFile, device: &Device) -> Result<Self> {
        let mut cfg = DecoderConfig::from_gguf(g)?;
        cfg.own_kquant_kernels = own_kquant_kernels(g, device);
        if g.has_tensor("rope_freqs.weight") {
            cfg.rope_freq_factors = Some(f32s(&g.tensor("rope_freqs.weight", &Device::Cpu)?)?);
        }

        let embed_tokens = Arc::new(g.tensor("token_embd.weight", device)?);
        let (lm_head, norm, norm_f32) = load_head(g, device, &cfg, &embed_tokens)?;

        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        // Norm and bias vectors as f32, for the packed body.
        let mut vectors = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let (layer, layer_vectors) = load_layer(g, device, &cfg, i)?;
            vectors.extend(layer_vectors);
            layers.push(layer);
        }
        let body = if device.is_cpu() && cfg.plain() && packed::all_packed(&layers) {
            Body::Packed(PackedBody::new(&cfg, layers, vectors, norm_f32, lm_head))
        } else {
            if device.is_cpu() {
                slow_types_warning(g, &cfg);
            }
            Body::Candle(CandleBody {
                layers,
                norm,
                lm_head,
                rope: RopeTables::new(&cfg, device)?,
            })
        };
        Ok(Self {
            cfg,
            embed_tokens,
            body,
            device: device.clone(),
        })
    }

    pub fn config(&self) -> &DecoderConfig {
        &self.cfg
    }

    /// Token embeddings of `tokens`, scaled where the family does.
    fn embed(&self, tokens: &Tensor) -> candle_core::Result<Tensor> {
        let xs = self.embed_tokens.embedding(tokens)?;
        match self.cfg.embed_scale {
            Some(s) => xs * s as f64,
            None => Ok(xs),
        }
    }

    /// The accelerator path: one sequence, candle tensors throughout.
    fn forward_device(
        &self,
        body: &CandleBody,
        tokens: &[u32],
        cache: &mut KvCache,
    ) -> candle_core::Result<Tensor> {
        let seq_len = tokens.len();
        let pos = cache.len;
        let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
        let mut xs = self.embed(&input)?;
        for (layer, slot) in body.layers.iter().zip(cache.layers.iter_mut()) {
            let LayerKv::Device(slot) = slot else {
                candle_core::bail!("a host key/value cache reached the device path");
            };
            let (cos, sin) = body.rope.for_layer(&layer.self_attn);
            let cos = cos.narrow(0, pos, seq_len)?;
            let sin = sin.narrow(0, pos, seq_len)?;
            xs = layer.forward(&xs, false, |attn, h| attn.forward(h, pos, &cos, &sin, slot))?;
        }
        cache.len += seq_len;
        // Only the last position's logits are needed to pick the next token.
        let last = xs.i((.., seq_len - 1..seq_len, ..))?;
        let last = body.norm.forward(&last)?;
        body.lm_head
            .forward(&last.squeeze(0)?)?
            .to_dtype(DType::F32)
    }

    /// The CPU path: all sequences' rows stacked into one `[rows, hidden]`
    /// activation, so every weight matrix is read once per step for the
    /// whole batch. Returns `[batch, vocab]`. With `invariant`, every row is
    /// computed exactly as it would be in any other batch (see [`Linear`]).
    fn forward_host(
        &self,
        body: &CandleBody,
        batch: &mut [(&[u32], &mut KvCache)],
        invariant: bool,
    ) -> candle_core::Result<Tensor> {
        let total: usize = batch.iter().map(|(t, _)| t.len()).sum();
        let mut tokens = Vec::with_capacity(total);
        let mut positions = Vec::with_capacity(total);
        let mut last_rows = Vec::with_capacity(batch.len());
        for (toks, cache) in batch.iter() {
            tokens.extend_from_slice(toks);
            positions.extend((cache.len..cache.len + toks.len()).map(|p| p as u32));
            last_rows.push((tokens.len() - 1) as u32);
        }
        let positions = Tensor::new(positions.as_slice(), &self.device)?;
        let rows = |(cos, sin): &(Tensor, Tensor)| -> candle_core::Result<(Tensor, Tensor)> {
            Ok((
                cos.index_select(&positions, 0)?,
                sin.index_select(&positions, 0)?,
            ))
        };
        let global = rows(&body.rope.global)?;
        let local = if self.cfg.sliding_window.is_some() {
            rows(&body.rope.local)?
        } else {
            global.clone()
        };
        let mut xs = self.embed(&Tensor::new(tokens.as_slice(), &self.device)?)?;
        for (i, layer) in body.layers.iter().enumerate() {
            let (cos, sin) = if layer.self_attn.window.is_some() {
                &local
            } else {
                &global
            };
            xs = layer.forward(&xs, invariant, |attn, h| {
                attn.forward_host(h, cos, sin, batch, i, invariant)
            })?;
        }
        for (toks, cache) in batch.iter_mut() {
            cache.len += toks.len();
        }
        let last = xs.index_select(&Tensor::new(last_rows.as_slice(), &self.device)?, 0)?;
        let last = body.norm.forward(&last)?;
        body.lm_head.run(&last, invariant)?.to_dtype(DType::F32)
    }

    fn check(&self, tokens: &[u32], cache: &KvCache) -> Result<()> {
        if tokens.is_empty() {
            return Err(ModelError::Internal("forward called with no tokens".into()));
        }
        let vocab = self.vocab_size();
        if let Some(bad) = tokens.iter().find(|&&t| t as usize >= vocab) {
            return Err(ModelError::Internal(format!(
                "token id {bad} is outside the vocabulary of {vocab}"
            )));
        }
        if cache.len + tokens.len() > self.cfg.max_position_embeddings {
            return Err(ModelError::ContextOverflow {
                needed: cache.len + tokens.len(),
                max: self.cfg.max_position_embeddings,
            });
        }
        let kind_ok = cache.layers.iter().all(|l| match l {
            LayerKv::Host { .. } => self.device.is_cpu(),
            LayerKv::Device(_) => !self.device.is_cpu(),
        });
        if cache.layers.len() != self.cfg.num_hidden_layers || !kind_ok {
            return Err(ModelError::Internal(
                "key/value cache belongs to another model".into(),
            ));
        }
        Ok(())
    }
}

/// Drops whatever a failed forward pass appended past `cache.len`, so a
/// cache is never left half-written.
fn rollback(cache: &mut KvCache, kv_dim: usize) {
    let keep = cache.len * kv_dim;
    for layer in cache.layers.iter_mut() {
        if let LayerKv::Host { k, v } = layer {
            k.truncate(keep);
            v.truncate(keep);
        }
    }
}

impl Decoder {
    fn forward_checked(
        &self,
        batch: &mut [(&[u32], &mut KvCache)],
        invariant: bool,
    ) -> Result<Tensor> {
        if batch.is_empty() {
            return Err(ModelError::Internal(
                "forward called with no sequences".into(),
            ));
        }
        for (tokens, cache) in batch.iter() {
            self.check(tokens, cache)?;
        }
        let body = match &self.body {
            Body::Candle(body) if !self.device.is_cpu() => {
                let mut rows = Vec::with_capacity(batch.len());
                for (tokens, cache) in batch.iter_mut() {
                    rows.push(self.forward_device(body, tokens, cache)?);
                }
                return Ok(Tensor::cat(&rows, 0)?);
            }
            Body::Candle(body) => Ok(body),
            Body::Packed(body) => Err(body),
        };
        let result = match body {
            Ok(body) => self.forward_host(body, batch, invariant),
            Err(body) => self.forward_packed(body, batch),
        };
        match result {
            Ok(logits) => Ok(logits),
            Err(e) => {
                let kv_dim = self.cfg.num_key_value_heads * self.cfg.head_dim();
                for (_, cache) in batch.iter_mut() {
                    rollback(cache, kv_dim);
                }
                Err(e.into())
            }
        }
    }
}

impl CausalLm for Decoder {
    /// One sequence with the fastest kernels.
    fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let logits = self.forward_checked(&mut [(tokens, cache)], false)?;
        Ok(logits.squeeze(0)?)
    }

    /// Batch-invariant: each row is bit-identical to what the same sequence
    /// gives in a batch of any other size or composition.
    fn forward_batch(&self, batch: &mut [(&[u32], &mut KvCache)]) -> Result<Tensor> {
        self.forward_checked(batch, true)
    }

    fn new_cache(&self) -> KvCache {
        if self.device.is_cpu() {
            KvCache::host(self.cfg.num_hidden_layers)
        } else {
            KvCache::device(self.cfg.num_hidden_layers)
        }
    }

    fn context_length(&self) -> usize {
        self.cfg.max_position_embeddings
    }

    fn vocab_size(&self) -> usize {
        self.embed_tokens.shape().dims2().map_or(0, |(n, _)| n)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

/// Logit index of the maximum, ties to the lowest index (as argmax does).
pub fn argmax(logits: &Tensor) -> Result<u32> {
    Ok(logits.argmax(D::Minus1)?.to_scalar::<u32>()?)
}

/// Appends each sequence's new keys and values (its rows of `k` and `v`,
/// stacked in batch order) to its host cache for `layer`, then computes
/// causal attention of its rows of `q` over its whole cache into `out`.
#[allow(clippy::too_many_arguments)]
fn append_and_attend(
    shape: AttnShape,
    window: Option<usize>,
    batch: &mut [(&[u32], &mut KvCache)],
    layer: usize,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    out: &mut [f32],
) -> candle_core::Result<()> {
    let (qd, kvd) = (shape.q_dim(), shape.kv_dim());
    let mut row = 0;
    for (tokens, cache) in batch.iter_mut() {
        let n = tokens.len();
        let LayerKv::Host { k: kc, v: vc } = &mut cache.layers[layer] else {
            candle_core::bail!("a device key/value cache reached the CPU path");
        };
        kc.extend_from_slice(&k[row * kvd..(row + n) * kvd]);
        vc.extend_from_slice(&v[row * kvd..(row + n) * kvd]);
        row += n;
    }
    let mut seqs = Vec::with_capacity(batch.len());
    let mut row = 0;
    for (tokens, cache) in batch.iter() {
        let n = tokens.len();
        let LayerKv::Host { k: kc, v: vc } = &cache.layers[layer] else {
            unreachable!("checked above");
        };
        seqs.push((&q[row * qd..(row + n) * qd], kc.as_slice(), vc.as_slice()));
        row += n;
    }
    causal_attention_many_windowed(shape, window, &seqs, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_mask_hides_late_and_old_keys() {
        // Two new rows after 3 cached positions, window 2.
        let m = attention_mask(2, 3, Some(2), &Device::Cpu)
            .unwrap()
            .unwrap()
            .to_vec2::<u8>()
            .unwrap();
        assert_eq!(m, vec![vec![1, 1, 0, 0, 1], vec![1, 1, 1, 0, 0]]);
        assert!(attention_mask(1, 3, None, &Device::Cpu).unwrap().is_none());
    }
}
