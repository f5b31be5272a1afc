//! 8-bit linear layers: weights int8 with one f32 scale per output row
//! (symmetric, `max|w| / 127`), inputs quantized per row the same way at run
//! time, products summed exactly in 32-bit integers by AVX-512 VNNI
//! (`vpdpbusd`, 32 multiply-adds per instruction on 256-bit registers).
//!
//! `vpdpbusd` multiplies unsigned by signed bytes, so an input byte is
//! stored as `x + 128` and the result corrected by `128 * sum(w)` per
//! output, precomputed. Integer sums do not depend on order: a batch gives
//! exactly each row alone whatever the tiling. CPUs without AVX-512 VNNI
//! compute the same integers with a portable loop.

/// Bytes of `k` rounded up to whole 32-byte vectors.
fn padded(k: usize) -> usize {
    k.div_ceil(32) * 32
}

pub fn supported() -> bool {
    super::vecmath::has_avx512_vnni()
}

/// Weights `[cols][k]` quantized per row.
#[derive(Debug, Clone)]
pub struct I8Matrix {
    /// `[cols][kp]`, zero-padded.
    q: Vec<i8>,
    scale: Vec<f32>,
    /// `128 * sum(q[c])`, the correction for the unsigned input bytes.
    offset: Vec<i32>,
    cols: usize,
    k: usize,
    kp: usize,
}

impl I8Matrix {
    pub fn quantize(w: &[f32], cols: usize, k: usize) -> Self {
        let kp = padded(k);
        let mut q = vec![0i8; cols * kp];
        let mut scale = vec![0f32; cols];
        let mut offset = vec![0i32; cols];
        for c in 0..cols {
            let row = &w[c * k..(c + 1) * k];
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let s = if max > 0.0 { max / 127.0 } else { 1.0 };
            let inv = 1.0 / s;
            let out = &mut q[c * kp..c * kp + k];
            let mut sum = 0i32;
            for (o, &v) in out.iter_mut().zip(row) {
                *o = (v * inv).round().clamp(-127.0, 127.0) as i8;
                sum += *o as i32;
            }
            scale[c] = s;
            offset[c] = 128 * sum;
        }
        Self {
            q,
            scale,
            offset,
            cols,
            k,
            kp,
        }
    }

    pub fn bytes(&self) -> usize {
        self.q.len() + self.scale.len() * 4 + self.offset.len() * 4
    }

    /// `out = x W^T` for `rows` rows of `x` (`[rows][k]` f32).
    pub fn matmul(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        let (k, kp, cols) = (self.k, self.kp, self.cols);
        assert_eq!(x.len(), rows * k);
        assert_eq!(out.len(), rows * cols);
        // Inputs: per-row scale, bytes shifted by 128, padding = 128 (zero).
        let mut xq = vec![128u8; rows * kp];
        let mut xs = vec![0f32; rows];
        for r in 0..rows {
            let row = &x[r * k..(r + 1) * k];
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let s = if max > 0.0 { max / 127.0 } else { 1.0 };
            let inv = 1.0 / s;
            for (o, &v) in xq[r * kp..r * kp + k].iter_mut().zip(row) {
                *o = ((v * inv).round().clamp(-127.0, 127.0) as i32 + 128) as u8;
            }
            xs[r] = s;
        }
        let col_block = if rows < 3 { 8 } else { 64 };
        let blocks = cols.div_ceil(col_block);
        let out_ptr = out.as_mut_ptr() as usize;
        let fast = supported();
        candle_core::utils::barrier_pool().execute_chunked(blocks, |range| {
            let c0 = range.start * col_block;
            let c1 = (range.end * col_block).min(cols);
            // SAFETY: disjoint column ranges of `out`, which outlives the call.
            let out = unsafe { std::slice::from_raw_parts_mut(out_ptr as *mut f32, rows * cols) };
            #[cfg(target_arch = "x86_64")]
            if fast {
                // SAFETY: the CPU has AVX-512 F/VL/VNNI.
                unsafe { vnni::block(self, &xq, &xs, rows, c0, c1, out) };
                return;
            }
            let _ = fast;
            for r in 0..rows {
                let xr = &xq[r * kp..(r + 1) * kp];
                for c in c0..c1 {
                    let wr = &self.q[c * kp..(c + 1) * kp];
                    let acc: i32 = xr.iter().zip(wr).map(|(&a, &b)| a as i32 * b as i32).sum();
                    out[r * cols + c] = self.finish(acc, c, xs[r]);
                }
            }
        });
    }

    #[inline(always)]
    fn finish(&self, acc: i32, c: usize, x_scale: f32) -> f32 {
        (acc - self.offset[c]) as f32 * (x_scale * self.scale[c])
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::I8Matrix;
    use std::arch::x86_64::*;

    #[inline(always)]
    unsafe fn hsum(v: __m256i) -> i32 {
        let lo = _mm256_castsi256_si128(v);
        let hi = _mm256_extracti128_si256::<1>(v);
        let s = _mm_add_epi32(lo, hi);
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
        _mm_cvtsi128_si32(s)
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
    unsafe fn tile<const R: usize, const C: usize>(
        m: &I8Matrix,
        xq: &[u8],
        xs: &[f32],
        r: usize,
        c: usize,
        out: &mut [f32],
    ) {
        let kp = m.kp;
        let mut acc = [[_mm256_setzero_si256(); C]; R];
        let xp = xq.as_ptr().add(r * kp);
        let wp = m.q.as_ptr().add(c * kp);
        let mut off = 0;
        while off < kp {
            let mut xv = [_mm256_setzero_si256(); R];
            for (i, v) in xv.iter_mut().enumerate() {
                *v = _mm256_loadu_si256(xp.add(i * kp + off) as *const __m256i);
            }
            for j in 0..C {
                let wv = _mm256_loadu_si256(wp.add(j * kp + off) as *const __m256i);
                for i in 0..R {
                    acc[i][j] = _mm256_dpbusd_epi32(acc[i][j], xv[i], wv);
                }
            }
            off += 32;
        }
        for i in 0..R {
            for j in 0..C {
                let v = m.finish(hsum(acc[i][j]), c + j, xs[r + i]);
                *out.get_unchecked_mut((r + i) * m.cols + c + j) = v;
            }
        }
    }

    #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512vnni")]
    pub unsafe fn block(
        m: &I8Matrix,
        xq: &[u8],
        xs: &[f32],
        rows: usize,
        c0: usize,
        c1: usize,
        out: &mut [f32],
    ) {
        let mut c = c0;
        while c + 4 <= c1 {
            let mut r = 0;
            while r + 3 <= rows {
                tile::<3, 4>(m, xq, xs, r, c, out);
                r += 3;
            }
            while r < rows {
                tile::<1, 4>(m, xq, xs, r, c, out);
                r += 1;
            }
            c += 4;
        }
        while c < c1 {
            for r in 0..rows {
                tile::<1, 1>(m, xq, xs, r, c, out);
            }
            c += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn exact_integers_close_to_f32_and_rows_independent() {
        for (rows, cols, k) in [(7, 133, 77), (1, 9, 32), (16, 64, 512)] {
            let x = data(rows * k, 3);
            let w = data(cols * k, 4);
            let m = I8Matrix::quantize(&w, cols, k);
            let mut out = vec![0f32; rows * cols];
            m.matmul(&x, rows, &mut out);
            let mut worst = 0f32;
            for r in 0..rows {
                let mut one = vec![0f32; cols];
                m.matmul(&x[r * k..(r + 1) * k], 1, &mut one);
                assert_eq!(one, out[r * cols..(r + 1) * cols]);
                for c in 0..cols {
                    let want: f32 = (0..k).map(|i| x[r * k + i] * w[c * k + i]).sum();
                    worst = worst.max((want - one[c]).abs());
                }
            }
            assert!(worst < 0.02 * (k as f32).sqrt() / 4.0, "{worst}");
        }
    }
}
