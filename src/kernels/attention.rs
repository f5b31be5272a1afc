//! Causal grouped-query attention on the CPU, straight from a token-major
//! key/value cache of f16 values (as llama.cpp keeps it: half the bytes of
//! f32, and at decoding the cache is read whole every step; a batch of 8
//! sequences read about half as many bytes of cache as of weights).
//!
//! Candle's generic path (repeat the KV heads, concatenate the cache, one
//! masked matmul) copies the whole cache several times per layer and step;
//! at 1,000 tokens of context that costs more than the weights. Here every
//! (query row, head) pair reads its keys and values in place, once, and the
//! pairs are spread over candle's CPU worker pool. The arithmetic of one pair
//! depends only on its own query and cache, never on which other sequences
//! or rows are computed in the same call: that is what makes batched decoding
//! give exactly the tokens of unbatched decoding.

/// Shapes of one attention call.
#[derive(Debug, Clone, Copy)]
pub struct AttnShape {
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
}

impl AttnShape {
    pub fn kv_dim(&self) -> usize {
        self.num_kv_heads * self.head_dim
    }
    pub fn q_dim(&self) -> usize {
        self.num_heads * self.head_dim
    }
}

/// Attention for `rows` query rows that are the last `rows` positions of a
/// sequence whose cache holds `cache_len` positions (the new ones included).
///
/// - `q`: `[rows][num_heads][head_dim]`, already rotated.
/// - `k`, `v`: `[cache_len][num_kv_heads][head_dim]`, token-major.
/// - `out`: `[rows][num_heads][head_dim]`.
///
/// Row `i` attends to positions `0..=cache_len - rows + i` (causal).
pub fn causal_attention(shape: AttnShape, q: &[f32], k: &[f16], v: &[f16], out: &mut [f32]) {
    causal_attention_many(shape, &[(q, k, v)], out)
}

/// [`causal_attention`] for several sequences at once, `(q, k, v)` each;
/// `out` holds their output rows one after the other, in order. All
/// (sequence, row, head) items go to the worker pool together.
pub fn causal_attention_many(shape: AttnShape, seqs: &[(&[f32], &[f16], &[f16])], out: &mut [f32]) {
    causal_attention_many_windowed(shape, None, seqs, out)
}

/// [`causal_attention_many`] where, with a `window`, each row attends only
/// to the last `window` positions up to its own (itself included), as the
/// sliding-window layers of Gemma 3 do; `None` is plain causal attention.
pub fn causal_attention_many_windowed(
    shape: AttnShape,
    window: Option<usize>,
    seqs: &[(&[f32], &[f16], &[f16])],
    out: &mut [f32],
) {
    let qd = shape.q_dim();
    let kvd = shape.kv_dim();
    if qd == 0 || kvd == 0 {
        return;
    }
    assert!(
        shape.num_heads.is_multiple_of(shape.num_kv_heads),
        "attention heads {shape:?}"
    );
    // (first item, rows, cache length, first output row) per sequence.
    let mut plan = Vec::with_capacity(seqs.len());
    let (mut items, mut out_rows, mut work_units) = (0usize, 0usize, 0usize);
    for (q, k, v) in seqs {
        let rows = q.len() / qd;
        let cache_len = k.len() / kvd;
        assert!(
            rows <= cache_len
                && q.len() == rows * qd
                && k.len() == cache_len * kvd
                && v.len() == k.len(),
            "attention shapes: q {} k {} v {} {shape:?}",
            q.len(),
            k.len(),
            v.len()
        );
        plan.push((items, rows, cache_len, out_rows));
        items += rows * shape.num_kv_heads;
        out_rows += rows;
        work_units += rows * shape.num_heads * cache_len;
    }
    assert_eq!(out.len(), out_rows * qd, "attention output size");
    let out_ptr = SyncPtr(out.as_mut_ptr());
    let group = shape.num_heads / shape.num_kv_heads;
    let work = |range: std::ops::Range<usize>| {
        let mut scores = Vec::new();
        for item in range {
            let s = plan.partition_point(|p| p.0 <= item) - 1;
            let (first, rows, cache_len, out_row) = plan[s];
            let (q, k, v) = seqs[s];
            let local = item - first;
            let row = local / shape.num_kv_heads;
            let g = local % shape.num_kv_heads;
            let n = cache_len - rows + row + 1;
            // Keys before `first_key` have slid out of the window.
            let first_key = window.map_or(0, |w| n.saturating_sub(w));
            let at = row * qd + g * group * shape.head_dim;
            let qg = &q[at..][..group * shape.head_dim];
            // SAFETY: each (sequence, row, group) item owns its own heads'
            // slice of `out`; no two workers write the same one.
            let og = unsafe {
                std::slice::from_raw_parts_mut(
                    out_ptr.get().add(out_row * qd + at),
                    group * shape.head_dim,
                )
            };
            let (k, v) = (&k[first_key * kvd..], &v[first_key * kvd..]);
            attend_group(shape, g, qg, k, v, n - first_key, &mut scores, og);
        }
    };
    if work_units < 4096 {
        work(0..items);
    } else {
        candle_core::utils::barrier_pool().execute_chunked(items, work);
    }
}

#[cfg(target_arch = "x86_64")]
use super::vecmath::has_f16c;
use super::SyncPtr;
use half::f16;

/// The query heads of one key/value group (`qg`, `[group][head_dim]`) of
/// one row over the first `n` cached positions, into `out` (same layout).
///
/// The arithmetic of every (row, head) is fixed: an 8-lane dot product per
/// key (reduced in a fixed order, then scaled), the softmax of [`softmax`],
/// and `out = fma(p_t, v_t, out)` over keys in order. The AVX2 path
/// computes several heads (up to a group of six) and two keys per pass (each key and value read once
/// for the whole group) with exactly these operations, so both paths give
/// the same bits (tested).
#[allow(clippy::too_many_arguments)]
fn attend_group(
    shape: AttnShape,
    g: usize,
    qg: &[f32],
    k: &[f16],
    v: &[f16],
    n: usize,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if has_f16c() && shape.head_dim.is_multiple_of(16) {
        // SAFETY: the CPU has AVX2, FMA and F16C; shapes were checked by the
        // caller.
        unsafe { fast::attend_group(shape, g, qg, k, v, n, scores, out) };
        return;
    }
    attend_group_generic(shape, g, qg, k, v, n, scores, out)
}

#[allow(clippy::too_many_arguments)]
fn attend_group_generic(
    shape: AttnShape,
    g: usize,
    qg: &[f32],
    k: &[f16],
    v: &[f16],
    n: usize,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    let d = shape.head_dim;
    let kvd = shape.kv_dim();
    let scale = 1.0 / (d as f32).sqrt();
    // One cached key or value as f32 (exact: every f16 is an f32).
    let mut row = vec![0f32; d];
    let widen = |row: &mut [f32], from: &[f16]| {
        for (r, h) in row.iter_mut().zip(from) {
            *r = h.to_f32();
        }
    };
    for (qh, oh) in qg.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        scores.clear();
        scores.resize(n, 0.0);
        for (t, s) in scores.iter_mut().enumerate() {
            widen(&mut row, &k[t * kvd + g * d..][..d]);
            *s = super::vecmath::dot(qh, &row) * scale;
        }
        softmax(scores);
        oh.fill(0.0);
        for (t, &p) in scores.iter().enumerate() {
            widen(&mut row, &v[t * kvd + g * d..][..d]);
            super::vecmath::axpy(oh, p, &row);
        }
    }
}

/// Turns scores into probabilities in place: `e^(s - max)` divided by their
/// sum. The sum is taken in 8 lanes (lane `t % 8` over whole chunks of 8,
/// reduced in a fixed order) plus the leftover in order, as the AVX2 path
/// does.
fn softmax(s: &mut [f32]) {
    let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for x in s.iter_mut() {
        *x = super::vecmath::exp_neg(*x - max);
    }
    let mut lanes = [0f32; 8];
    let chunks = s.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for j in 0..8 {
            lanes[j] += c[j];
        }
    }
    let mut sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for &x in rest {
        sum += x;
    }
    let inv = 1.0 / sum;
    for x in s.iter_mut() {
        *x *= inv;
    }
}

#[cfg(target_arch = "x86_64")]
// Kernel code indexes heads and keys side by side.
#[allow(clippy::needless_range_loop)]
mod fast {
    use super::super::vecmath::{EXP_C1, EXP_C2, EXP_LO, EXP_P};
    use super::AttnShape;
    use half::f16;
    use std::arch::x86_64::*;

    /// Heads computed together: a whole group of up to six (each key and
    /// value then read once per group), else blocks of four.
    const HB: usize = 4;

    /// Keys whose values are summed per pass over the output columns.
    const PV_BLOCK: usize = 32;

    /// How far ahead keys are prefetched.
    const PREFETCH_KEYS: usize = 16;

    /// Prefetches the `d` halves at `p` (the address may lie past the
    /// cache: prefetching never faults).
    #[inline(always)]
    unsafe fn prefetch_row(p: *const f16, d: usize) {
        for off in (0..d).step_by(32) {
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off) as *const i8);
        }
    }

    /// Eight cached halves at `p` as f32 (exact).
    #[inline(always)]
    unsafe fn load8(p: *const f16) -> __m256 {
        _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn attend_group(
        shape: AttnShape,
        g: usize,
        qg: &[f32],
        k: &[f16],
        v: &[f16],
        n: usize,
        scores: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        let d = shape.head_dim;
        let heads = qg.len() / d;
        let kv = (k.as_ptr().add(g * d), v.as_ptr().add(g * d));
        let kvd = shape.kv_dim();
        if heads <= 6 {
            let (q, o) = (qg.as_ptr(), out.as_mut_ptr());
            match heads {
                6 => block::<6>(d, kvd, q, kv, n, scores, o),
                5 => block::<5>(d, kvd, q, kv, n, scores, o),
                4 => block::<4>(d, kvd, q, kv, n, scores, o),
                3 => block::<3>(d, kvd, q, kv, n, scores, o),
                2 => block::<2>(d, kvd, q, kv, n, scores, o),
                _ => block::<1>(d, kvd, q, kv, n, scores, o),
            }
            return;
        }
        let mut h = 0;
        while h < heads {
            let hb = (heads - h).min(HB);
            let q = qg.as_ptr().add(h * d);
            let o = out.as_mut_ptr().add(h * d);
            match hb {
                4 => block::<4>(d, kvd, q, kv, n, scores, o),
                3 => block::<3>(d, kvd, q, kv, n, scores, o),
                2 => block::<2>(d, kvd, q, kv, n, scores, o),
                _ => block::<1>(d, kvd, q, kv, n, scores, o),
            }
            h += hb;
        }
    }

    /// `((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7))`, as the scalar
    /// dot product reduces its lanes.
    #[inline(always)]
    unsafe fn hsum(a: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        let s01 = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        let s23 = _mm_add_ss(_mm_shuffle_ps(s, s, 2), _mm_shuffle_ps(s, s, 3));
        _mm_cvtss_f32(_mm_add_ss(s01, s23))
    }

    #[inline(always)]
    unsafe fn exp_neg(x: __m256) -> __m256 {
        let x = _mm256_max_ps(x, _mm256_set1_ps(EXP_LO));
        let fx = _mm256_round_ps(
            _mm256_mul_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E)),
            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC,
        );
        let r = _mm256_fmadd_ps(fx, _mm256_set1_ps(-EXP_C1), x);
        let r = _mm256_fmadd_ps(fx, _mm256_set1_ps(-EXP_C2), r);
        let mut p = _mm256_set1_ps(EXP_P[0]);
        for &c in &EXP_P[1..] {
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
        }
        let y = _mm256_add_ps(
            _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r),
            _mm256_set1_ps(1.0),
        );
        let e = _mm256_slli_epi32(
            _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)),
            23,
        );
        _mm256_mul_ps(y, _mm256_castsi256_ps(e))
    }

    /// [`super::softmax`] with 8 lanes at a time.
    #[inline(always)]
    unsafe fn softmax(s: &mut [f32]) {
        let n = s.len();
        let p = s.as_mut_ptr();
        let full = n / 8 * 8;
        let mut vmax = _mm256_set1_ps(f32::NEG_INFINITY);
        for t in (0..full).step_by(8) {
            vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(p.add(t)));
        }
        let mut lanes = [0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), vmax);
        let mut max = lanes.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for &x in &s[full..] {
            max = max.max(x);
        }
        let m = _mm256_set1_ps(max);
        let mut sum = _mm256_setzero_ps();
        for t in (0..full).step_by(8) {
            let e = exp_neg(_mm256_sub_ps(_mm256_loadu_ps(p.add(t)), m));
            _mm256_storeu_ps(p.add(t), e);
            sum = _mm256_add_ps(sum, e);
        }
        let mut total = hsum(sum);
        for x in &mut s[full..] {
            *x = super::super::vecmath::exp_neg(*x - max);
            total += *x;
        }
        let inv = _mm256_set1_ps(1.0 / total);
        for t in (0..full).step_by(8) {
            _mm256_storeu_ps(p.add(t), _mm256_mul_ps(_mm256_loadu_ps(p.add(t)), inv));
        }
        let inv = 1.0 / total;
        for x in &mut s[full..] {
            *x *= inv;
        }
    }

    /// `H` heads (`q`, `[H][d]`) over `n` keys and values of one group.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn block<const H: usize>(
        d: usize,
        kvd: usize,
        q: *const f32,
        (k, v): (*const f16, *const f16),
        n: usize,
        scores: &mut Vec<f32>,
        out: *mut f32,
    ) {
        let scale = 1.0 / (d as f32).sqrt();
        scores.clear();
        scores.resize(H * n, 0.0);
        let sp = scores.as_mut_ptr();
        let mut t = 0;
        while t + 2 <= n {
            let (k0, k1) = (k.add(t * kvd), k.add((t + 1) * kvd));
            // A group's keys are 1 of every `kvd / d` slices of the cache:
            // fetch a few keys ahead (the hardware prefetcher misses them).
            prefetch_row(k.wrapping_add((t + PREFETCH_KEYS) * kvd), d);
            prefetch_row(k.wrapping_add((t + 1 + PREFETCH_KEYS) * kvd), d);
            let mut acc = [[_mm256_setzero_ps(); 2]; H];
            for c in (0..d).step_by(8) {
                let x0 = load8(k0.add(c));
                let x1 = load8(k1.add(c));
                for h in 0..H {
                    let qv = _mm256_loadu_ps(q.add(h * d + c));
                    acc[h][0] = _mm256_fmadd_ps(qv, x0, acc[h][0]);
                    acc[h][1] = _mm256_fmadd_ps(qv, x1, acc[h][1]);
                }
            }
            for h in 0..H {
                *sp.add(h * n + t) = (hsum(acc[h][0]) + 0.0) * scale;
                *sp.add(h * n + t + 1) = (hsum(acc[h][1]) + 0.0) * scale;
            }
            t += 2;
        }
        if t < n {
            let k0 = k.add(t * kvd);
            let mut acc = [_mm256_setzero_ps(); H];
            for c in (0..d).step_by(8) {
                let x0 = load8(k0.add(c));
                for h in 0..H {
                    acc[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q.add(h * d + c)), x0, acc[h]);
                }
            }
            for h in 0..H {
                *sp.add(h * n + t) = (hsum(acc[h]) + 0.0) * scale;
            }
        }
        for h in 0..H {
            softmax(&mut scores[h * n..(h + 1) * n]);
        }
        // Values in blocks of keys: a block's rows stay in L1 while every
        // 16-wide column strip of the output passes over them (strips over
        // the whole cache would fetch each value row from memory eight
        // times). Each output element still sums its keys in order.
        let sp = scores.as_ptr();
        for h in 0..H {
            std::ptr::write_bytes(out.add(h * d), 0, d);
        }
        let mut t0 = 0;
        while t0 < n {
            let t1 = (t0 + PV_BLOCK).min(n);
            for c in (0..d).step_by(16) {
                let mut acc = [[_mm256_setzero_ps(); 2]; H];
                for h in 0..H {
                    acc[h][0] = _mm256_loadu_ps(out.add(h * d + c));
                    acc[h][1] = _mm256_loadu_ps(out.add(h * d + c + 8));
                }
                for t in t0..t1 {
                    if c == 0 {
                        prefetch_row(v.wrapping_add((t + PV_BLOCK) * kvd), d);
                    }
                    let vt = v.add(t * kvd + c);
                    let (v0, v1) = (load8(vt), load8(vt.add(8)));
                    for h in 0..H {
                        let p = _mm256_broadcast_ss(&*sp.add(h * n + t));
                        acc[h][0] = _mm256_fmadd_ps(p, v0, acc[h][0]);
                        acc[h][1] = _mm256_fmadd_ps(p, v1, acc[h][1]);
                    }
                }
                for h in 0..H {
                    _mm256_storeu_ps(out.add(h * d + c), acc[h][0]);
                    _mm256_storeu_ps(out.add(h * d + c + 8), acc[h][1]);
                }
            }
            t0 = t1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// A cache's values as it keeps them.
    fn halves(x: Vec<f32>) -> Vec<f16> {
        x.into_iter().map(f16::from_f32).collect()
    }

    /// `n` values in [-scale, scale).
    fn noise(seed: &mut u64, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| lcg(seed) * scale).collect()
    }

    /// Plain f64 reference: scores, causal mask, softmax, weighted values.
    fn reference(shape: AttnShape, q: &[f32], k: &[f16], v: &[f16]) -> Vec<f32> {
        let (d, h, kvh) = (shape.head_dim, shape.num_heads, shape.num_kv_heads);
        let rows = q.len() / (h * d);
        let len = k.len() / (kvh * d);
        let mut out = vec![0f32; q.len()];
        for r in 0..rows {
            for head in 0..h {
                let g = head / (h / kvh);
                let n = len - rows + r + 1;
                let s: Vec<f64> = (0..n)
                    .map(|t| {
                        (0..d)
                            .map(|i| {
                                q[(r * h + head) * d + i] as f64 * k[(t * kvh + g) * d + i].to_f64()
                            })
                            .sum::<f64>()
                            / (d as f64).sqrt()
                    })
                    .collect();
                let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for i in 0..d {
                    let acc: f64 = (0..n)
                        .map(|t| e[t] / z * v[(t * kvh + g) * d + i].to_f64())
                        .sum();
                    out[(r * h + head) * d + i] = acc as f32;
                }
            }
        }
        out
    }

    #[test]
    fn matches_reference_for_prefill_and_decode_shapes() {
        let shape = AttnShape {
            num_heads: 6,
            num_kv_heads: 2,
            head_dim: 20,
        };
        let mut seed = 7u64;
        for (rows, len) in [(1, 1), (1, 37), (5, 5), (9, 40), (64, 300)] {
            let q = noise(&mut seed, rows * 6 * 20, 1.0);
            let k = halves(noise(&mut seed, len * 2 * 20, 3.0));
            let v = halves(noise(&mut seed, len * 2 * 20, 1.0));
            let mut out = vec![0f32; q.len()];
            causal_attention(shape, &q, &k, &v, &mut out);
            let want = reference(shape, &q, &k, &v);
            let worst = out
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-5, "rows {rows} len {len}: max error {worst}");
        }
    }

    #[test]
    fn grouped_path_matches_reference() {
        // head_dim 32 takes the AVX2 path where the CPU has it; seven heads a
        // group exercise blocks of four and three heads.
        for (heads, kv, d) in [(14, 2, 32), (12, 2, 128), (4, 4, 16)] {
            let shape = AttnShape {
                num_heads: heads,
                num_kv_heads: kv,
                head_dim: d,
            };
            let mut seed = 17u64;
            for (rows, len) in [(1, 1), (1, 37), (6, 6), (9, 40)] {
                let q = noise(&mut seed, rows * heads * d, 1.0);
                let k = halves(noise(&mut seed, len * kv * d, 2.0));
                let v = halves(noise(&mut seed, len * kv * d, 1.0));
                let mut out = vec![0f32; q.len()];
                causal_attention(shape, &q, &k, &v, &mut out);
                let want = reference(shape, &q, &k, &v);
                let worst = out
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(
                    worst < 1e-5,
                    "{shape:?} rows {rows} len {len}: error {worst}"
                );
            }
        }
    }

    #[test]
    fn avx2_and_generic_groups_give_the_same_bits() {
        let shape = AttnShape {
            num_heads: 12,
            num_kv_heads: 2,
            head_dim: 128,
        };
        let mut seed = 23u64;
        for n in [1usize, 2, 7, 8, 9, 33, 300] {
            let q = noise(&mut seed, 6 * 128, 1.0);
            let k = halves(noise(&mut seed, n * 256, 3.0));
            let v = halves(noise(&mut seed, n * 256, 1.0));
            let mut scores = Vec::new();
            let mut a = vec![0f32; 6 * 128];
            let mut b = vec![0f32; 6 * 128];
            attend_group(shape, 1, &q, &k, &v, n, &mut scores, &mut a);
            attend_group_generic(shape, 1, &q, &k, &v, n, &mut scores, &mut b);
            let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "n = {n}");
        }
    }

    #[test]
    fn a_row_does_not_depend_on_the_rows_computed_with_it() {
        let shape = AttnShape {
            num_heads: 4,
            num_kv_heads: 1,
            head_dim: 16,
        };
        let mut seed = 11u64;
        let len = 50;
        let rows = 8;
        let q = noise(&mut seed, rows * 4 * 16, 1.0);
        let k = halves(noise(&mut seed, len * 16, 1.0));
        let v = halves(noise(&mut seed, len * 16, 1.0));
        let mut all = vec![0f32; q.len()];
        causal_attention(shape, &q, &k, &v, &mut all);
        // The last row alone, against the same cache: bit for bit the same.
        let last = &q[(rows - 1) * 64..];
        let mut one = vec![0f32; 64];
        causal_attention(shape, last, &k, &v, &mut one);
        assert_eq!(one, all[(rows - 1) * 64..]);
    }

    #[test]
    fn a_window_attends_to_its_last_keys_only() {
        let shape = AttnShape {
            num_heads: 4,
            num_kv_heads: 1,
            head_dim: 16,
        };
        let mut seed = 17u64;
        let (len, rows, window) = (40, 3, 8);
        let q = noise(&mut seed, rows * 64, 1.0);
        let k = halves(noise(&mut seed, len * 16, 1.0));
        let v = halves(noise(&mut seed, len * 16, 1.0));
        let mut windowed = vec![0f32; q.len()];
        causal_attention_many_windowed(shape, Some(window), &[(&q, &k, &v)], &mut windowed);
        // Row r sits at position len - rows + r: plain attention over the
        // cache cut to the `window` keys ending there gives the same bits.
        for r in 0..rows {
            let end = len - rows + r + 1;
            let start = end - window;
            let mut one = vec![0f32; 64];
            causal_attention(
                shape,
                &q[r * 64..(r + 1) * 64],
                &k[start * 16..end * 16],
                &v[start * 16..end * 16],
                &mut one,
            );
            assert_eq!(one, windowed[r * 64..(r + 1) * 64], "row {r}");
        }
        // A window wider than the cache changes nothing.
        let mut wide = vec![0f32; q.len()];
        causal_attention_many_windowed(shape, Some(1000), &[(&q, &k, &v)], &mut wide);
        let mut plain = vec![0f32; q.len()];
        causal_attention(shape, &q, &k, &v, &mut plain);
        assert_eq!(wide, plain);
    }

    #[test]
    fn many_sequences_at_once_equal_each_alone() {
        let shape = AttnShape {
            num_heads: 4,
            num_kv_heads: 2,
            head_dim: 8,
        };
        let mut seed = 5u64;
        let mut data = Vec::new();
        for (rows, len) in [(1usize, 30usize), (3, 3), (1, 1), (7, 90)] {
            let q = noise(&mut seed, rows * 32, 1.0);
            let k = halves(noise(&mut seed, len * 16, 1.0));
            let v = halves(noise(&mut seed, len * 16, 1.0));
            data.push((q, k, v));
        }
        let seqs: Vec<(&[f32], &[f16], &[f16])> = data
            .iter()
            .map(|(q, k, v)| (q.as_slice(), k.as_slice(), v.as_slice()))
            .collect();
        let total: usize = data.iter().map(|d| d.0.len()).sum();
        let mut all = vec![0f32; total];
        causal_attention_many(shape, &seqs, &mut all);
        let mut alone = Vec::new();
        for (q, k, v) in &data {
            let mut out = vec![0f32; q.len()];
            causal_attention(shape, q, k, v, &mut out);
            alone.extend(out);
        }
        assert_eq!(all, alone);
    }
}
