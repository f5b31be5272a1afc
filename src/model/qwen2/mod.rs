//! Qwen2 decoder over GGUF quantized weights.
//!
//! The math follows `candle_transformers::models::quantized_qwen2` (and is
//! tested against it), but the key/value cache lives outside the model in a
//! [`KvCache`] the caller owns. That is what lets a pipeline compute the
//! instruction prefix once and start every sentence from a copy of it.

use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, IndexOp, Module, Tensor, D};
use candle_transformers::quantized_nn::RmsNorm;
use candle_transformers::utils::repeat_kv;

use super::causal::{CausalLm, KvCache, LayerKv};
use crate::format::gguf::GgufFile;
use crate::format::FormatError;
use crate::kernels::attention::{causal_attention_many, AttnShape};
use crate::kernels::kquant::{matmul_many, PackedMatrix, Q8Rows};
use crate::model::{ModelError, Result};

mod packed;

use packed::PackedBody;

/// Hyper-parameters, read from the GGUF's `qwen2.*` metadata.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Qwen2Config {
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub max_position_embeddings: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f32,
}

impl Qwen2Config {
    pub fn from_gguf(g: &GgufFile) -> Result<Self> {
        let cfg = Self {
            hidden_size: g.md_u32("qwen2.embedding_length")? as usize,
            num_hidden_layers: g.md_u32("qwen2.block_count")? as usize,
            num_attention_heads: g.md_u32("qwen2.attention.head_count")? as usize,
            num_key_value_heads: g.md_u32("qwen2.attention.head_count_kv")? as usize,
            max_position_embeddings: g.md_u32("qwen2.context_length")? as usize,
            rms_norm_eps: g.md_f32("qwen2.attention.layer_norm_rms_epsilon")? as f64,
            // Qwen2's upstream default when a converter left it out.
            rope_theta: g.md_f32("qwen2.rope.freq_base").unwrap_or(10_000.0),
        };
        let heads_ok = cfg.num_attention_heads > 0
            && cfg.num_key_value_heads > 0
            && cfg.hidden_size.is_multiple_of(cfg.num_attention_heads)
            && cfg
                .num_attention_heads
                .is_multiple_of(cfg.num_key_value_heads);
        if !heads_ok || cfg.num_hidden_layers == 0 || cfg.max_position_embeddings == 0 {
            return Err(FormatError::InvalidModel {
                path: g.path.clone(),
                message: format!("inconsistent qwen2 hyper-parameters: {cfg:?}"),
            }
            .into());
        }
        Ok(cfg)
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

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
    Candle { inner: QMatMul, q6k_cpu: bool },
}

/// Whether our packed CPU kernels are used for the matrices they support:
/// the CPU has them and `DICH_KERNELS` is not `candle`.
pub fn packed_kernels_enabled() -> bool {
    PackedMatrix::supported() && std::env::var("DICH_KERNELS").map_or(true, |v| v != "candle")
}

impl Linear {
    fn new(t: Arc<QTensor>) -> candle_core::Result<Self> {
        if packed_kernels_enabled() && PackedMatrix::packable(&t) {
            return Ok(Self::Packed(PackedMatrix::from_qtensor(&t)?));
        }
        let q6k_cpu = t.dtype() == GgmlDType::Q6K && t.device().is_cpu();
        Ok(Self::Candle {
            inner: QMatMul::from_arc(t)?,
            q6k_cpu,
        })
    }

    fn run(&self, xs: &Tensor, invariant: bool) -> candle_core::Result<Tensor> {
        match self {
            Self::Packed(_) => Ok(Self::run_many(&[self], xs, invariant)?.remove(0)),
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
                Self::Candle { .. } => None,
            })
            .collect();
        let Some(packed) = packed else {
            return ls.iter().map(|l| l.run(xs, invariant)).collect();
        };
        let dims = xs.dims().to_vec();
        let Some((&k, lead)) = dims.split_last() else {
            candle_core::bail!("a projection got a scalar input");
        };
        let m: usize = lead.iter().product();
        let flat = xs.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        for p in &packed {
            if p.cols() != k {
                candle_core::bail!("projection expects {} inputs, got {k}", p.cols());
            }
        }
        let x = Q8Rows::quantize(&flat, m, k);
        matmul_many(&packed, &x)
            .into_iter()
            .zip(&packed)
            .map(|(out, p)| {
                let mut shape = lead.to_vec();
                shape.push(p.rows());
                Tensor::from_vec(out, shape, xs.device())
            })
            .collect()
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
    q_bias: Tensor,
    k_bias: Tensor,
    v_bias: Tensor,
    num_heads: usize,
    num_kv_heads: usize,
    head_dim: usize,
}

struct Mlp {
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

struct DecoderLayer {
    input_layernorm: RmsNorm,
    self_attn: Attention,
    post_attention_layernorm: RmsNorm,
    mlp: Mlp,
}

pub struct Qwen2 {
    cfg: Qwen2Config,
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
    Packed(PackedBody),
    /// candle tensors and ops (accelerators, CPUs without AVX-512 VNNI,
    /// other quant types, `DICH_KERNELS=candle`).
    Candle(CandleBody),
}

struct CandleBody {
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    lm_head: Linear,
    cos: Tensor,
    sin: Tensor,
}

impl Mlp {
    fn forward(&self, xs: &Tensor, invariant: bool) -> candle_core::Result<Tensor> {
        let mut gu = Linear::run_many(&[&self.gate_proj, &self.up_proj], xs, invariant)?;
        let up = gu.pop().expect("two outputs");
        let gate = gu.pop().expect("two outputs");
        self.down_proj
            .run(&(candle_nn::ops::silu(&gate)? * up)?, invariant)
    }
}

impl Attention {
    fn forward(
        &self,
        xs: &Tensor,
        mask: Option<&Tensor>,
        cos: &Tensor,
        sin: &Tensor,
        cache: &mut Option<(Tensor, Tensor)>,
    ) -> candle_core::Result<Tensor> {
        let (b_sz, seq_len, hidden) = xs.dims3()?;
        let q = self.q_proj.forward(xs)?.broadcast_add(&self.q_bias)?;
        let k = self.k_proj.forward(xs)?.broadcast_add(&self.k_bias)?;
        let v = self.v_proj.forward(xs)?.broadcast_add(&self.v_bias)?;

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
        let att = match mask {
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
        let ys = ys.transpose(1, 2)?.reshape((b_sz, seq_len, hidden))?;
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
        let mut qkv = Linear::run_many(&[&self.q_proj, &self.k_proj, &self.v_proj], xs, invariant)?;
        let v = qkv
            .pop()
            .expect("three outputs")
            .broadcast_add(&self.v_bias)?;
        let k = qkv
            .pop()
            .expect("three outputs")
            .broadcast_add(&self.k_bias)?;
        let q = qkv
            .pop()
            .expect("three outputs")
            .broadcast_add(&self.q_bias)?;
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
        append_and_attend(shape, batch, layer, &q, &k, &v, &mut out)?;
        let out = Tensor::from_vec(out, (rows, qd), xs.device())?;
        self.o_proj.run(&out, invariant)
    }
}

fn rope_tables(cfg: &Qwen2Config, device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let head_dim = cfg.head_dim();
    let inv_freq: Vec<f32> = (0..head_dim)
        .step_by(2)
        .map(|i| 1f32 / cfg.rope_theta.powf(i as f32 / head_dim as f32))
        .collect();
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
    cfg: &Qwen2Config,
    embed_tokens: &Arc<QTensor>,
) -> Result<(Linear, RmsNorm, Vec<f32>)> {
    // Small Qwen2 models tie the output projection to the embeddings.
    let lm_head = if g.has_tensor("output.weight") {
        Linear::new(Arc::new(g.tensor("output.weight", device)?))?
    } else {
        Linear::new(embed_tokens.clone())?
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

/// Decoder layer `i`, and on the CPU its norm and bias vectors as f32 for
/// the packed body: `[attn_norm, ffn_norm, q_bias, k_bias, v_bias]`.
fn load_layer(
    g: &mut GgufFile,
    device: &Device,
    cfg: &Qwen2Config,
    i: usize,
) -> Result<(DecoderLayer, Option<[Vec<f32>; 5]>)> {
    let eps = cfg.rms_norm_eps;
    let head_dim = cfg.head_dim();
    let p = format!("blk.{i}");
    let mut q = |name: &str| g.tensor(&format!("{p}.{name}"), device);
    let self_attn = Attention {
        q_proj: Linear::new(Arc::new(q("attn_q.weight")?))?,
        k_proj: Linear::new(Arc::new(q("attn_k.weight")?))?,
        v_proj: Linear::new(Arc::new(q("attn_v.weight")?))?,
        o_proj: Linear::new(Arc::new(q("attn_output.weight")?))?,
        q_bias: q("attn_q.bias")?.dequantize(device)?,
        k_bias: q("attn_k.bias")?.dequantize(device)?,
        v_bias: q("attn_v.bias")?.dequantize(device)?,
        num_heads: cfg.num_attention_heads,
        num_kv_heads: cfg.num_key_value_heads,
        head_dim,
    };
    let mlp = Mlp {
        gate_proj: Linear::new(Arc::new(q("ffn_gate.weight")?))?,
        up_proj: Linear::new(Arc::new(q("ffn_up.weight")?))?,
        down_proj: Linear::new(Arc::new(q("ffn_down.weight")?))?,
    };
    let attn_norm = q("attn_norm.weight")?;
    let ffn_norm = q("ffn_norm.weight")?;
    let vectors = if device.is_cpu() {
        Some([
            f32s(&attn_norm)?,
            f32s(&ffn_norm)?,
            self_attn.q_bias.flatten_all()?.to_vec1::<f32>()?,
            self_attn.k_bias.flatten_all()?.to_vec1::<f32>()?,
            self_attn.v_bias.flatten_all()?.to_vec1::<f32>()?,
        ])
    } else {
        None
    };
    let layer = DecoderLayer {
        input_layernorm: RmsNorm::from_qtensor(attn_norm, eps)?,
        self_attn,
        post_attention_layernorm: RmsNorm::from_qtensor(ffn_norm, eps)?,
        mlp,
    };
    Ok((layer, vectors))
}

impl Qwen2 {
    pub fn load(g: &mut GgufFile, device: &Device) -> Result<Self> {
        let cfg = Qwen2Config::from_gguf(g)?;

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
        let body = if device.is_cpu() && packed::all_packed(&layers) {
            Body::Packed(PackedBody::new(&cfg, layers, vectors, norm_f32, lm_head))
        } else {
            let (cos, sin) = rope_tables(&cfg, device)?;
            Body::Candle(CandleBody {
                layers,
                norm,
                lm_head,
                cos,
                sin,
            })
        };
        Ok(Self {
            cfg,
            embed_tokens,
            body,
            device: device.clone(),
        })
    }

    pub fn config(&self) -> &Qwen2Config {
        &self.cfg
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
        let mask = if seq_len > 1 {
            Some(candle_transformers::utils::build_causal_mask(
                seq_len,
                pos,
                &self.device,
            )?)
        } else {
            None
        };
        let cos = body.cos.narrow(0, pos, seq_len)?;
        let sin = body.sin.narrow(0, pos, seq_len)?;
        let mut xs = self.embed_tokens.embedding(&input)?;
        for (layer, slot) in body.layers.iter().zip(cache.layers.iter_mut()) {
            let LayerKv::Device(slot) = slot else {
                candle_core::bail!("a host key/value cache reached the device path");
            };
            let residual = &xs;
            let h = layer.input_layernorm.forward(&xs)?;
            let h = layer
                .self_attn
                .forward(&h, mask.as_ref(), &cos, &sin, slot)?;
            let xs1 = (h + residual)?;
            let h = layer.post_attention_layernorm.forward(&xs1)?;
            let h = layer.mlp.forward(&h, false)?;
            xs = (h + &xs1)?;
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
        let cos = body.cos.index_select(&positions, 0)?;
        let sin = body.sin.index_select(&positions, 0)?;
        let mut xs = self
            .embed_tokens
            .embedding(&Tensor::new(tokens.as_slice(), &self.device)?)?;
        for (i, layer) in body.layers.iter().enumerate() {
            let h = layer.input_layernorm.forward(&xs)?;
            let h = layer
                .self_attn
                .forward_host(&h, &cos, &sin, batch, i, invariant)?;
            let xs1 = (h + &xs)?;
            let h = layer.post_attention_layernorm.forward(&xs1)?;
            xs = (layer.mlp.forward(&h, invariant)? + &xs1)?;
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

impl Qwen2 {
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

impl CausalLm for Qwen2 {
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
fn append_and_attend(
    shape: AttnShape,
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
    causal_attention_many(shape, &seqs, out);
    Ok(())
}
