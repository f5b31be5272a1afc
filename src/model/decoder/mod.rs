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

use candle_core::quantized::QTensor;
use candle_core::{DType, Device, IndexOp, Module, Tensor, D};
use candle_transformers::quantized_nn::RmsNorm;
use candle_transformers::utils::repeat_kv;
use half::f16;
use half::slice::HalfFloatSliceExt;

use super::causal::{CausalLm, KvCache, LayerKv};
use crate::format::gguf::GgufFile;
use crate::kernels::attention::{causal_attention_many_windowed, AttnShape};
use crate::kernels::vecmath;
use crate::model::{ModelError, Result};

mod config;
mod linear;
mod load;
mod packed;

pub use config::{Architecture, DecoderConfig, SUPPORTED_ARCHITECTURES};
pub use linear::{block_kernels_enabled, packed_kernels_enabled};
use linear::{own_kquant_kernels, slow_types_warning, Linear};
use load::{f32s, load_head, load_layer};
use packed::PackedBody;

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
        let hidden = if gate.device().is_cpu() && gate.dtype() == DType::F32 {
            // One pass, on both cores. GELU: candle's calls libm's tanh per
            // value (Gemma 3 270M's prompts ran about 20% faster without
            // it). SiLU: candle's own formula, so the same bits (see
            // `silu_mul_libm`); candle ran it on one core below 65,536
            // values, which a batch of 8 decoding rows waited on.
            let g = gate.flatten_all()?.to_vec1::<f32>()?;
            let u = up.flatten_all()?.to_vec1::<f32>()?;
            let mut out = vec![0f32; g.len()];
            let f = if self.gelu {
                vecmath::gelu_mul
            } else {
                vecmath::silu_mul_libm
            };
            vecmath::map2_parallel(f, &g, &u, &mut out);
            Tensor::from_vec(out, gate.shape(), gate.device())?
        } else {
            let act = if self.gelu {
                gate.gelu()?
            } else {
                candle_nn::ops::silu(&gate)?
            };
            (act * up)?
        };
        self.down_proj.run(&hidden, invariant)
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

/// Appends `x` to a key/value cache as f16 (round to nearest even; F16C
/// where the CPU has it).
fn append_halves(cache: &mut Vec<f16>, x: &[f32]) {
    let at = cache.len();
    cache.resize(at + x.len(), f16::ZERO);
    cache[at..].convert_from_f32_slice(x);
}

/// Appends each sequence's new keys and values (its rows of `k` and `v`,
/// stacked in batch order, as f16) to its host cache for `layer`, then
/// computes causal attention of its rows of `q` over its whole cache into
/// `out`.
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
        append_halves(kc, &k[row * kvd..(row + n) * kvd]);
        append_halves(vc, &v[row * kvd..(row + n) * kvd]);
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
