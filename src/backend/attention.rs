//! Causal grouped-query attention on the CPU, straight from a token-major
//! key/value cache.
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
    fn kv_dim(&self) -> usize {
        self.num_kv_heads * self.head_dim
    }
    fn q_dim(&self) -> usize {
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
pub fn causal_attention(shape: AttnShape, q: &[f32], k: &[f32], v: &[f32], out: &mut [f32]) {
    causal_attention_many(shape, &[(q, k, v)], out)
}

/// [`causal_attention`] for several sequences at once, `(q, k, v)` each;
/// `out` holds their output rows one after the other, in order. All
/// (sequence, row, head) items go to the worker pool together.
pub fn causal_attention_many(shape: AttnShape, seqs: &[(&[f32], &[f32], &[f32])], out: &mut [f32]) {
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
        items += rows * shape.num_heads;
        out_rows += rows;
        work_units += rows * shape.num_heads * cache_len;
    }
    assert_eq!(out.len(), out_rows * qd, "attention output size");
    let out_ptr = SendPtr(out.as_mut_ptr());
    let work = |range: std::ops::Range<usize>| {
        let mut scores = Vec::new();
        for item in range {
            let s = plan.partition_point(|p| p.0 <= item) - 1;
            let (first, rows, cache_len, out_row) = plan[s];
            let (q, k, v) = seqs[s];
            let local = item - first;
            let row = local / shape.num_heads;
            let head = local % shape.num_heads;
            let n = cache_len - rows + row + 1;
            let qh = &q[row * qd + head * shape.head_dim..][..shape.head_dim];
            // SAFETY: each (sequence, row, head) item owns its own
            // `head_dim` slice of `out`; no two workers write the same one.
            let oh = unsafe {
                std::slice::from_raw_parts_mut(
                    out_ptr
                        .get()
                        .add((out_row + row) * qd + head * shape.head_dim),
                    shape.head_dim,
                )
            };
            attend_one(shape, head, qh, k, v, n, &mut scores, oh);
        }
    };
    if work_units < 4096 {
        work(0..items);
    } else {
        candle_core::utils::barrier_pool().execute_chunked(items, work);
    }
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only to hand disjoint output slices to pool workers.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
impl SendPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// One query head over the first `n` cached positions.
#[allow(clippy::too_many_arguments)]
fn attend_one(
    shape: AttnShape,
    head: usize,
    qh: &[f32],
    k: &[f32],
    v: &[f32],
    n: usize,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    let d = shape.head_dim;
    let kvd = shape.kv_dim();
    let group = head / (shape.num_heads / shape.num_kv_heads);
    let scale = 1.0 / (d as f32).sqrt();
    scores.clear();
    scores.resize(n, 0.0);
    let mut max = f32::NEG_INFINITY;
    for (t, s) in scores.iter_mut().enumerate() {
        let kt = &k[t * kvd + group * d..][..d];
        *s = simd::dot(qh, kt) * scale;
        max = max.max(*s);
    }
    let mut sum = 0f32;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    let inv = 1.0 / sum;
    out.fill(0.0);
    for (t, &p) in scores.iter().enumerate() {
        let vt = &v[t * kvd + group * d..][..d];
        simd::axpy(out, p * inv, vt);
    }
}

/// Dot product and `y += a * x` with 8 independent lanes, compiled for
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
    fn has_avx2() -> bool {
        use std::sync::OnceLock;
        static OK: OnceLock<bool> = OnceLock::new();
        *OK.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// `n` values in [-scale, scale).
    fn noise(seed: &mut u64, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| lcg(seed) * scale).collect()
    }

    /// Plain f64 reference: scores, causal mask, softmax, weighted values.
    fn reference(shape: AttnShape, q: &[f32], k: &[f32], v: &[f32]) -> Vec<f32> {
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
                                q[(r * h + head) * d + i] as f64 * k[(t * kvh + g) * d + i] as f64
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
                        .map(|t| e[t] / z * v[(t * kvh + g) * d + i] as f64)
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
            let k = noise(&mut seed, len * 2 * 20, 3.0);
            let v = noise(&mut seed, len * 2 * 20, 1.0);
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
        let k = noise(&mut seed, len * 16, 1.0);
        let v = noise(&mut seed, len * 16, 1.0);
        let mut all = vec![0f32; q.len()];
        causal_attention(shape, &q, &k, &v, &mut all);
        // The last row alone, against the same cache: bit for bit the same.
        let last = &q[(rows - 1) * 64..];
        let mut one = vec![0f32; 64];
        causal_attention(shape, last, &k, &v, &mut one);
        assert_eq!(one, all[(rows - 1) * 64..]);
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
            let k = noise(&mut seed, len * 16, 1.0);
            let v = noise(&mut seed, len * 16, 1.0);
            data.push((q, k, v));
        }
        let seqs: Vec<(&[f32], &[f32], &[f32])> = data
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

    #[test]
    fn simd_and_baseline_dot_round_the_same_way() {
        let mut seed = 3u64;
        for n in [1usize, 7, 8, 128, 131] {
            let a = noise(&mut seed, n, 1.0);
            let b = noise(&mut seed, n, 1.0);
            let (g, v) = simd::both_paths(&a, &b);
            assert_eq!(g.to_bits(), v.to_bits(), "n = {n}");
        }
    }
}
