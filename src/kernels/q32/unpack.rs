//! Reading the file's blocks on AVX2, shared by the 32-value kernels
//! ([`super::simd`]) and the k-quants' ([`super::ksimd`]): quants of a
//! sub-block, block headers, prefetch distances and the final lane sum.

use super::{lane_sum, BlockType};
use std::arch::x86_64::*;

/// How far ahead of the block being read weights are prefetched.
pub(super) const PREFETCH: usize = 1024;

/// How far ahead of the block being read a k-quant column's weights are
/// fetched: where the next tile of `cols` columns reads the same block,
/// when rows are short (that tile's rows start past this one's, and the
/// hardware prefetcher, following each row as a stream, misses their first
/// blocks: a sixth of the default model's decoding time stalled there;
/// decoding 15.0-15.2 -> 16.2-16.8 tokens/s), else [`PREFETCH`] bytes down
/// the row. The 32-value kernels keep [`PREFETCH`]: with this distance
/// Gemma 3's decoding (a Q8_0 output matrix of 680-byte rows) fell from
/// 71-77 to 60-63 tokens/s.
pub(super) fn prefetch_distance(cols: usize, row_bytes: usize) -> usize {
    if cols * row_bytes <= 4 * PREFETCH {
        cols * row_bytes
    } else {
        PREFETCH
    }
}

/// Byte `j` is 0x10 where bit `j` of `qh` is set.
#[inline(always)]
unsafe fn high_bits(qh: u32) -> __m256i {
    let bytes = _mm256_shuffle_epi8(
        _mm256_set1_epi32(qh as i32),
        _mm256_setr_epi8(
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3,
            3, 3, 3,
        ),
    );
    let bit = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
    let set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
    _mm256_and_si256(set, _mm256_set1_epi8(0x10))
}

/// Low (`high == false`) or high nibbles of 32 bytes at `p`.
#[inline(always)]
unsafe fn nibbles32(p: *const u8, high: bool) -> __m256i {
    let raw = _mm256_loadu_si256(p as *const __m256i);
    let v = if high { _mm256_srli_epi16(raw, 4) } else { raw };
    _mm256_and_si256(v, _mm256_set1_epi8(0x0f))
}

/// The 32 quants of sub-block `t` of the block at `p`, as
/// [`super::sub_quants`] gives them.
#[inline(always)]
pub(super) unsafe fn load(ty: BlockType, p: *const u8, t: usize) -> __m256i {
    let nibbles16 = |qs: *const u8| {
        let raw = _mm_loadu_si128(qs as *const __m128i);
        let lo = _mm_and_si128(raw, _mm_set1_epi8(0x0f));
        let hi = _mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0f));
        _mm256_set_m128i(hi, lo)
    };
    let qh32 = |q: *const u8| u32::from_le_bytes([*q, *q.add(1), *q.add(2), *q.add(3)]);
    match ty {
        BlockType::Q8_0 => _mm256_loadu_si256(p.add(2) as *const __m256i),
        BlockType::Q4_0 => nibbles16(p.add(2)),
        BlockType::Q4_1 => nibbles16(p.add(4)),
        BlockType::Q5_0 => _mm256_or_si256(nibbles16(p.add(6)), high_bits(qh32(p.add(2)))),
        BlockType::Q5_1 => _mm256_or_si256(nibbles16(p.add(8)), high_bits(qh32(p.add(4)))),
        BlockType::Q4K => nibbles32(p.add(16 + 32 * (t / 2)), t % 2 == 1),
        BlockType::Q5K => {
            let nib = nibbles32(p.add(48 + 32 * (t / 2)), t % 2 == 1);
            let qh = _mm256_loadu_si256(p.add(16) as *const __m256i);
            let bit = _mm256_set1_epi8((1u8 << t) as i8);
            let set = _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit);
            _mm256_or_si256(nib, _mm256_and_si256(set, _mm256_set1_epi8(0x10)))
        }
        BlockType::Q6K => {
            let (n, kind) = (t / 4, t % 4);
            let nib = nibbles32(p.add(64 * n + 32 * (kind % 2)), kind >= 2);
            let qh = _mm256_loadu_si256(p.add(128 + 32 * n) as *const __m256i);
            let shifted = _mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * kind as i32));
            let high = _mm256_slli_epi16(_mm256_and_si256(shifted, _mm256_set1_epi8(3)), 4);
            _mm256_sub_epi8(_mm256_or_si256(nib, high), _mm256_set1_epi8(32))
        }
    }
}

#[inline(always)]
pub(super) unsafe fn finish(acc: __m256) -> f32 {
    let mut a = [0f32; 8];
    _mm256_storeu_ps(a.as_mut_ptr(), acc);
    lane_sum(&a)
}

/// f16 at `p` to f32 (F16C).
#[inline(always)]
unsafe fn f16(p: *const u8) -> f32 {
    let bits = u16::from_le_bytes([*p, *p.add(1)]);
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
}

/// [`super::header`] with F16C.
#[inline(always)]
pub(super) unsafe fn header(ty: BlockType, p: *const u8) -> (f32, f32) {
    match ty {
        BlockType::Q6K => (f16(p.add(208)), 0.0),
        BlockType::Q4_1 | BlockType::Q5_1 | BlockType::Q4K | BlockType::Q5K => {
            (f16(p), f16(p.add(2)))
        }
        _ => (f16(p), 0.0),
    }
}

/// A block type as a type, so each kernel is compiled for one.
pub(super) trait Kind {
    const TY: BlockType;
}
macro_rules! kinds {
    ($($name:ident = $ty:ident),*) => {$(
        pub(super) struct $name;
        impl Kind for $name {
            const TY: BlockType = BlockType::$ty;
        }
    )*};
}
kinds!(
    KQ4_0 = Q4_0,
    KQ4_1 = Q4_1,
    KQ5_0 = Q5_0,
    KQ5_1 = Q5_1,
    KQ8_0 = Q8_0,
    KQ4K = Q4K,
    KQ5K = Q5K,
    KQ6K = Q6K
);
