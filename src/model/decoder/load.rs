//! Reading a decoder's tensors from the GGUF: the output head, each
//! layer's projections, norms and biases (Llama's q/k rows put back in
//! half-split RoPE order), and the f32 vectors the packed body wants.

use std::sync::Arc;

use candle_core::quantized::{QStorage, QTensor};
use candle_core::{Device, Tensor};
use candle_transformers::quantized_nn::RmsNorm;

use super::linear::Linear;
use super::{Attention, DecoderConfig, DecoderLayer, Mlp};
use crate::format::gguf::GgufFile;
use crate::model::Result;

/// A small quantized tensor (a norm or a bias) as host f32 values.
pub(super) fn f32s(t: &QTensor) -> Result<Vec<f32>> {
    Ok(t.dequantize(&Device::Cpu)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

/// The output projection and the final norm (also as f32 on the CPU, for
/// the packed body).
pub(super) fn load_head(
    g: &mut GgufFile,
    device: &Device,
    cfg: &DecoderConfig,
    embed_tokens: &Arc<QTensor>,
) -> Result<(Linear, RmsNorm, Vec<f32>)> {
    // Small models tie the output projection to the embeddings.
    let lm_head = if g.has_tensor("output.weight") {
        Linear::from_file(g, "output.weight", device, cfg.own_kquant_kernels)?
    } else {
        match Linear::from_file(g, "token_embd.weight", device, cfg.own_kquant_kernels)? {
            // Mapped: the same bytes as the embeddings, not a copy.
            l @ Linear::Blocks(_) => l,
            _ => Linear::new(embed_tokens.clone(), cfg.own_kquant_kernels)?,
        }
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
pub(super) fn load_layer(
    g: &mut GgufFile,
    device: &Device,
    cfg: &DecoderConfig,
    i: usize,
) -> Result<(DecoderLayer, Option<[Vec<f32>; 5]>)> {
    let eps = cfg.rms_norm_eps;
    let head_dim = cfg.head_dim();
    let p = format!("blk.{i}");
    let has = |g: &GgufFile, name: &str| g.has_tensor(&format!("{p}.{name}"));
    let own = cfg.own_kquant_kernels;
    let (q_proj, k_proj) = if cfg.rope_adjacent_pairs {
        // Permuted on the CPU (so owned, not mapped), then placed on the
        // device.
        let cpu = Device::Cpu;
        let wq = g.tensor(&format!("{p}.attn_q.weight"), &cpu)?;
        let wk = g.tensor(&format!("{p}.attn_k.weight"), &cpu)?;
        let wq = halves_from_adjacent_pairs(wq, cfg.num_attention_heads, head_dim, device)?;
        let wk = halves_from_adjacent_pairs(wk, cfg.num_key_value_heads, head_dim, device)?;
        (
            Linear::new(Arc::new(wq), own)?,
            Linear::new(Arc::new(wk), own)?,
        )
    } else {
        (
            Linear::from_file(g, &format!("{p}.attn_q.weight"), device, own)?,
            Linear::from_file(g, &format!("{p}.attn_k.weight"), device, own)?,
        )
    };
    let v_proj = Linear::from_file(g, &format!("{p}.attn_v.weight"), device, own)?;
    let o_proj = Linear::from_file(g, &format!("{p}.attn_output.weight"), device, own)?;
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
        q_proj,
        k_proj,
        v_proj,
        o_proj,
        bias,
        qk_norm,
        num_heads: cfg.num_attention_heads,
        num_kv_heads: cfg.num_key_value_heads,
        head_dim,
        eps,
        window: cfg.window(i),
        query_scale: cfg.query_scale,
    };
    let mut ffn = |name: &str| Linear::from_file(g, &format!("{p}.{name}"), device, own);
    let mlp = Mlp {
        gate_proj: ffn("ffn_gate.weight")?,
        up_proj: ffn("ffn_up.weight")?,
        down_proj: ffn("ffn_down.weight")?,
        gelu: cfg.gelu,
    };
    let mut q = |name: &str| g.tensor(&format!("{p}.{name}"), device);
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
