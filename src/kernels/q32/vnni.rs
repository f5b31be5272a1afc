//! The AVX-512 VNNI path of [`super::simd`] for the 32-value types when
//! there are at least eight activation rows (a prompt, a batch of eight):
//! two rows per 512-bit register, the same operations per (output, row)
//! as the reference, so the same bits.
//!
//! Per 32 weights, column and row pair: one `vpdpbusd` (unsigned quants
//! times signed activations, summed exactly into eight 32-bit lanes per
//! row, the accumulator starting at `-bias * sum(x)` of each lane so that
//! the lanes are the signed product's), one conversion, one multiply for
//! `d_w * d_x` and one fused multiply-add. Q8_0's signed quants are taken
//! as `q + 128` with a bias of 128. The AVX2 path needs about twice the
//! vector operations per (column, row): `vpmaddubsw`, `vpmaddwd`, the
//! bias subtraction, each on 256 bits.

use super::unpack::{header, load, Kind, PREFETCH};
use super::{lane_sum, BlockMatrix, BlockType, Q8Blocks, QK};
use std::arch::x86_64::*;

/// Activation rows per tile (four pairs).
pub(super) const ROWS: usize = 8;

/// Columns `c..c + C` for rows `r0..r0 + 8`.
#[allow(clippy::needless_range_loop)]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) unsafe fn tile<K: Kind, const C: usize>(
    w: &BlockMatrix,
    x: &Q8Blocks,
    c: usize,
    r0: usize,
    out: *mut f32,
) {
    let ty = K::TY;
    let (n, k) = (w.n, w.k);
    let blocks = k / QK;
    let bb = ty.block_bytes();
    // `log2(bias)`, and whether the stored quants are signed (Q8_0: flipped
    // to `q + 128`).
    let (shift, flip): (u32, bool) = match ty {
        BlockType::Q8_0 => (7, true),
        BlockType::Q4_0 => (3, false),
        BlockType::Q5_0 => (4, false),
        _ => (0, false),
    };
    let has_min = ty.has_min();
    let mp = x.m + 7;
    let mut acc = [[_mm512_setzero_ps(); 4]; C];
    // The offsets' accumulators, row `i` in lane `i`.
    let mut off = [_mm256_setzero_ps(); C];
    let rows: [*const u8; C] = std::array::from_fn(|j| w.data.as_ptr().add((c + j) * blocks * bb));
    // Pair `p`'s scales: row `2p` in lanes 0-7, `2p + 1` in lanes 8-15.
    let pick: [__m512i; 4] = std::array::from_fn(|p| {
        let (a, b) = (2 * p as i32, 2 * p as i32 + 1);
        _mm512_set_epi32(b, b, b, b, b, b, b, b, a, a, a, a, a, a, a, a)
    });
    let pair = |base: *const u8, stride: usize| {
        let lo = _mm256_loadu_si256(base as *const __m256i);
        let hi = _mm256_loadu_si256(base.add(stride) as *const __m256i);
        _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi)
    };
    for b in 0..blocks {
        let mut wv = [_mm512_setzero_si512(); C];
        let mut dw = [_mm512_setzero_ps(); C];
        for j in 0..C {
            let p = rows[j].add(b * bb);
            _mm_prefetch::<_MM_HINT_T0>(rows[j].wrapping_add(b * bb + PREFETCH) as *const i8);
            let (d, m) = header(ty, p);
            let mut q = load(ty, p, 0);
            if flip {
                q = _mm256_xor_si256(q, _mm256_set1_epi8(-128));
            }
            wv[j] = _mm512_broadcast_i64x4(q);
            dw[j] = _mm512_set1_ps(d);
            if has_min {
                // The eight rows' `d_x * sum`, one load.
                let s = _mm256_loadu_ps(x.st.as_ptr().add(b * mp + r0));
                off[j] = _mm256_fmadd_ps(_mm256_set1_ps(m), s, off[j]);
            }
        }
        let dx8 = _mm512_castps256_ps512(_mm256_loadu_ps(x.dt.as_ptr().add(b * mp + r0)));
        for pr in 0..4 {
            let r = r0 + 2 * pr;
            let xv = pair(x.qs.as_ptr().add(r * k + b * QK) as *const u8, k);
            // `-bias * sum(x)` per lane, by the same instruction (no
            // memory read for it).
            let start = if shift != 0 {
                let bias = _mm512_set1_epi8(1 << shift);
                let sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, xv);
                _mm512_sub_epi32(_mm512_setzero_si512(), sums)
            } else {
                _mm512_setzero_si512()
            };
            let dx = _mm512_permutexvar_ps(pick[pr], dx8);
            for j in 0..C {
                let lanes = _mm512_dpbusd_epi32(start, wv[j], xv);
                let scale = _mm512_mul_ps(dx, dw[j]);
                acc[j][pr] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(lanes), scale, acc[j][pr]);
            }
        }
    }
    for j in 0..C {
        let mut offs = [0f32; 8];
        _mm256_storeu_ps(offs.as_mut_ptr(), off[j]);
        for pr in 0..4 {
            let mut a = [0f32; 16];
            _mm512_storeu_ps(a.as_mut_ptr(), acc[j][pr]);
            let lo: &[f32; 8] = a[..8].try_into().expect("8 lanes");
            let hi: &[f32; 8] = a[8..].try_into().expect("8 lanes");
            let r = r0 + 2 * pr;
            *out.add(r * n + c + j) = lane_sum(lo) + offs[2 * pr];
            *out.add((r + 1) * n + c + j) = lane_sum(hi) + offs[2 * pr + 1];
        }
    }
}
