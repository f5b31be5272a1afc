//! The packed CPU path of [`Decoder`] (plain Qwen2/Llama layers): every per-layer matrix on our own
//! packed kernels, the whole pass on reused host buffers with norms and
//! activations fused into the quantization of the next matrix's input.

use std::sync::Mutex;

use candle_core::{DType, Tensor};

use super::{append_and_attend, Decoder, DecoderConfig, DecoderLayer, Linear};
use crate::kernels::attention::AttnShape;
use crate::kernels::kquant::{matmul_many_into, PackedMatrix, Q8Rows};
use crate::kernels::vecmath;
use crate::model::causal::KvCache;

/// One decoder layer with packed matrices and f32 norms and biases.
struct PackedLayer {
    attn_norm: Vec<f32>,
    q: PackedMatrix,
    k: PackedMatrix,
    v: PackedMatrix,
    o: PackedMatrix,
    q_bias: Vec<f32>,
    k_bias: Vec<f32>,
    v_bias: Vec<f32>,
    ffn_norm: Vec<f32>,
    gate: PackedMatrix,
    up: PackedMatrix,
    down: PackedMatrix,
}

pub(super) struct PackedBody {
    layers: Vec<PackedLayer>,
    norm: Vec<f32>,
    /// Packed when its type allows, else candle's kernel (one call a pass).
    lm_head: Linear,
    /// `[position][head_dim / 2]`.
    cos: Vec<f32>,
    sin: Vec<f32>,
    /// Activation buffers kept between passes, one set per concurrent pass:
    /// fresh multi-megabyte buffers every layer cost page faults that were
    /// a tenth of prefill time.
    scratch: Mutex<Vec<Scratch>>,
}

/// Host activations of one forward pass (grown as needed, never shrunk
/// below what the largest pass so far needed).
#[derive(Default)]
struct Scratch {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    attn: Vec<f32>,
    h: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    x8: Option<Q8Rows>,
}

/// Rows a packed pass takes at most; longer prompts run in several passes
/// (same results: rows never depend on the rows beside them), which bounds
/// the scratch buffers (about 90 MB at this size for a 1.5B model).
const MAX_PASS_ROWS: usize = 1024;

/// [`rope_table`](super::rope_table) as host vectors:
/// `[position][head_dim / 2]`, the same values (an f32 product of position
/// and frequency, then cos and sin).
fn rope_tables_host(cfg: &DecoderConfig) -> (Vec<f32>, Vec<f32>) {
    let inv_freq = cfg.inv_freq(false);
    let n = cfg.max_position_embeddings * inv_freq.len();
    let (mut cos, mut sin) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for p in 0..cfg.max_position_embeddings {
        for f in &inv_freq {
            let a = p as f32 * f;
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    (cos, sin)
}

/// Whether every per-layer matrix of `layers` runs on our packed kernels
/// (then the layers can become a [`PackedBody`]).
pub(super) fn all_packed(layers: &[DecoderLayer]) -> bool {
    layers.iter().all(|l| {
        [
            &l.self_attn.q_proj,
            &l.self_attn.k_proj,
            &l.self_attn.v_proj,
            &l.self_attn.o_proj,
            &l.mlp.gate_proj,
            &l.mlp.up_proj,
            &l.mlp.down_proj,
        ]
        .iter()
        .all(|l| matches!(l, Linear::Packed(_)))
    })
}

impl PackedBody {
    /// The packed body of `layers` (every matrix packed: see [`all_packed`])
    /// with their f32 norm and bias `vectors`, the final norm `norm_f32` and
    /// the output projection.
    pub(super) fn new(
        cfg: &DecoderConfig,
        layers: Vec<DecoderLayer>,
        vectors: Vec<[Vec<f32>; 5]>,
        norm_f32: Vec<f32>,
        lm_head: Linear,
    ) -> Self {
        let (cos, sin) = rope_tables_host(cfg);
        let mut packed = Vec::with_capacity(layers.len());
        for (l, [attn_norm, ffn_norm, q_bias, k_bias, v_bias]) in layers.into_iter().zip(vectors) {
            let (
                Linear::Packed(q),
                Linear::Packed(k),
                Linear::Packed(v),
                Linear::Packed(o),
                Linear::Packed(gate),
                Linear::Packed(up),
                Linear::Packed(down),
            ) = (
                l.self_attn.q_proj,
                l.self_attn.k_proj,
                l.self_attn.v_proj,
                l.self_attn.o_proj,
                l.mlp.gate_proj,
                l.mlp.up_proj,
                l.mlp.down_proj,
            )
            else {
                unreachable!("checked above that every matrix is packed");
            };
            packed.push(PackedLayer {
                attn_norm,
                q,
                k,
                v,
                o,
                q_bias,
                k_bias,
                v_bias,
                ffn_norm,
                gate,
                up,
                down,
            });
        }
        PackedBody {
            layers: packed,
            norm: norm_f32,
            lm_head,
            cos,
            sin,
            scratch: Mutex::new(Vec::new()),
        }
    }
}

impl Decoder {
    /// The packed CPU path: [`Self::forward_packed_pass`] over groups of
    /// sequences of at most [`MAX_PASS_ROWS`] rows (a longer prompt alone,
    /// in several passes). Returns `[batch, vocab]`.
    pub(super) fn forward_packed(
        &self,
        body: &PackedBody,
        batch: &mut [(&[u32], &mut KvCache)],
    ) -> candle_core::Result<Tensor> {
        let mut logits = Vec::new();
        let mut i = 0;
        while i < batch.len() {
            let mut j = i + 1;
            let mut rows = batch[i].0.len();
            while j < batch.len() && rows + batch[j].0.len() <= MAX_PASS_ROWS {
                rows += batch[j].0.len();
                j += 1;
            }
            if rows > MAX_PASS_ROWS {
                let (tokens, cache) = &mut batch[i];
                let mut last = Vec::new();
                for chunk in tokens.chunks(MAX_PASS_ROWS) {
                    last.clear();
                    self.forward_packed_pass(body, &mut [(chunk, &mut **cache)], &mut last)?;
                }
                logits.extend(last);
            } else {
                self.forward_packed_pass(body, &mut batch[i..j], &mut logits)?;
            }
            i = j;
        }
        let vocab = logits.len() / batch.len();
        Tensor::from_vec(logits, (batch.len(), vocab), &self.device)
    }

    /// One pass of all sequences' rows stacked (`[rows, hidden]`) through
    /// the packed layers, on reused buffers, with norms and activations
    /// fused into the quantization of the next matrix's input. Appends the
    /// logits of each sequence's last row to `logits`. Every row is computed
    /// the same way whatever else is in the pass (batch invariance).
    fn forward_packed_pass(
        &self,
        body: &PackedBody,
        batch: &mut [(&[u32], &mut KvCache)],
        logits: &mut Vec<f32>,
    ) -> candle_core::Result<()> {
        let cfg = &self.cfg;
        let (hidden, hd) = (cfg.hidden_size, cfg.head_dim());
        let half = hd / 2;
        let (qd, kvd) = (cfg.num_attention_heads * hd, cfg.num_key_value_heads * hd);
        let eps = cfg.rms_norm_eps as f32;
        let inter = body.layers.first().map_or(0, |l| l.gate.rows());
        let shape = AttnShape {
            num_heads: cfg.num_attention_heads,
            num_kv_heads: cfg.num_key_value_heads,
            head_dim: hd,
        };
        let mut tokens = Vec::new();
        let mut positions = Vec::new();
        let mut last_rows = Vec::with_capacity(batch.len());
        for (toks, cache) in batch.iter() {
            tokens.extend_from_slice(toks);
            positions.extend(cache.len..cache.len + toks.len());
            last_rows.push(tokens.len() - 1);
        }
        let m = tokens.len();
        let mut xs = self
            .embed_tokens
            .embedding(&Tensor::new(tokens.as_slice(), &self.device)?)?
            .flatten_all()?
            .to_vec1::<f32>()?;

        let mut sc = body
            .scratch
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_default();
        fn sized(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
            if v.len() < n {
                v.resize(n, 0.0);
            }
            &mut v[..n]
        }
        let Scratch {
            q,
            k,
            v,
            attn,
            h,
            gate,
            up,
            x8,
        } = &mut sc;
        let x8 = x8.get_or_insert_with(Q8Rows::empty);
        let (q, k, v) = (sized(q, m * qd), sized(k, m * kvd), sized(v, m * kvd));
        let (attn, h) = (sized(attn, m * qd), sized(h, m * hidden));
        let (gate, up) = (sized(gate, m * inter), sized(up, m * inter));

        for (li, l) in body.layers.iter().enumerate() {
            x8.fill(m, hidden, |r, row| {
                vecmath::rms_norm(&xs[r * hidden..][..hidden], &l.attn_norm, eps, row)
            });
            matmul_many_into(&[&l.q, &l.k, &l.v], x8, &mut [&mut *q, &mut *k, &mut *v]);
            for (r, &pos) in positions.iter().enumerate() {
                let (cos, sin) = (
                    &body.cos[pos * half..][..half],
                    &body.sin[pos * half..][..half],
                );
                vecmath::bias_rope(&mut q[r * qd..][..qd], &l.q_bias, cos, sin);
                vecmath::bias_rope(&mut k[r * kvd..][..kvd], &l.k_bias, cos, sin);
                vecmath::add_assign(&mut v[r * kvd..][..kvd], &l.v_bias);
            }
            append_and_attend(shape, None, batch, li, q, k, v, attn)?;
            x8.fill(m, qd, |r, row| row.copy_from_slice(&attn[r * qd..][..qd]));
            matmul_many_into(&[&l.o], x8, &mut [&mut *h]);
            vecmath::add_assign(&mut xs, h);

            x8.fill(m, hidden, |r, row| {
                vecmath::rms_norm(&xs[r * hidden..][..hidden], &l.ffn_norm, eps, row)
            });
            matmul_many_into(&[&l.gate, &l.up], x8, &mut [&mut *gate, &mut *up]);
            x8.fill(m, inter, |r, row| {
                vecmath::silu_mul(&gate[r * inter..][..inter], &up[r * inter..][..inter], row)
            });
            matmul_many_into(&[&l.down], x8, &mut [&mut *h]);
            vecmath::add_assign(&mut xs, h);
        }
        for (toks, cache) in batch.iter_mut() {
            cache.len += toks.len();
        }

        let b = last_rows.len();
        let norm_row = |i: usize, row: &mut [f32]| {
            vecmath::rms_norm(&xs[last_rows[i] * hidden..][..hidden], &body.norm, eps, row)
        };
        match &body.lm_head {
            Linear::Packed(p) => {
                x8.fill(b, hidden, norm_row);
                let start = logits.len();
                logits.resize(start + b * p.rows(), 0.0);
                matmul_many_into(&[p], x8, &mut [&mut logits[start..]]);
            }
            head @ (Linear::Candle { .. } | Linear::Blocks(_)) => {
                let mut normed = vec![0f32; b * hidden];
                for (i, row) in normed.chunks_exact_mut(hidden).enumerate() {
                    norm_row(i, row);
                }
                let normed = Tensor::from_vec(normed, (b, hidden), &self.device)?;
                let out = head.run(&normed, true)?.to_dtype(DType::F32)?;
                logits.extend(out.flatten_all()?.to_vec1::<f32>()?);
            }
        }
        if let Ok(mut pool) = body.scratch.lock() {
            pool.push(sc);
        }
        Ok(())
    }
}
