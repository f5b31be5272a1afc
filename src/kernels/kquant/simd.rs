//! The AVX-512 VNNI tile kernels behind the fast path: Q8_K activations
//! times 16-row Q4_K / Q6_K tiles with `vpdpbusd`.

// Kernel code indexes rows, sub-blocks and lanes side by side.
#![allow(clippy::needless_range_loop)]

use super::{PackedMatrix, Q8Rows, TileQ4, TileQ6, Tiles, QK_K, TILE};
use std::arch::x86_64::*;

/// One row to Q8_K as `super::quantize_row_body` does it, 16 values a
/// register: the largest magnitude (the first value that has it), `q =
/// (iscale * v + 1.5 * 2^23) - 1.5 * 2^23` (a multiply, an add and a
/// subtract, never fused), and the integer sums.
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn quantize_row(
    x: &[f32],
    d: &mut [f32],
    qs: &mut [i8],
    b16: &mut [i32],
    b32: &mut [i16],
) {
    let kb = x.len() / QK_K;
    assert!(
        qs.len() == x.len() && d.len() == kb && b16.len() == kb * 16 && b32.len() == kb * 8,
        "Q8_K buffers do not fit the row"
    );
    const MAGIC: f32 = 12_582_912.0;
    let magic = _mm512_set1_ps(MAGIC);
    for b in 0..kb {
        let xs = x.as_ptr().add(b * QK_K);
        let mut v = [_mm512_setzero_ps(); 16];
        // f32::max(m, |v|) keeps m when |v| is NaN; so does max_ps with
        // m second.
        let mut amax = _mm512_setzero_ps();
        for j in 0..16 {
            v[j] = _mm512_loadu_ps(xs.add(16 * j));
            amax = _mm512_max_ps(_mm512_abs_ps(v[j]), amax);
        }
        let amax = _mm512_reduce_max_ps(amax);
        let (q, bs16, bs32) = (
            &mut qs[b * QK_K..(b + 1) * QK_K],
            &mut b16[b * 16..(b + 1) * 16],
            &mut b32[b * 8..(b + 1) * 8],
        );
        if amax == 0.0 {
            q.fill(0);
            bs16.fill(0);
            bs32.fill(0);
            d[b] = 0.0;
            continue;
        }
        let target = _mm512_set1_ps(amax);
        let mut max = 0f32;
        for j in 0..16 {
            let hit = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(_mm512_abs_ps(v[j]), target);
            if hit != 0 {
                max = x[b * QK_K + 16 * j + hit.trailing_zeros() as usize];
                break;
            }
        }
        let iscale = -127f32 / max;
        let is = _mm512_set1_ps(iscale);
        for j in 0..16 {
            let r = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(is, v[j]), magic), magic);
            // `as i8` of these whole numbers in -127..=127 (of NaN: 0, as
            // the low byte of cvtt's 0x80000000); sums of the bytes stored.
            let q8 = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(r));
            _mm_storeu_si128(q.as_mut_ptr().add(16 * j) as *mut _, q8);
            bs16[j] = _mm512_reduce_add_epi32(_mm512_cvtepi8_epi32(q8));
        }
        for j in 0..8 {
            bs32[j] = (bs16[2 * j] + bs16[2 * j + 1]) as i16;
        }
        d[b] = 1.0 / iscale;
    }
}

/// Rows of activations handled together (weights unpacked once for all).
const MR: usize = 8;

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn tile(w: &PackedMatrix, t: usize, x: &Q8Rows, out: *mut f32) {
    let kb = w.k / QK_K;
    let mut a = 0;
    while a < x.m {
        // Blocks of 8, then 4, 2, 1 rows: every row is computed by the
        // same operations whatever block it falls in.
        let left = x.m - a;
        let rows = if left >= MR {
            MR
        } else if left >= 4 {
            4
        } else if left >= 2 {
            2
        } else {
            1
        };
        match (&w.tiles, rows) {
            (Tiles::Q4(ts), 8) => q4::<8>(&ts[t * kb..(t + 1) * kb], x, a, w.n, t, out),
            (Tiles::Q4(ts), 4) => q4::<4>(&ts[t * kb..(t + 1) * kb], x, a, w.n, t, out),
            (Tiles::Q4(ts), 2) => q4::<2>(&ts[t * kb..(t + 1) * kb], x, a, w.n, t, out),
            (Tiles::Q4(ts), _) => q4::<1>(&ts[t * kb..(t + 1) * kb], x, a, w.n, t, out),
            (Tiles::Q6(ts), 8) => q6::<8>(&ts[t * kb..(t + 1) * kb], x, a, w.n, t, out),
            (Tiles::Q6(ts), 4) => q6::<4>(&ts[t * kb..(t + 1) * kb], x, a, w.n, t, out),
            (Tiles::Q6(ts), 2) => q6::<2>(&ts[t * kb..(t + 1) * kb], x, a, w.n, t, out),
            (Tiles::Q6(ts), _) => q6::<1>(&ts[t * kb..(t + 1) * kb], x, a, w.n, t, out),
        }
        a += rows;
    }
}

/// Bytes ahead of the current Q4_K tile prefetched when several rows
/// share the pass.
const Q4_PREFETCH: usize = 4096;

/// Bytes ahead of the current Q6_K tile that are prefetched.
const Q6_PREFETCH: usize = 4096;

#[inline(always)]
unsafe fn bcast<T>(p: *const T) -> __m512i {
    _mm512_set1_epi32((p as *const i32).read_unaligned())
}

/// Independent `vpdpbusd` accumulation chains per row, so that with few
/// rows the instruction's latency stays off the critical path. The
/// sums are exact integers, so the split never changes a result.
const fn chains(rows: usize) -> usize {
    if rows >= 4 {
        1
    } else if rows >= 2 {
        2
    } else {
        4
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn q4<const R: usize>(
    tiles: &[TileQ4],
    x: &Q8Rows,
    a0: usize,
    n: usize,
    t: usize,
    out: *mut f32,
) {
    let kb = tiles.len();
    let k = kb * QK_K;
    let nib = _mm512_set1_epi8(15);
    let nc = chains(R);
    let mut acc = [_mm512_setzero_ps(); R];
    for (b, tile) in tiles.iter().enumerate() {
        let mut isum = [_mm512_setzero_si512(); R];
        let qs = tile.qs.as_ptr();
        // One row is bound by memory: kept as a loop (not unrolled), the
        // sub-block loop streams the tiles measurably faster here
        // (gate/up 20 -> 13 ms a token).
        let sb = if R == 1 { std::hint::black_box(8) } else { 8 };
        for s in 0..sb {
            if R > 1 && Q4_PREFETCH > 0 {
                // 37 lines a tile: five per sub-block covers it.
                let base = (tile as *const TileQ4 as *const i8).wrapping_add(Q4_PREFETCH);
                for l in 0..5 {
                    _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add((s * 5 + l) * 64));
                }
            }
            let mut p = [[_mm512_setzero_si512(); 4]; R];
            for g4 in 0..4 {
                let g = s * 4 + g4;
                let wv = _mm512_loadu_si512(qs.add(g * 64) as *const _);
                let lo = _mm512_and_si512(wv, nib);
                let hi = if nc == 1 {
                    _mm512_and_si512(_mm512_srli_epi16(wv, 4), nib)
                } else {
                    _mm512_andnot_si512(nib, wv)
                };
                let (c0, c1) = match nc {
                    1 => (0, 0),
                    2 => (0, 1),
                    _ => (2 * (g4 & 1), 2 * (g4 & 1) + 1),
                };
                for r in 0..R {
                    let xp = x.qs.as_ptr().add((a0 + r) * k + b * QK_K + g * 8);
                    p[r][c0] = _mm512_dpbusd_epi32(p[r][c0], lo, bcast(xp));
                    p[r][c1] = _mm512_dpbusd_epi32(p[r][c1], hi, bcast(xp.add(4)));
                }
            }
            let sc = _mm512_cvtepu8_epi32(_mm_loadu_si128(tile.scales[s].as_ptr() as *const _));
            for r in 0..R {
                let dot = match nc {
                    1 => p[r][0],
                    2 => _mm512_add_epi32(p[r][0], _mm512_srai_epi32(p[r][1], 4)),
                    _ => _mm512_add_epi32(
                        _mm512_add_epi32(p[r][0], p[r][2]),
                        _mm512_srai_epi32(_mm512_add_epi32(p[r][1], p[r][3]), 4),
                    ),
                };
                isum[r] = _mm512_add_epi32(isum[r], _mm512_mullo_epi32(dot, sc));
            }
        }
        // Mins: sum over sub-blocks of min * (sum of the 32 quants), two
        // sub-blocks per vpdpwssd.
        let mut msum = [_mm512_setzero_si512(); R];
        for j in 0..4 {
            let mn = _mm512_cvtepu8_epi16(_mm256_loadu_si256(tile.mins[j].as_ptr() as *const _));
            for r in 0..R {
                let bs = x.bsums32.as_ptr().add(((a0 + r) * kb + b) * 8 + 2 * j);
                msum[r] = _mm512_dpwssd_epi32(msum[r], mn, bcast(bs));
            }
        }
        let d = _mm512_cvtph_ps(_mm256_loadu_si256(tile.d.as_ptr() as *const _));
        let dmin = _mm512_cvtph_ps(_mm256_loadu_si256(tile.dmin.as_ptr() as *const _));
        for r in 0..R {
            let dx = _mm512_set1_ps(x.d[(a0 + r) * kb + b]);
            acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(d, dx), _mm512_cvtepi32_ps(isum[r]), acc[r]);
            acc[r] = _mm512_fnmadd_ps(_mm512_mul_ps(dmin, dx), _mm512_cvtepi32_ps(msum[r]), acc[r]);
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        _mm512_storeu_ps(out.add((a0 + r) * n + t * TILE), *acc);
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn q6<const R: usize>(
    tiles: &[TileQ6],
    x: &Q8Rows,
    a0: usize,
    n: usize,
    t: usize,
    out: *mut f32,
) {
    let kb = tiles.len();
    let k = kb * QK_K;
    let nib = _mm512_set1_epi8(15);
    let hib = _mm512_set1_epi8(0x30);
    let mut acc = [_mm512_setzero_ps(); R];
    for (b, tile) in tiles.iter().enumerate() {
        let base = tile as *const TileQ6 as *const i8;
        let mut isum = [_mm512_setzero_si512(); R];
        let ql = tile.ql.as_ptr();
        let qh = tile.qh.as_ptr();
        // As in `q4`: a loop, not unrolled, for one row (output
        // matrix 6.7 -> 5.5 ms).
        let sb = if R == 1 { std::hint::black_box(16) } else { 16 };
        for s in 0..sb {
            // Software prefetch a little over a tile ahead: measured
            // to lift Q6_K decoding from about 20 to 27 GB/s here
            // (and to slow Q4_K, which has none).
            // 53 lines a tile: three per sub-block plus five more.
            _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(Q6_PREFETCH + s * 192));
            _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(Q6_PREFETCH + s * 192 + 64));
            _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(Q6_PREFETCH + s * 192 + 128));
            if s < 5 {
                _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(Q6_PREFETCH + 3072 + s * 64));
            }
            let w0 = _mm512_loadu_si512(ql.add(2 * s * 64) as *const _);
            let w1 = _mm512_loadu_si512(ql.add((2 * s + 1) * 64) as *const _);
            let h = _mm512_loadu_si512(qh.add(s * 64) as *const _);
            let u = [
                _mm512_or_si512(
                    _mm512_and_si512(w0, nib),
                    _mm512_and_si512(_mm512_slli_epi16(h, 4), hib),
                ),
                _mm512_or_si512(
                    _mm512_and_si512(_mm512_srli_epi16(w0, 4), nib),
                    _mm512_and_si512(_mm512_slli_epi16(h, 2), hib),
                ),
                _mm512_or_si512(_mm512_and_si512(w1, nib), _mm512_and_si512(h, hib)),
                _mm512_or_si512(
                    _mm512_and_si512(_mm512_srli_epi16(w1, 4), nib),
                    _mm512_and_si512(_mm512_srli_epi16(h, 2), hib),
                ),
            ];
            let sc = _mm512_cvtepi8_epi32(_mm_loadu_si128(tile.scales[s].as_ptr() as *const _));
            for r in 0..R {
                let xp = x.qs.as_ptr().add((a0 + r) * k + b * QK_K + s * 16);
                let d0 =
                    _mm512_set1_epi32(-32 * *x.bsums.as_ptr().add(((a0 + r) * kb + b) * 16 + s));
                let d0 = _mm512_dpbusd_epi32(d0, u[0], bcast(xp));
                let d1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[1], bcast(xp.add(4)));
                let d0 = _mm512_dpbusd_epi32(d0, u[2], bcast(xp.add(8)));
                let d1 = _mm512_dpbusd_epi32(d1, u[3], bcast(xp.add(12)));
                let dot = _mm512_add_epi32(d0, d1);
                isum[r] = _mm512_add_epi32(isum[r], _mm512_mullo_epi32(dot, sc));
            }
        }
        let d = _mm512_cvtph_ps(_mm256_loadu_si256(tile.d.as_ptr() as *const _));
        for r in 0..R {
            let dx = _mm512_set1_ps(x.d[(a0 + r) * kb + b]);
            acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(d, dx), _mm512_cvtepi32_ps(isum[r]), acc[r]);
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        _mm512_storeu_ps(out.add((a0 + r) * n + t * TILE), *acc);
    }
}
