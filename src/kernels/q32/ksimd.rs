//! The AVX2 path of [`super::kquant_reference`]: Q4_K, Q5_K and Q6_K with
//! integer sums per super-block, the same operations in the same order.

use super::unpack::{finish, header, load, prefetch_distance};
use super::{scales_mins_k4, BlockMatrix, BlockType, Q8Blocks, QK};
use std::arch::x86_64::*;

/// Columns `c..c + C` for rows `r0..r0 + R` of a k-quant matrix.
///
/// Per 32 weights and row: one `vpmaddubsw` (unsigned quants times signed
/// activations; Q6_K's signed quants by their magnitude, the activations
/// taking their signs), one `vpmaddwd` with the sub-block's integer
/// scale(s) and one integer add; per super-block and row, one conversion
/// and one multiply-add.
// Indexing keeps each (column, row) accumulator a register of its own.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
pub(super) unsafe fn tile<const C: usize, const R: usize>(
    ty: BlockType,
    w: &BlockMatrix,
    x: &Q8Blocks,
    c: usize,
    r0: usize,
    out: *mut f32,
) {
    let (n, k) = (w.n, w.k);
    let subs = ty.block_values() / QK;
    let blocks = k / ty.block_values();
    let bb = ty.block_bytes();
    let signed = matches!(ty, BlockType::Q6K);
    let has_min = ty.has_min();
    let mp = x.m + 7;
    let eights: &[i8] = if R == 8 { x.eights() } else { &[] };
    let mut acc = [[_mm256_setzero_ps(); R]; C];
    // The offsets, row `i` in lane `i`.
    let mut off = [_mm256_setzero_ps(); C];
    let rows: [*const u8; C] = std::array::from_fn(|j| w.data.as_ptr().add((c + j) * blocks * bb));
    let ahead = prefetch_distance(C, blocks * bb);
    for b in 0..blocks {
        let mut hdr = [(0f32, 0f32); C];
        for j in 0..C {
            // Every cache line of a block some blocks ahead (a block
            // spans up to four; past a row's end is the next row).
            for line in (0..bb + 63).step_by(64) {
                let next = rows[j].wrapping_add(b * bb + ahead + line);
                _mm_prefetch::<_MM_HINT_T0>(next as *const i8);
            }
            hdr[j] = header(ty, rows[j].add(b * bb));
        }
        // Each column's integer scales as bytes (Q6_K: 16 signed ones of
        // 16 values; else 8 of 32 values, then the 8 minimums), and the
        // minimums as f32.
        let mut sbytes = [_mm_setzero_si128(); C];
        let mut minf = [[0f32; 8]; C];
        for j in 0..C {
            let p = rows[j].add(b * bb);
            if signed {
                sbytes[j] = _mm_loadu_si128(p.add(192) as *const __m128i);
            } else {
                let sm = scales_mins_k4(std::slice::from_raw_parts(p, 16));
                sbytes[j] = _mm_loadu_si128(sm.as_ptr() as *const __m128i);
                let m8 = _mm_loadl_epi64(sm.as_ptr().add(8) as *const __m128i);
                _mm256_storeu_ps(
                    minf[j].as_mut_ptr(),
                    _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(m8)),
                );
            }
        }
        let mut lanes = [[_mm256_setzero_si256(); R]; C];
        let mut mins = [_mm256_setzero_ps(); C];
        for t in 0..subs {
            let sb = b * subs + t;
            for j in 0..C {
                let p = rows[j].add(b * bb);
                let wv = load(ty, p, t);
                // The sub-block's scale in every 16-bit lane (Q6_K: the
                // first half's in lanes 0-7, the second's in 8-15).
                let scv = if signed {
                    let pick = _mm_set_epi64x(
                        ((2 * t + 1) as u64 * 0x0101_0101_0101_0101) as i64,
                        ((2 * t) as u64 * 0x0101_0101_0101_0101) as i64,
                    );
                    _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sbytes[j], pick))
                } else {
                    let pick = _mm_set1_epi8(t as i8);
                    _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sbytes[j], pick))
                };
                if has_min {
                    let it = _mm256_loadu_ps(x.it.as_ptr().add(sb * mp + r0));
                    mins[j] = _mm256_fmadd_ps(_mm256_set1_ps(minf[j][t]), it, mins[j]);
                }
                let wa = if signed { _mm256_sign_epi8(wv, wv) } else { wv };
                for i in 0..R {
                    let at = x.block_ptr::<R>(eights, r0, i, sb);
                    let xv = _mm256_loadu_si256(at as *const __m256i);
                    let xs = if signed { _mm256_sign_epi8(xv, wv) } else { xv };
                    let li = _mm256_madd_epi16(_mm256_maddubs_epi16(wa, xs), scv);
                    lanes[j][i] = _mm256_add_epi32(lanes[j][i], li);
                }
            }
        }
        // The R rows' `d_x` of this super-block, one load.
        let dxs = _mm256_loadu_ps(x.dt.as_ptr().add(b * subs * mp + r0));
        for j in 0..C {
            let mut scales = [0f32; 8];
            _mm256_storeu_ps(
                scales.as_mut_ptr(),
                _mm256_mul_ps(dxs, _mm256_set1_ps(hdr[j].0)),
            );
            for i in 0..R {
                acc[j][i] = _mm256_fmadd_ps(
                    _mm256_cvtepi32_ps(lanes[j][i]),
                    _mm256_set1_ps(scales[i]),
                    acc[j][i],
                );
            }
            if has_min {
                let dm = _mm256_mul_ps(_mm256_set1_ps(-hdr[j].1), dxs);
                off[j] = _mm256_fmadd_ps(dm, mins[j], off[j]);
            }
        }
    }
    for j in 0..C {
        let mut offs = [0f32; 8];
        _mm256_storeu_ps(offs.as_mut_ptr(), off[j]);
        for i in 0..R {
            *out.add((r0 + i) * n + c + j) = finish(acc[j][i]) + offs[i];
        }
    }
}
