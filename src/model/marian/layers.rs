//! The row-wise building blocks of the Marian forward pass: layer norm,
//! activations, and multi-head attention of one query row, run over rows on
//! candle's worker pool.

use candle_nn::Activation;

use crate::kernels::vecmath::dot;

const LN_EPS: f32 = 1e-5;

/// `erf` (Abramowitz-Stegun 7.1.26 refined; |error| < 1.2e-7), for exact GELU.
pub(super) fn erf(x: f32) -> f32 {
    let x = x as f64;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let y = 1.0
        - t * (-x * x - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    (if x >= 0.0 { y } else { -y }) as f32
}

pub(super) fn apply_act(a: Activation, xs: &mut [f32]) {
    match a {
        Activation::Swish | Activation::Silu => {
            for x in xs {
                *x /= 1.0 + (-*x).exp();
            }
        }
        Activation::Relu => {
            for x in xs {
                *x = x.max(0.0);
            }
        }
        Activation::Gelu => {
            for x in xs {
                *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
            }
        }
        _ => {
            // gelu_new / gelu_pytorch_tanh
            for x in xs {
                let v = *x;
                *x = 0.5 * v * (1.0 + (0.797_884_6 * (v + 0.044_715 * v * v * v)).tanh());
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct LayerNorm {
    pub(super) weight: Vec<f32>,
    pub(super) bias: Vec<f32>,
}

impl LayerNorm {
    /// `x = norm(x + y)` row by row.
    pub(super) fn add_norm(&self, x: &mut [f32], y: &[f32]) {
        let d = self.weight.len();
        for (xr, yr) in x.chunks_exact_mut(d).zip(y.chunks_exact(d)) {
            for (a, b) in xr.iter_mut().zip(yr) {
                *a += b;
            }
            let mean = xr.iter().sum::<f32>() / d as f32;
            let var = xr.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
            let inv = 1.0 / (var + LN_EPS).sqrt();
            for ((v, w), b) in xr.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * inv * w + b;
            }
        }
    }
}

/// Runs `f(row index, row)` over the `width`-wide rows of `out` on candle's
/// worker pool (the one the matmuls use), contiguous runs per thread.
pub(super) fn par_rows(out: &mut [f32], width: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let rows = out.len() / width;
    let ptr = out.as_mut_ptr() as usize;
    candle_core::utils::barrier_pool().execute_chunked(rows, |range| {
        for r in range {
            // SAFETY: each row index is handed out once; rows are disjoint
            // parts of `out`, which outlives this call.
            let row =
                unsafe { std::slice::from_raw_parts_mut((ptr as *mut f32).add(r * width), width) };
            f(r, row);
        }
    });
}

/// Multi-head attention of one query row over `len` positions: `keys(j)` and
/// `values(j)` give position `j`'s row (`[d]`, heads side by side); the
/// result (heads side by side) goes to `out`. `q` is already scaled.
pub(super) fn attend<'a>(
    q: &[f32],
    len: usize,
    keys: impl Fn(usize) -> &'a [f32],
    values: impl Fn(usize) -> &'a [f32],
    heads: usize,
    out: &mut [f32],
) {
    let d = q.len();
    let hd = d / heads;
    let mut scores = vec![0f32; len];
    out.fill(0.0);
    for h in 0..heads {
        let qh = &q[h * hd..(h + 1) * hd];
        let mut max = f32::NEG_INFINITY;
        for (j, s) in scores.iter_mut().enumerate() {
            let kh = &keys(j)[h * hd..(h + 1) * hd];
            *s = dot(qh, kh);
            max = max.max(*s);
        }
        let mut sum = 0f32;
        for s in &mut scores {
            *s = (*s - max).exp();
            sum += *s;
        }
        let inv = 1.0 / sum;
        let oh = &mut out[h * hd..(h + 1) * hd];
        for (j, &s) in scores.iter().enumerate() {
            let p = s * inv;
            let vh = &values(j)[h * hd..(h + 1) * hd];
            for (o, &v) in oh.iter_mut().zip(vh) {
                *o += p * v;
            }
        }
    }
}
