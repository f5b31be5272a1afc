//! Activation rows to 8-bit blocks for [`super::Q8Blocks`]: each row's
//! quants, block scales, `scale * sum`, integer sums and 4-value sums. A
//! portable body and an AVX2 one that gives the same bits (tested), and
//! rows spread over candle's worker pool when there are many: the kernels'
//! callers wait for this, so a serial quantization leaves a core idle.

use half::f16;

use super::{nearest, ActQuant, QK};
use crate::kernels::vecmath::{magnitude_of_lanes, max_magnitude};

/// One row's share of the quantized buffers.
pub(super) struct RowOut<'a> {
    /// `[k / 32]` block scales.
    pub d: &'a mut [f32],
    /// `[k / 32]` `scale * sum` (f16-rounded for [`ActQuant::Blocks32`]).
    pub s: &'a mut [f32],
    /// `[k / 32]` the integer sum of each block's quants.
    pub sums: &'a mut [i32],
    /// `[k / 4]` the sum of each 4 consecutive quants.
    pub quad: &'a mut [i32],
    /// `[k]` the quants.
    pub qs: &'a mut [i8],
}

/// At or above this many values (and two rows), rows are spread over the
/// worker pool.
const PARALLEL_VALUES: usize = 1 << 14;

/// Quantizes the `m` rows of `x` (`[m, k]`) into `out(r)`'s buffers.
/// `out` must give each row its own, disjoint buffers.
pub(super) fn rows<'a>(
    x: &[f32],
    m: usize,
    k: usize,
    mode: ActQuant,
    out: impl Fn(usize) -> RowOut<'a> + Sync,
) {
    let run = |rows: std::ops::Range<usize>| {
        for r in rows {
            row(&x[r * k..(r + 1) * k], mode, out(r));
        }
    };
    if m < 2 || m * k < PARALLEL_VALUES {
        run(0..m);
    } else {
        candle_core::utils::barrier_pool().execute_chunked(m, run);
    }
}

/// One row, on AVX2 where the CPU has it.
pub(super) fn row(x: &[f32], mode: ActQuant, out: RowOut<'_>) {
    #[cfg(target_arch = "x86_64")]
    if super::supported() {
        // SAFETY: AVX2 and F16C checked; the buffers' sizes are checked
        // inside.
        return unsafe { simd::row(x, mode, out) };
    }
    row_portable(x, mode, out)
}

/// Values per scale: a block of 32, or a group of 256 sharing one.
fn group(mode: ActQuant) -> usize {
    match mode {
        ActQuant::Blocks32 => QK,
        ActQuant::Blocks256 => 256,
    }
}

/// A group's scale and its inverse, from its largest magnitude and the
/// first value that has it.
fn scale_of(mode: ActQuant, (amax, first): (f32, f32)) -> (f32, f32) {
    match mode {
        ActQuant::Blocks32 => {
            let scale = amax / 127.0;
            let inv = if amax > 0.0 { 127.0 / amax } else { 0.0 };
            // The scale the products use is stored as f16.
            (f16::from_f32(scale).to_f32(), inv)
        }
        ActQuant::Blocks256 => {
            // The signed value of largest magnitude maps to -127.
            if first == 0.0 {
                (0.0, 0.0)
            } else {
                let iscale = -127.0 / first;
                (1.0 / iscale, iscale)
            }
        }
    }
}

/// Block `i`'s scale, `scale * sum` and integer sum.
fn finish_block(out: &mut RowOut<'_>, mode: ActQuant, i: usize, scale: f32, sum: i32) {
    out.d[i] = scale;
    out.s[i] = match mode {
        // llama.cpp keeps Q8_1's `d * sum` as f16 too.
        ActQuant::Blocks32 => f16::from_f32(scale * sum as f32).to_f32(),
        ActQuant::Blocks256 => scale * sum as f32,
    };
    out.sums[i] = sum;
}

fn check_sizes(x: &[f32], mode: ActQuant, out: &RowOut<'_>) {
    let k = x.len();
    assert!(
        k.is_multiple_of(group(mode))
            && out.d.len() == k / QK
            && out.s.len() == k / QK
            && out.sums.len() == k / QK
            && out.quad.len() == k / 4
            && out.qs.len() == k,
        "quantization buffers do not fit a row of {k}"
    );
}

/// The reference: `q = nearest(clamp(v * inv, -127, 127))`.
pub(super) fn row_portable(x: &[f32], mode: ActQuant, mut out: RowOut<'_>) {
    check_sizes(x, mode, &out);
    let g = group(mode);
    for (gi, xg) in x.chunks_exact(g).enumerate() {
        let (scale, inv) = scale_of(mode, max_magnitude(xg));
        for (t, xb) in xg.chunks_exact(QK).enumerate() {
            let i = gi * (g / QK) + t;
            let mut sum = 0i32;
            for (q, &v) in out.qs[i * QK..(i + 1) * QK].iter_mut().zip(xb) {
                let r = nearest((v * inv).clamp(-127.0, 127.0)) as i8;
                *q = r;
                sum += r as i32;
            }
            finish_block(&mut out, mode, i, scale, sum);
        }
    }
    for (o, q) in out.quad.iter_mut().zip(out.qs.chunks_exact(4)) {
        *o = q.iter().map(|&v| v as i32).sum();
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use super::*;
    use std::arch::x86_64::*;

    /// [`super::row_portable`] eight values a register: the same multiply,
    /// clamp and rounding (the 1.5 * 2^23 add and subtract), NaN to 0 as
    /// `as i8` gives it, and the sums from the packed quants.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn row(x: &[f32], mode: ActQuant, mut out: RowOut<'_>) {
        check_sizes(x, mode, &out);
        let g = group(mode);
        let abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
        let (lo, hi) = (_mm256_set1_ps(-127.0), _mm256_set1_ps(127.0));
        let magic = _mm256_set1_ps(12_582_912.0);
        let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for (gi, xg) in x.chunks_exact(g).enumerate() {
            // `max(|v|, lane)` keeps the lane when |v| is NaN, as the
            // portable lanes do.
            let mut lanes = _mm256_setzero_ps();
            for c in xg.chunks_exact(8) {
                let v = _mm256_and_ps(_mm256_loadu_ps(c.as_ptr()), abs);
                lanes = _mm256_max_ps(v, lanes);
            }
            let mut l = [0f32; 8];
            _mm256_storeu_ps(l.as_mut_ptr(), lanes);
            let (scale, inv) = scale_of(mode, magnitude_of_lanes(&l, xg));
            let inv = _mm256_set1_ps(inv);
            for (t, xb) in xg.chunks_exact(QK).enumerate() {
                let i = gi * (g / QK) + t;
                let mut ints = [_mm256_setzero_si256(); 4];
                for (j, int) in ints.iter_mut().enumerate() {
                    let y = _mm256_mul_ps(_mm256_loadu_ps(xb.as_ptr().add(8 * j)), inv);
                    // NaN lanes to 0 (clamp keeps NaN, `as i8` makes it 0).
                    let y = _mm256_and_ps(y, _mm256_cmp_ps::<_CMP_ORD_Q>(y, y));
                    let y = _mm256_min_ps(_mm256_max_ps(y, lo), hi);
                    let r = _mm256_sub_ps(_mm256_add_ps(y, magic), magic);
                    *int = _mm256_cvttps_epi32(r);
                }
                // Whole numbers in -127..=127: the packs do not saturate;
                // the permute undoes their interleaving of the halves.
                let p = _mm256_packs_epi16(
                    _mm256_packs_epi32(ints[0], ints[1]),
                    _mm256_packs_epi32(ints[2], ints[3]),
                );
                let q = _mm256_permutevar8x32_epi32(p, order);
                _mm256_storeu_si256(out.qs.as_mut_ptr().add(i * QK) as *mut __m256i, q);
                let quads = _mm256_madd_epi16(
                    _mm256_maddubs_epi16(_mm256_set1_epi8(1), q),
                    _mm256_set1_epi16(1),
                );
                _mm256_storeu_si256(out.quad.as_mut_ptr().add(i * 8) as *mut __m256i, quads);
                let mut qd = [0i32; 8];
                _mm256_storeu_si256(qd.as_mut_ptr() as *mut __m256i, quads);
                finish_block(&mut out, mode, i, scale, qd.iter().sum());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Bufs {
        d: Vec<f32>,
        s: Vec<f32>,
        sums: Vec<i32>,
        quad: Vec<i32>,
        qs: Vec<i8>,
    }

    impl Bufs {
        fn new(k: usize) -> Self {
            Self {
                d: vec![9.0; k / QK],
                s: vec![9.0; k / QK],
                sums: vec![9; k / QK],
                quad: vec![9; k / 4],
                qs: vec![9; k],
            }
        }
        fn out(&mut self) -> RowOut<'_> {
            RowOut {
                d: &mut self.d,
                s: &mut self.s,
                sums: &mut self.sums,
                quad: &mut self.quad,
                qs: &mut self.qs,
            }
        }
        /// Every buffer as integers (the f32 ones by their bits).
        fn bits(&self) -> Vec<Vec<i64>> {
            let f = |v: &[f32]| v.iter().map(|x| x.to_bits() as i64).collect();
            vec![
                f(&self.d),
                f(&self.s),
                self.sums.iter().map(|&v| v as i64).collect(),
                self.quad.iter().map(|&v| v as i64).collect(),
                self.qs.iter().map(|&v| v as i64).collect(),
            ]
        }
    }

    /// The AVX2 row gives the portable row's bits, on ordinary values and on
    /// zeros, ties, NaN, infinities, huge and subnormal magnitudes.
    #[test]
    fn simd_row_is_the_portable_row() {
        if !super::super::supported() {
            eprintln!("no AVX2 here: only the portable row exists");
            return;
        }
        let k = 512;
        let mut rows: Vec<Vec<f32>> = Vec::new();
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        rows.push((0..k).map(|_| next() * 6.0).collect());
        rows.push(
            (0..k)
                .map(|i| if i % 3 == 0 { next() * 1e4 } else { 0.0 })
                .collect(),
        );
        rows.push(vec![0.0; k]);
        // Exact halves after scaling: ties round to even.
        rows.push((0..k).map(|i| (i % 32) as f32 * 0.5 - 8.0).collect());
        let mut specials: Vec<f32> = (0..k).map(|_| next()).collect();
        for (i, v) in [
            (3, f32::NAN),
            (40, f32::INFINITY),
            (77, f32::NEG_INFINITY),
            (300, f32::NAN),
            (301, -0.0),
            (400, 1e-42),
        ] {
            specials[i] = v;
        }
        rows.push(specials);
        rows.push(
            (0..k)
                .map(|i| if i < 64 { 1e-42 } else { next() })
                .collect(),
        );
        for mode in [ActQuant::Blocks32, ActQuant::Blocks256] {
            for (n, x) in rows.iter().enumerate() {
                let (mut a, mut b) = (Bufs::new(k), Bufs::new(k));
                row_portable(x, mode, a.out());
                // SAFETY: checked above.
                unsafe { simd::row(x, mode, b.out()) };
                assert_eq!(a.bits(), b.bits(), "row {n}, {mode:?}");
            }
        }
    }

    /// The sums are those of the quants, and the quants undo the scale.
    #[test]
    fn sums_and_quants_agree() {
        let k = 256;
        let x: Vec<f32> = (0..k).map(|i| ((i * 37) % 101) as f32 - 50.0).collect();
        for mode in [ActQuant::Blocks32, ActQuant::Blocks256] {
            let mut b = Bufs::new(k);
            row(&x, mode, b.out());
            for i in 0..k / QK {
                let q = &b.qs[i * QK..(i + 1) * QK];
                assert_eq!(b.sums[i], q.iter().map(|&v| v as i32).sum::<i32>());
                for (j, &v) in x[i * QK..(i + 1) * QK].iter().enumerate() {
                    let back = q[j] as f32 * b.d[i];
                    // Half a step, and the f16 rounding of the scale (Blocks32).
                    assert!((back - v).abs() <= b.d[i].abs() * 0.51 + v.abs() * 1e-3);
                }
            }
            for (j, &s) in b.quad.iter().enumerate() {
                assert_eq!(
                    s,
                    b.qs[4 * j..4 * j + 4]
                        .iter()
                        .map(|&v| v as i32)
                        .sum::<i32>()
                );
            }
        }
    }
}
