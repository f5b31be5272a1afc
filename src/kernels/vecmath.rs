//! Row-wise f32 operations of the CPU forward pass: RMS norm, the SiLU gate,
//! residual adds, bias plus rotary embedding, the `e^x` they and the
//! attention softmax share, and the one dot product (8 fused-multiply-add
//! lanes) that attention, the Marian layers and the aligner all use.
//!
//! Each is written once in plain Rust and compiled twice: for AVX2+FMA
//! (picked at run time, and then auto-vectorized) and for the baseline.
//! Vectorizing does not reorder any floating-point operation (sums run in
//! explicit lanes), so both copies give the same bits.

/// Whether this CPU has AVX2 and FMA (checked once).
#[cfg(target_arch = "x86_64")]
pub fn has_avx2() -> bool {
    use std::sync::OnceLock;
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

/// Whether this CPU has AVX2, FMA and F16C (checked once): the kernels that
/// read f16 values (the attention's key/value cache, block scales).
#[cfg(target_arch = "x86_64")]
pub fn has_f16c() -> bool {
    use std::sync::OnceLock;
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| has_avx2() && is_x86_feature_detected!("f16c"))
}

/// Whether this CPU has AVX-512 F/BW/VL with VNNI (checked once): the int8
/// dot-product kernels (`kquant`, `marian::igemm`) need it. `DICH_KERNELS=avx2`
/// answers no, so that an AVX-512 machine runs (and measures) the AVX2 path
/// that CPUs without AVX-512 take.
pub fn has_avx512_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static OK: OnceLock<bool> = OnceLock::new();
        *OK.get_or_init(|| {
            std::env::var("DICH_KERNELS").map_or(true, |v| v != "avx2")
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512vnni")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines `pub fn $name(args)` that runs `$body(args)` compiled for
/// AVX2+FMA when the CPU has them, and for the baseline otherwise.
macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident => $body:ident($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if has_avx2() {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn fast($($arg: $ty),*) {
                    $body($($arg),*)
                }
                // SAFETY: the CPU has the features `fast` is compiled for.
                return unsafe { fast($($arg),*) };
            }
            $body($($arg),*)
        }
    };
}

/// The largest magnitude in `x` (NaN ignored; 0 when every value is 0 or
/// NaN) and the first value that has it (0 when that magnitude is 0): what
/// a left fold keeping the strictly larger magnitude gives. Computed as a
/// maximum over eight lanes, which vectorizes (a maximum is exact, so the
/// lanes cannot change it), then a search for its first occurrence.
pub fn max_magnitude(x: &[f32]) -> (f32, f32) {
    let mut lanes = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            let b = v.abs();
            *l = if b > *l { b } else { *l };
        }
    }
    for &v in rest {
        let b = v.abs();
        lanes[0] = if b > lanes[0] { b } else { lanes[0] };
    }
    magnitude_of_lanes(&lanes, x)
}

/// [`max_magnitude`] of `x` from its eight lanes' maximums (each lane
/// `max(|v|, lane)` from 0, NaN never taken; a SIMD register gives the same).
pub fn magnitude_of_lanes(lanes: &[f32; 8], x: &[f32]) -> (f32, f32) {
    let amax = lanes.iter().fold(0f32, |a, &b| if b > a { b } else { a });
    if amax == 0.0 {
        return (0.0, 0.0);
    }
    let first = x.iter().copied().find(|v| v.abs() == amax).unwrap_or(0.0);
    (amax, first)
}

pub(crate) const EXP_LO: f32 = -87.336_54;
pub(crate) const EXP_C1: f32 = 0.693_359_4;
pub(crate) const EXP_C2: f32 = -2.121_944_4e-4;
pub(crate) const EXP_P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    0.166_666_65,
    0.5,
];

/// `e^x` for `x <= 0` (inputs below -87.3 give about 1e-38, not 0): Cephes'
/// `expf` polynomial, relative error about 1e-7, no libm call (so loops over
/// it vectorize).
#[inline(always)]
pub fn exp_neg(x: f32) -> f32 {
    let x = x.max(EXP_LO);
    let fx = (x * std::f32::consts::LOG2_E).round_ties_even();
    let r = fx.mul_add(-EXP_C1, x);
    let r = fx.mul_add(-EXP_C2, r);
    let mut p = EXP_P[0];
    for &c in &EXP_P[1..] {
        p = p.mul_add(r, c);
    }
    let y = p.mul_add(r * r, r) + 1.0;
    y * f32::from_bits(((fx as i32 + 127) as u32) << 23)
}

/// Sum of squares in 8 lanes, reduced in a fixed order.
#[inline(always)]
fn sum_squares(x: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for j in 0..8 {
            lanes[j] = c[j].mul_add(c[j], lanes[j]);
        }
    }
    let mut sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for &v in rest {
        sum = v.mul_add(v, sum);
    }
    sum
}

#[inline(always)]
fn rms_norm_body(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let inv = 1.0 / (sum_squares(x) / x.len() as f32 + eps).sqrt();
    for ((o, &v), &g) in out.iter_mut().zip(x).zip(w) {
        *o = v * inv * g;
    }
}

dispatch!(
    /// `out = x / sqrt(mean(x^2) + eps) * w` (one row).
    rms_norm => rms_norm_body(x: &[f32], w: &[f32], eps: f32, out: &mut [f32])
);

#[inline(always)]
fn silu_mul_body(gate: &[f32], up: &[f32], out: &mut [f32]) {
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        // sigmoid(g) from e^-|g| <= 1, so nothing overflows.
        let e = exp_neg(-g.abs());
        let sig = if g >= 0.0 { 1.0 } else { e } / (1.0 + e);
        *o = g * sig * u;
    }
}

dispatch!(
    /// `out = silu(gate) * up`, `silu(g) = g / (1 + e^-g)`.
    silu_mul => silu_mul_body(gate: &[f32], up: &[f32], out: &mut [f32])
);

#[inline(always)]
fn gelu_mul_body(gate: &[f32], up: &[f32], out: &mut [f32]) {
    // gelu(g) = g (1 + tanh(z)) / 2 = g sigmoid(2z),
    // z = sqrt(2 / pi) (g + 0.044715 g^3): the tanh approximation.
    const A: f32 = 2.0 * 0.797_884_6;
    const B: f32 = A * 0.044_715;
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        let z = g * g.mul_add(g * B, A);
        let e = exp_neg(-z.abs());
        let sig = if z >= 0.0 { 1.0 } else { e } / (1.0 + e);
        *o = g * sig * u;
    }
}

dispatch!(
    /// `out = gelu(gate) * up`, GELU in its tanh approximation (Gemma's
    /// `gelu_pytorch_tanh`).
    gelu_mul => gelu_mul_body(gate: &[f32], up: &[f32], out: &mut [f32])
);

/// `out = silu(gate) * up` with candle's SiLU, `g / (1 + exp(-g))` (libm's
/// `expf`), then candle's product: the bits of candle's `silu(gate) * up`,
/// which the models' agreement with llama.cpp was measured on (another
/// equally exact SiLU moves SmolLM2's logits by as much as that agreement's
/// tolerance).
pub fn silu_mul_libm(gate: &[f32], up: &[f32], out: &mut [f32]) {
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = g / (1.0 + (-g).exp()) * u;
    }
}

/// `f(gate, up, out)` over pieces of the three slices, spread over candle's
/// worker pool when they are long: `f` must be elementwise, and then any
/// split gives the same bits. (Candle runs its element-wise ops on one
/// thread below 65,536 values: a batch of 8 decoding rows waited on it.)
pub fn map2_parallel(f: fn(&[f32], &[f32], &mut [f32]), gate: &[f32], up: &[f32], out: &mut [f32]) {
    const PIECE: usize = 2048;
    let n = out.len();
    assert!(gate.len() == n && up.len() == n, "element-wise lengths");
    if n < 2 * PIECE {
        return f(gate, up, out);
    }
    let ptr = super::SyncPtr(out.as_mut_ptr());
    candle_core::utils::barrier_pool().execute_chunked(n.div_ceil(PIECE), |pieces| {
        let (lo, hi) = (pieces.start * PIECE, (pieces.end * PIECE).min(n));
        // SAFETY: each piece index is handed out once, so the ranges of
        // `out` written here are disjoint; `lo..hi` lies within `out`.
        let o = unsafe { std::slice::from_raw_parts_mut(ptr.get().add(lo), hi - lo) };
        f(&gate[lo..hi], &up[lo..hi], o);
    });
}

#[inline(always)]
fn add_assign_body(y: &mut [f32], x: &[f32]) {
    for (a, &b) in y.iter_mut().zip(x) {
        *a += b;
    }
}

dispatch!(
    /// `y += x`.
    add_assign => add_assign_body(y: &mut [f32], x: &[f32])
);

#[inline(always)]
fn bias_rope_body(x: &mut [f32], bias: &[f32], cos: &[f32], sin: &[f32]) {
    let half = cos.len();
    for (h, b) in x
        .chunks_exact_mut(2 * half)
        .zip(bias.chunks_exact(2 * half))
    {
        let (lo, hi) = h.split_at_mut(half);
        let (blo, bhi) = b.split_at(half);
        for i in 0..half {
            let (x1, x2) = (lo[i] + blo[i], hi[i] + bhi[i]);
            lo[i] = x1 * cos[i] - x2 * sin[i];
            hi[i] = x1 * sin[i] + x2 * cos[i];
        }
    }
}

dispatch!(
    /// Adds `bias` to every head of `x` (`[heads][2 * half]`), then rotates
    /// each head's halves by the position's `cos`/`sin` (`[half]`), as
    /// candle's `rope_thd` (the non-interleaved rotary embedding).
    bias_rope => bias_rope_body(x: &mut [f32], bias: &[f32], cos: &[f32], sin: &[f32])
);

/// The dot product every kernel and model uses, and `y += a * x`, with 8
/// independent lanes, compiled for
/// AVX2+FMA when the CPU has it (checked once at run time) and for the
/// baseline otherwise. The lane structure, hence the rounding, is the same in
/// both; only the instruction set differs.
mod simd {
    macro_rules! kernels {
        ($dot:ident, $axpy:ident) => {
            #[inline]
            fn $dot(a: &[f32], b: &[f32]) -> f32 {
                let mut acc = [0f32; 8];
                let ca = a.chunks_exact(8);
                let cb = b.chunks_exact(8);
                let (ra, rb) = (ca.remainder(), cb.remainder());
                for (x, y) in ca.zip(cb) {
                    for j in 0..8 {
                        acc[j] = x[j].mul_add(y[j], acc[j]);
                    }
                }
                let mut tail = 0f32;
                for (x, y) in ra.iter().zip(rb) {
                    tail = x.mul_add(*y, tail);
                }
                ((acc[0] + acc[4]) + (acc[1] + acc[5]))
                    + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
                    + tail
            }

            #[inline]
            fn $axpy(y: &mut [f32], a: f32, x: &[f32]) {
                for (yi, xi) in y.iter_mut().zip(x) {
                    *yi = a.mul_add(*xi, *yi);
                }
            }
        };
    }

    mod generic {
        kernels!(dot, axpy);
        pub(super) fn dot_g(a: &[f32], b: &[f32]) -> f32 {
            dot(a, b)
        }
        pub(super) fn axpy_g(y: &mut [f32], a: f32, x: &[f32]) {
            axpy(y, a, x)
        }
    }

    #[cfg(target_arch = "x86_64")]
    mod avx2 {
        kernels!(dot, axpy);
        #[target_feature(enable = "avx2,fma")]
        pub(super) unsafe fn dot_v(a: &[f32], b: &[f32]) -> f32 {
            dot(a, b)
        }
        #[target_feature(enable = "avx2,fma")]
        pub(super) unsafe fn axpy_v(y: &mut [f32], a: f32, x: &[f32]) {
            axpy(y, a, x)
        }
    }

    #[cfg(target_arch = "x86_64")]
    use super::has_avx2;

    #[inline]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports the features the function is compiled for.
            return unsafe { avx2::dot_v(a, b) };
        }
        generic::dot_g(a, b)
    }

    #[inline]
    pub fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: as above.
            return unsafe { avx2::axpy_v(y, a, x) };
        }
        generic::axpy_g(y, a, x)
    }

    #[cfg(test)]
    pub(super) fn both_paths(a: &[f32], b: &[f32]) -> (f32, f32) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            return (generic::dot_g(a, b), unsafe { avx2::dot_v(a, b) });
        }
        (generic::dot_g(a, b), generic::dot_g(a, b))
    }
}

pub use simd::{axpy, dot};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_close_to_libm() {
        let mut worst = 0f32;
        let mut x = -90f32;
        while x <= 0.0 {
            let (got, want) = (exp_neg(x), x.exp());
            if want > 1e-30 {
                worst = worst.max(((got - want) / want).abs());
            }
            x += 0.0137;
        }
        assert!(worst < 5e-7, "relative error {worst}");
    }

    #[test]
    fn max_magnitude_is_the_sequential_fold() {
        // The fold it replaces: the first value of strictly largest magnitude.
        let fold = |x: &[f32]| {
            let first = x
                .iter()
                .fold(0f32, |a, &v| if v.abs() > a.abs() { v } else { a });
            (first.abs(), first)
        };
        let mut cases: Vec<Vec<f32>> = vec![
            vec![],
            vec![0.0; 13],
            vec![-0.0, 0.0, -0.0],
            vec![f32::NAN; 9],
            vec![1.0, -3.0, 3.0, 2.0],
            vec![1.0, 3.0, -3.0, 2.0],
            vec![f32::NAN, -2.0, 2.0, f32::NAN],
            vec![1.0, f32::NEG_INFINITY, f32::INFINITY],
            vec![0.5, -0.0, f32::INFINITY, f32::NAN, -7.0],
        ];
        let mut state = 12345u32;
        for len in [1usize, 7, 8, 9, 31, 32, 33, 256] {
            let v: Vec<f32> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    // Few distinct magnitudes, both signs: many ties.
                    ((state >> 16) % 9) as f32 - 4.0
                })
                .collect();
            cases.push(v);
        }
        for x in &cases {
            let (amax, first) = max_magnitude(x);
            let (want_amax, want_first) = fold(x);
            assert_eq!(
                (amax.to_bits(), first.to_bits()),
                (want_amax.to_bits(), want_first.to_bits()),
                "{x:?}"
            );
        }
    }

    /// Candle's `silu(gate) * up`, bit for bit, and the same bits however
    /// the pool splits the work.
    #[test]
    fn silu_mul_libm_is_candles_and_splits_alike() {
        use candle_core::{Device, Tensor};
        let n = 3 * 2048 + 77;
        let g: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 2003) as f32 / 97.0 - 10.0)
            .collect();
        let u: Vec<f32> = (0..n)
            .map(|i| ((i * 31) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let mut g2 = g.clone();
        g2[5] = f32::NAN;
        g2[6] = f32::INFINITY;
        g2[7] = f32::NEG_INFINITY;
        g2[8] = -100.0;
        for g in [g, g2] {
            let gt = Tensor::from_vec(g.clone(), n, &Device::Cpu).unwrap();
            let ut = Tensor::from_vec(u.clone(), n, &Device::Cpu).unwrap();
            let want = (candle_nn::ops::silu(&gt).unwrap() * ut)
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let mut one = vec![0f32; n];
            silu_mul_libm(&g, &u, &mut one);
            let mut split = vec![0f32; n];
            map2_parallel(silu_mul_libm, &g, &u, &mut split);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&one), bits(&want));
            assert_eq!(bits(&split), bits(&want));
        }
    }

    #[test]
    fn row_ops_match_their_definitions() {
        let x: Vec<f32> = (0..100)
            .map(|i| ((i * 37) % 23) as f32 / 7.0 - 1.5)
            .collect();
        let w: Vec<f32> = (0..100).map(|i| 0.5 + (i % 5) as f32 / 10.0).collect();
        let mut out = vec![0f32; 100];
        rms_norm(&x, &w, 1e-6, &mut out);
        let ms = x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / 100.0;
        for i in 0..100 {
            let want = x[i] as f64 / (ms + 1e-6).sqrt() * w[i] as f64;
            assert!((out[i] as f64 - want).abs() < 1e-5, "rms_norm[{i}]");
        }
        silu_mul(&x, &w, &mut out);
        for i in 0..100 {
            let g = x[i] as f64;
            let want = g / (1.0 + (-g).exp()) * w[i] as f64;
            assert!((out[i] as f64 - want).abs() < 1e-6, "silu_mul[{i}]");
        }
        // Extreme gates neither overflow nor turn into NaN.
        silu_mul(&[-200.0, 200.0], &[1.0, 1.0], &mut out[..2]);
        assert!(out[0] <= 0.0 && out[0] > -1e-30, "{}", out[0]);
        assert_eq!(out[1], 200.0);
        gelu_mul(&x, &w, &mut out);
        for i in 0..100 {
            let g = x[i] as f64;
            let z = (2.0 / std::f64::consts::PI).sqrt() * (g + 0.044715 * g.powi(3));
            let want = 0.5 * g * (1.0 + z.tanh()) * w[i] as f64;
            assert!((out[i] as f64 - want).abs() < 1e-6, "gelu_mul[{i}]");
        }
        gelu_mul(&[-200.0, 200.0], &[1.0, 1.0], &mut out[..2]);
        assert!(out[0] <= 0.0 && out[0] > -1e-30, "{}", out[0]);
        assert_eq!(out[1], 200.0);
        let mut y = x.clone();
        add_assign(&mut y, &w);
        assert!(y
            .iter()
            .zip(x.iter().zip(&w))
            .all(|(a, (b, c))| *a == b + c));
    }

    #[test]
    fn bias_rope_rotates_each_head() {
        // Two heads of dimension 4 (half = 2).
        let mut x = vec![1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 2.0, 0.0];
        let bias = vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        let (cos, sin) = ([0.0f32, 1.0], [1.0f32, 0.0]);
        bias_rope(&mut x, &bias, &cos, &sin);
        // Head 0, i = 0: (1, 3) -> (1*0 - 3*1, 1*1 + 3*0); i = 1 unchanged.
        assert_eq!(x[..4], [-3.0, 2.0, 1.0, 4.0]);
        // Head 1 after the bias: (0, 1.5, 3, 1) -> (-3, 1.5, 0, 1).
        assert_eq!(x[4..], [-3.0, 1.5, 0.0, 1.0]);
    }

    #[test]
    fn simd_and_baseline_dot_round_the_same_way() {
        let mut seed = 3u64;
        let mut noise = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    ((seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
                })
                .collect()
        };
        for n in [1usize, 7, 8, 128, 131] {
            let a = noise(n);
            let b = noise(n);
            let (g, v) = simd::both_paths(&a, &b);
            assert_eq!(g.to_bits(), v.to_bits(), "n = {n}");
        }
    }
}
