//! The AVX2 path of [`super`]: the same operations as the portable
//! reference, 32 weights at a time.

use super::unpack::{finish, header, load, Kind, PREFETCH};
use super::unpack::{KQ4K, KQ4_0, KQ4_1, KQ5K, KQ5_0, KQ5_1, KQ6K, KQ8_0};
use super::{BlockMatrix, BlockType, Q8Blocks, QK};
use std::arch::x86_64::*;

/// Activation rows per pass over a weight block (two columns at once).
const ROWS: usize = 4;
/// Rows per pass when there are at least this many (one column).
const WIDE: usize = 8;
/// Activation rows taken over a column block before the next rows, on the
/// AVX-512 VNNI path.
const ROW_CHUNK: usize = 64;
/// Output columns computed together for many rows.
const COLUMN_BLOCK: usize = 16;
/// Whether the CPU has AVX-512 VNNI (for [`super::vnni`]).
fn vnni() -> bool {
    crate::kernels::vecmath::has_avx512_vnni()
}

/// Eight 32-bit lanes: lane `l` is the exact sum over bytes `4l..4l+3`
/// of weight times activation.
#[inline(always)]
unsafe fn lanes(w: __m256i, signed: bool, x: __m256i) -> __m256i {
    let pairs = if signed {
        _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w))
    } else {
        _mm256_maddubs_epi16(w, x)
    };
    _mm256_madd_epi16(pairs, _mm256_set1_epi16(1))
}

/// Output columns `cols` for every activation row: two columns and up
/// to [`ROWS`] rows at a time, each unpacked weight sub-block used for
/// all the rows, every (column, row) its own accumulator.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn columns(
    w: &BlockMatrix,
    x: &Q8Blocks,
    cols: std::ops::Range<usize>,
    out: *mut f32,
) {
    match w.ty {
        BlockType::Q4_0 => columns_of::<KQ4_0>(w, x, cols, out),
        BlockType::Q4_1 => columns_of::<KQ4_1>(w, x, cols, out),
        BlockType::Q5_0 => columns_of::<KQ5_0>(w, x, cols, out),
        BlockType::Q5_1 => columns_of::<KQ5_1>(w, x, cols, out),
        BlockType::Q8_0 => columns_of::<KQ8_0>(w, x, cols, out),
        BlockType::Q4K => columns_of::<KQ4K>(w, x, cols, out),
        BlockType::Q5K => columns_of::<KQ5K>(w, x, cols, out),
        BlockType::Q6K => columns_of::<KQ6K>(w, x, cols, out),
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn columns_of<K: Kind>(
    w: &BlockMatrix,
    x: &Q8Blocks,
    cols: std::ops::Range<usize>,
    out: *mut f32,
) {
    if x.m >= super::vnni::ROWS && K::TY.block_values() == QK && vnni() {
        // Many rows on AVX-512 VNNI: four columns and eight rows a tile;
        // [`COLUMN_BLOCK`] columns over a chunk of [`ROW_CHUNK`] rows
        // (their activations stay in the core's cache, where a long
        // prompt's whole would not), then the next columns.
        let eight = super::vnni::ROWS;
        let whole = x.m - x.m % eight;
        let mut r_lo = 0;
        while r_lo < whole {
            let r_hi = (r_lo + ROW_CHUNK).min(whole);
            let mut c0 = cols.start;
            while c0 < cols.end {
                let c1 = (c0 + COLUMN_BLOCK).min(cols.end);
                for r0 in (r_lo..r_hi).step_by(eight) {
                    let mut c = c0;
                    while c + 4 <= c1 {
                        super::vnni::tile::<K, 4>(w, x, c, r0, out);
                        c += 4;
                    }
                    while c < c1 {
                        super::vnni::tile::<K, 1>(w, x, c, r0, out);
                        c += 1;
                    }
                }
                c0 = c1;
            }
            r_lo = r_hi;
        }
        for c in cols {
            rows_of::<K, 1>(w, x, c, whole, out);
        }
        return;
    }
    if x.m >= WIDE {
        // Many rows (a batch or a prompt): one column, eight rows a pass,
        // over [`COLUMN_BLOCK`] columns before the next eight rows, so
        // that both stay in cache (a long prompt's activations do not).
        let mut c0 = cols.start;
        while c0 < cols.end {
            let c1 = (c0 + COLUMN_BLOCK).min(cols.end);
            let mut r0 = 0;
            while x.m - r0 >= WIDE {
                for c in c0..c1 {
                    tile::<K, 1, WIDE>(w, x, c, r0, out);
                }
                r0 += WIDE;
            }
            for c in c0..c1 {
                rows_of::<K, 1>(w, x, c, r0, out);
            }
            c0 = c1;
        }
        return;
    }
    let mut c = cols.start;
    while c + 1 < cols.end {
        rows_of::<K, 2>(w, x, c, 0, out);
        c += 2;
    }
    if c < cols.end {
        rows_of::<K, 1>(w, x, c, 0, out);
    }
}

/// Rows `r0..` of columns `c..c + C`, up to [`ROWS`] rows a pass.
#[inline(always)]
unsafe fn rows_of<K: Kind, const C: usize>(
    w: &BlockMatrix,
    x: &Q8Blocks,
    c: usize,
    mut r0: usize,
    out: *mut f32,
) {
    while r0 < x.m {
        match x.m - r0 {
            1 => tile::<K, C, 1>(w, x, c, r0, out),
            2 => tile::<K, C, 2>(w, x, c, r0, out),
            3 => tile::<K, C, 3>(w, x, c, r0, out),
            _ => tile::<K, C, ROWS>(w, x, c, r0, out),
        }
        r0 += (x.m - r0).min(ROWS);
    }
}

/// Columns `c..c + C` for rows `r0..r0 + R` (the k-quants in
/// [`super::ksimd`]).
#[inline(always)]
unsafe fn tile<K: Kind, const C: usize, const R: usize>(
    w: &BlockMatrix,
    x: &Q8Blocks,
    c: usize,
    r0: usize,
    out: *mut f32,
) {
    let ty = K::TY;
    if ty.block_values() != QK {
        return super::ksimd::tile::<C, R>(ty, w, x, c, r0, out);
    }
    let (n, k) = (w.n, w.k);
    let blocks = k / QK;
    let bb = ty.block_bytes();
    let signed = !ty.unsigned();
    let bias = ty.bias();
    let has_min = ty.has_min();
    let mut acc = [[_mm256_setzero_ps(); R]; C];
    // The offsets' accumulators, row `i` in lane `i`.
    let mut off = [_mm256_setzero_ps(); C];
    let mp = x.m + 7;
    let rows: [*const u8; C] = std::array::from_fn(|j| w.data.as_ptr().add((c + j) * blocks * bb));
    for b in 0..blocks {
        let mut hdr = [(0f32, 0f32); C];
        for j in 0..C {
            // Each column's blocks are a stream of their own: fetch
            // ahead (past a row's end is the next row, read soon).
            _mm_prefetch::<_MM_HINT_T0>(rows[j].wrapping_add(b * bb + PREFETCH) as *const i8);
            hdr[j] = header(ty, rows[j].add(b * bb));
        }
        {
            // One 32-value block: sub-block 0 of itself.
            let (t, sb) = (0, b);
            let mut xv = [_mm256_setzero_si256(); R];
            let mut corr = [_mm256_setzero_si256(); R];
            for i in 0..R {
                xv[i] =
                    _mm256_loadu_si256(x.qs.as_ptr().add((r0 + i) * k + sb * QK) as *const __m256i);
                if bias != 0 {
                    // `bias * sum(x)` per lane: each lane is then the
                    // signed product's, `sum((q - bias) * x)`, exactly.
                    let quad = x.quad.as_ptr().add(((r0 + i) * k + sb * QK) / 4);
                    let sums = _mm256_loadu_si256(quad as *const __m256i);
                    corr[i] =
                        _mm256_sll_epi32(sums, _mm_cvtsi32_si128(bias.trailing_zeros() as i32));
                }
            }
            for j in 0..C {
                let p = rows[j].add(b * bb);
                let wv = load(ty, p, t);
                let blk = std::slice::from_raw_parts(p, bb);
                let (sc, m) = super::sub_scales(ty, blk, t, hdr[j]);
                if has_min {
                    // The R rows' `d_x * sum`, one load (lanes past R
                    // are never read back).
                    let s = _mm256_loadu_ps(x.st.as_ptr().add(sb * mp + r0));
                    off[j] = _mm256_fmadd_ps(_mm256_set1_ps(m), s, off[j]);
                }
                // The R rows' `d_w * d_x` in one multiply (lanes past R
                // are never read).
                let dxs = _mm256_loadu_ps(x.dt.as_ptr().add(sb * mp + r0));
                let mut scales = [0f32; 8];
                _mm256_storeu_ps(
                    scales.as_mut_ptr(),
                    _mm256_mul_ps(dxs, _mm256_set1_ps(sc[0])),
                );
                for i in 0..R {
                    let scale = _mm256_set1_ps(scales[i]);
                    let mut li = lanes(wv, signed, xv[i]);
                    if bias != 0 {
                        li = _mm256_sub_epi32(li, corr[i]);
                    }
                    acc[j][i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(li), scale, acc[j][i]);
                }
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
