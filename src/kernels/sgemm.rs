//! `out = x W^T` in f32 for the Marian linear layers, written so that every
//! output element is one fixed sequence of operations: an 8-lane fused
//! multiply-add accumulator over the input width, a fixed horizontal sum,
//! then the leftover inputs in order. Which tile an element is computed in
//! (3x4, 1x4, 3x1, 1x1), how many rows come along and which thread runs it
//! never change that sequence, so a batch gives bit for bit the numbers of
//! each row alone. The 3x4 tile keeps twelve accumulators, three input rows
//! and one weight row in the sixteen AVX2 registers, so it runs near the
//! FMA units' peak when its weights sit in cache.

/// Columns (weight rows) per parallel work item.
const COL_BLOCK: usize = 64;

/// `out[r][c] = sum_k x[r][k] * w[c][k]`, `x` is `[rows][k]`, `w` is
/// `[cols][k]`, `out` is `[rows][cols]`, all row-major.
pub fn matmul_nt(x: &[f32], rows: usize, w: &[f32], cols: usize, k: usize, out: &mut [f32]) {
    assert_eq!(x.len(), rows * k);
    assert_eq!(w.len(), cols * k);
    assert_eq!(out.len(), rows * cols);
    if rows == 0 || cols == 0 {
        return;
    }
    let out_ptr = out.as_mut_ptr() as usize;
    // Work items are column blocks; candle's persistent worker pool (which
    // the quantized matmul uses too) hands each thread contiguous runs of
    // them, so one row streams the weights front to back per thread.
    let col_block = if rows < 3 { 8 } else { COL_BLOCK };
    let blocks = cols.div_ceil(col_block);
    candle_core::utils::barrier_pool().execute_chunked(blocks, |range| {
        let c0 = range.start * col_block;
        let c1 = (range.end * col_block).min(cols);
        // SAFETY: work items write disjoint column ranges of `out`, which
        // outlives this call; `out_ptr` is its start.
        let out = unsafe { std::slice::from_raw_parts_mut(out_ptr as *mut f32, rows * cols) };
        block(x, rows, w, cols, k, c0, c1, out);
    });
}

#[allow(clippy::too_many_arguments)]
fn block(
    x: &[f32],
    rows: usize,
    w: &[f32],
    cols: usize,
    k: usize,
    c0: usize,
    c1: usize,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if super::vecmath::has_avx2() {
        // SAFETY: the CPU has AVX2 and FMA.
        unsafe { avx2::block(x, rows, w, cols, k, c0, c1, out) };
        return;
    }
    portable_block(x, rows, w, cols, k, c0, c1, out);
}

/// The same sequence of operations as the AVX2 kernel, lane by lane.
#[allow(clippy::too_many_arguments)]
fn portable_block(
    x: &[f32],
    rows: usize,
    w: &[f32],
    cols: usize,
    k: usize,
    c0: usize,
    c1: usize,
    out: &mut [f32],
) {
    let chunks = k / 8;
    for r in 0..rows {
        let xr = &x[r * k..(r + 1) * k];
        for c in c0..c1 {
            let wc = &w[c * k..(c + 1) * k];
            let mut acc = [0f32; 8];
            for ch in 0..chunks {
                for l in 0..8 {
                    acc[l] = xr[ch * 8 + l].mul_add(wc[ch * 8 + l], acc[l]);
                }
            }
            let mut s = hsum8(acc);
            for i in chunks * 8..k {
                s = xr[i].mul_add(wc[i], s);
            }
            out[r * cols + c] = s;
        }
    }
}

/// The horizontal sum both kernels use: halves, then pairs, then the two.
#[inline(always)]
fn hsum8(a: [f32; 8]) -> f32 {
    let h = [a[0] + a[4], a[1] + a[5], a[2] + a[6], a[3] + a[7]];
    let p = [h[0] + h[2], h[1] + h[3]];
    p[0] + p[1]
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let h = _mm_add_ps(lo, hi); // [a0+a4, a1+a5, a2+a6, a3+a7]
        let p = _mm_add_ps(h, _mm_movehl_ps(h, h)); // [h0+h2, h1+h3, ..]
        let s = _mm_add_ss(p, _mm_shuffle_ps::<0b01>(p, p)); // p0 + p1
        _mm_cvtss_f32(s)
    }

    /// An `R` x `C` tile at (`r`, `c`).
    #[inline(always)]
    #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
    unsafe fn tile<const R: usize, const C: usize>(
        x: &[f32],
        w: &[f32],
        cols: usize,
        k: usize,
        r: usize,
        c: usize,
        out: &mut [f32],
    ) {
        let chunks = k / 8;
        let mut acc = [[_mm256_setzero_ps(); C]; R];
        let xp = x.as_ptr().add(r * k);
        let wp = w.as_ptr().add(c * k);
        for ch in 0..chunks {
            let mut xv = [_mm256_setzero_ps(); R];
            for (i, v) in xv.iter_mut().enumerate() {
                *v = _mm256_loadu_ps(xp.add(i * k + ch * 8));
            }
            for j in 0..C {
                let wv = _mm256_loadu_ps(wp.add(j * k + ch * 8));
                for i in 0..R {
                    acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
                }
            }
        }
        for i in 0..R {
            for j in 0..C {
                let mut s = hsum(acc[i][j]);
                for t in chunks * 8..k {
                    s = (*xp.add(i * k + t)).mul_add(*wp.add(j * k + t), s);
                }
                *out.get_unchecked_mut((r + i) * cols + c + j) = s;
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn block(
        x: &[f32],
        rows: usize,
        w: &[f32],
        cols: usize,
        k: usize,
        c0: usize,
        c1: usize,
        out: &mut [f32],
    ) {
        let mut c = c0;
        while c + 4 <= c1 {
            let mut r = 0;
            while r + 3 <= rows {
                tile::<3, 4>(x, w, cols, k, r, c, out);
                r += 3;
            }
            while r < rows {
                tile::<1, 4>(x, w, cols, k, r, c, out);
                r += 1;
            }
            c += 4;
        }
        while c < c1 {
            let mut r = 0;
            while r + 3 <= rows {
                tile::<3, 1>(x, w, cols, k, r, c, out);
                r += 3;
            }
            while r < rows {
                tile::<1, 1>(x, w, cols, k, r, c, out);
                r += 1;
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
    fn matches_the_portable_order_bit_for_bit_and_rows_are_independent() {
        for (rows, cols, k) in [(7, 133, 77), (1, 5, 8), (4, 64, 512), (3, 70, 3)] {
            let x = data(rows * k, 1);
            let w = data(cols * k, 2);
            let mut fast = vec![0f32; rows * cols];
            matmul_nt(&x, rows, &w, cols, k, &mut fast);
            let mut slow = vec![0f32; rows * cols];
            portable_block(&x, rows, &w, cols, k, 0, cols, &mut slow);
            assert_eq!(fast, slow, "{rows}x{cols}x{k}");
            for r in 0..rows {
                let mut one = vec![0f32; cols];
                matmul_nt(&x[r * k..(r + 1) * k], 1, &w, cols, k, &mut one);
                assert_eq!(one, fast[r * cols..(r + 1) * cols]);
                for c in 0..cols {
                    let want: f64 = (0..k)
                        .map(|i| x[r * k + i] as f64 * w[c * k + i] as f64)
                        .sum();
                    assert!((want - one[c] as f64).abs() < 1e-4, "{want} {}", one[c]);
                }
            }
        }
    }
}
