//! Linear layers of the Marian forward pass on host memory: `y = x W^T + b`
//! for a block of rows, with the weights kept as f32 or quantized to 8 bits
//! (GGML `Q8_0`: blocks of 32 int8 values with one f16 scale).
//!
//! f32 runs on [`crate::kernels::sgemm`], 8-bit on candle's CPU quantized matmul;
//! both compute every output element as one dot product of an input row
//! with a weight row whose summation order depends only on the column,
//! never on how many rows come along. That is what makes a batch of sentences give exactly the numbers
//! of each sentence alone. For `Q8_0` the input rows are quantized to 8 bits
//! per row (blocks of 32), also independently of the other rows.

use candle_core::quantized::k_quants::{self, BlockQ8_0, GgmlType};

use crate::model::{ModelError, Result};

/// How the linear layers keep their weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightFormat {
    /// As stored (f16/bf16 checkpoints are widened to f32).
    #[default]
    F32,
    /// 8-bit weights (`Q8_0`), 8-bit activations, f32 accumulation.
    Q8,
}

impl WeightFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "none" | "float32" => Some(Self::F32),
            "q8" | "q8_0" | "int8" => Some(Self::Q8),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Q8 => "q8",
        }
    }
}

#[derive(Debug, Clone)]
enum Weights {
    /// Shared, so a tied output projection reuses the embedding table.
    F32(std::sync::Arc<Vec<f32>>),
    /// Per-row int8, VNNI kernel (CPUs with AVX-512 VNNI).
    I8(crate::kernels::igemm::I8Matrix),
    /// candle's `Q8_0` (other CPUs).
    Q8(Vec<BlockQ8_0>),
}

/// `out = x W^T + b` with `W` of shape `[out_dim, in_dim]` (torch layout).
#[derive(Debug, Clone)]
pub struct Linear {
    weights: Weights,
    bias: Option<Vec<f32>>,
    in_dim: usize,
    out_dim: usize,
}

impl Linear {
    /// `weight` is row-major `[out_dim, in_dim]`.
    pub fn new(
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        out_dim: usize,
        in_dim: usize,
        format: WeightFormat,
    ) -> Result<Self> {
        Self::shared(std::sync::Arc::new(weight), bias, out_dim, in_dim, format)
    }

    /// [`Self::new`] over weights that others hold too (f32 keeps a
    /// reference, not a copy).
    pub fn shared(
        weight: std::sync::Arc<Vec<f32>>,
        bias: Option<Vec<f32>>,
        out_dim: usize,
        in_dim: usize,
        format: WeightFormat,
    ) -> Result<Self> {
        if weight.len() != out_dim * in_dim {
            return Err(ModelError::Internal(format!(
                "linear weight has {} values, expected {out_dim}x{in_dim}",
                weight.len()
            )));
        }
        if bias.as_ref().is_some_and(|b| b.len() != out_dim) {
            return Err(ModelError::Internal(format!(
                "linear bias length differs from {out_dim}"
            )));
        }
        let weights = match format {
            WeightFormat::F32 => Weights::F32(weight),
            WeightFormat::Q8 if crate::kernels::igemm::supported() => Weights::I8(
                crate::kernels::igemm::I8Matrix::quantize(&weight, out_dim, in_dim),
            ),
            WeightFormat::Q8 => {
                if !in_dim.is_multiple_of(BlockQ8_0::BLCK_SIZE) {
                    return Err(ModelError::Internal(format!(
                        "8-bit weights need an input width divisible by {}, got {in_dim}",
                        BlockQ8_0::BLCK_SIZE
                    )));
                }
                let per_row = in_dim / BlockQ8_0::BLCK_SIZE;
                let mut blocks = vec![BlockQ8_0::zeros(); out_dim * per_row];
                for (row, out) in weight
                    .chunks_exact(in_dim)
                    .zip(blocks.chunks_exact_mut(per_row))
                {
                    BlockQ8_0::from_float(row, out);
                }
                Weights::Q8(blocks)
            }
        };
        Ok(Self {
            weights,
            bias,
            in_dim,
            out_dim,
        })
    }

    pub fn in_dim(&self) -> usize {
        self.in_dim
    }

    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    /// Bytes the weights take.
    pub fn weight_bytes(&self) -> usize {
        match &self.weights {
            Weights::F32(w) => w.len() * 4,
            Weights::Q8(b) => std::mem::size_of_val(b.as_slice()),
            Weights::I8(m) => m.bytes(),
        }
    }

    /// `x` holds `rows` rows of `in_dim`; returns `rows` rows of `out_dim`.
    pub fn forward(&self, x: &[f32], rows: usize) -> Result<Vec<f32>> {
        let mut out = vec![0f32; rows * self.out_dim];
        self.forward_into(x, rows, &mut out)?;
        Ok(out)
    }

    pub fn forward_into(&self, x: &[f32], rows: usize, out: &mut [f32]) -> Result<()> {
        if x.len() != rows * self.in_dim || out.len() != rows * self.out_dim {
            return Err(ModelError::Internal(format!(
                "linear {}->{}: {} inputs / {} outputs for {rows} rows",
                self.in_dim,
                self.out_dim,
                x.len(),
                out.len()
            )));
        }
        if rows == 0 {
            return Ok(());
        }
        let shape = (rows, self.in_dim, self.out_dim);
        match &self.weights {
            Weights::F32(w) => {
                crate::kernels::sgemm::matmul_nt(x, rows, w, self.out_dim, self.in_dim, out)
            }
            Weights::I8(m) => m.matmul(x, rows, out),
            Weights::Q8(w) => k_quants::matmul::<BlockQ8_0>(shape, x, w, out)
                .map_err(|e| ModelError::Candle(crate::format::candle_root(e)))?,
        }
        if let Some(b) = &self.bias {
            for row in out.chunks_exact_mut(self.out_dim) {
                for (o, &bv) in row.iter_mut().zip(b) {
                    *o += bv;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn f32_matches_a_plain_dot_and_is_row_independent() {
        let (o, i, rows) = (37, 64, 5);
        let w = lcg(o * i, 1);
        let b = lcg(o, 2);
        let x = lcg(rows * i, 3);
        let lin = Linear::new(w.clone(), Some(b.clone()), o, i, WeightFormat::F32).unwrap();
        let all = lin.forward(&x, rows).unwrap();
        for r in 0..rows {
            let one = lin.forward(&x[r * i..(r + 1) * i], 1).unwrap();
            assert_eq!(one, all[r * o..(r + 1) * o], "row {r} differs alone");
            for c in 0..o {
                let want: f32 = (0..i).map(|k| x[r * i + k] * w[c * i + k]).sum::<f32>() + b[c];
                assert!((want - one[c]).abs() < 1e-4, "{want} vs {}", one[c]);
            }
        }
    }

    #[test]
    fn q8_is_close_to_f32_and_row_independent() {
        let (o, i, rows) = (19, 96, 4);
        let w = lcg(o * i, 4);
        let x = lcg(rows * i, 5);
        let f = Linear::new(w.clone(), None, o, i, WeightFormat::F32).unwrap();
        let q = Linear::new(w, None, o, i, WeightFormat::Q8).unwrap();
        let yf = f.forward(&x, rows).unwrap();
        let yq = q.forward(&x, rows).unwrap();
        for (a, b) in yf.iter().zip(&yq) {
            assert!((a - b).abs() < 0.02, "{a} vs {b}");
        }
        let first = q.forward(&x[..i], 1).unwrap();
        assert_eq!(first, yq[..o]);
        assert!(q.weight_bytes() * 3 < f.weight_bytes());
    }

    #[test]
    fn q8_needs_whole_blocks_and_shapes_are_checked() {
        // Widths that are not whole 32-value blocks: padded by the int8
        // kernel, refused by candle's Q8_0 (the fallback without VNNI).
        let odd = Linear::new(vec![0.5; 3 * 40], None, 3, 40, WeightFormat::Q8);
        if crate::kernels::igemm::supported() {
            let y = odd.unwrap().forward(&[1.0; 40], 1).unwrap();
            assert!(y.iter().all(|v| (v - 20.0).abs() < 0.2), "{y:?}");
        } else {
            assert!(odd.is_err());
        }
        assert!(Linear::new(vec![0.0; 5], None, 3, 2, WeightFormat::F32).is_err());
        let l = Linear::new(vec![0.0; 6], None, 3, 2, WeightFormat::F32).unwrap();
        assert!(l.forward(&[0.0; 3], 1).is_err());
    }
}
