//! Our own CPU kernels for GGUF Q4_K / Q6_K weights times f32 activations.
//!
//! Why not candle's: candle 0.11.1 repacks Q4_K into tiles with f32
//! per-sub-block scales (6 bits a weight instead of 4.5, so batch-1 decoding
//! reads a third more memory than it must), multiplies one Q6_K row with a
//! different kernel than two or more (so results depend on the batch size),
//! and reaches only about 19 GB/s of this machine's 32 GB/s when decoding.
//!
//! What this module does instead:
//! - Weights are repacked once, at load, into tiles of 16 output rows by one
//!   256-value super-block that stay compact: 4-bit (Q4_K) or 4+2-bit (Q6_K)
//!   quants laid out for AVX-512 VNNI `vpdpbusd`, 6/8-bit integer scales,
//!   the file's f16 super-block scales (4.625 and 6.6 bits a weight).
//! - Activations are quantized to Q8_K (int8, per-256 scale, per-16 sums),
//!   as ggml and candle do.
//! - Every (output row, activation row) dot product is computed by the same
//!   sequence of operations whatever the number of rows: exact integer sums
//!   per super-block, then a fixed order of f32 fused multiply-adds. So a
//!   row's result never depends on how many other rows share the call
//!   (batch invariance costs nothing), and the portable reference
//!   ([`matmul_reference`]) gives bit-identical results (tested).
//! - Work is spread over candle's own worker pool (no second pool spinning
//!   against it); several matrices that share an input (q/k/v, gate/up) are
//!   computed in one parallel region.
//!
//! The fast path needs AVX-512 F/BW/VNNI; elsewhere [`PackedMatrix::supported`]
//! is false and callers use candle's kernels.

// Kernel code indexes rows, sub-blocks and lanes side by side.
#![allow(clippy::needless_range_loop)]

use super::SyncPtr;
use candle_core::quantized::{GgmlDType, QTensor};
use half::f16;

/// Values per super-block.
pub const QK_K: usize = 256;
/// Output rows per tile.
pub const TILE: usize = 16;

/// 16 rows x 256 values of Q4_K. `qs`: for each group `g` of 8 values
/// (32 groups) and row `r`, 4 bytes at `(g * 16 + r) * 4`; byte `j` holds
/// value `8g + j` in its low nibble and `8g + j + 4` in its high nibble.
#[repr(C, align(64))]
#[derive(Clone)]
pub struct TileQ4 {
    qs: [u8; 2048],
    /// 6-bit scale of sub-block `s` (32 values) for row `r`: `scales[s][r]`.
    scales: [[u8; TILE]; 8],
    /// 6-bit mins, in pairs of sub-blocks: `mins[j][2 * r + h]` is the min
    /// of sub-block `2j + h` for row `r` (the operand layout of `vpdpwssd`).
    mins: [[u8; 2 * TILE]; 4],
    /// Super-block scales of the 16 rows, f16 bits as in the file.
    d: [u16; TILE],
    dmin: [u16; TILE],
}

/// 16 rows x 256 values of Q6_K, stored as `u = q + 32` in 0..63. `ql`: the
/// low nibbles, laid out as `TileQ4::qs`. `qh`: for each group `s` of 16
/// values and row `r`, 4 bytes at `(s * 16 + r) * 4`; bits `2t..2t+2` of byte
/// `j` are the high two bits of value `16s + 4t + j`.
#[repr(C, align(64))]
#[derive(Clone)]
pub struct TileQ6 {
    ql: [u8; 2048],
    qh: [u8; 1024],
    /// Signed 8-bit scale of sub-block `s` (16 values) for row `r`.
    scales: [[i8; TILE]; 16],
    /// f16 bits, as in the file.
    d: [u16; TILE],
}

enum Tiles {
    Q4(Vec<TileQ4>),
    Q6(Vec<TileQ6>),
}

/// One weight matrix `[n, k]` (y = x W^T), repacked.
pub struct PackedMatrix {
    n: usize,
    k: usize,
    tiles: Tiles,
}

/// Activation rows quantized to Q8_K.
pub struct Q8Rows {
    m: usize,
    k: usize,
    /// `[m][k / 256]`
    d: Vec<f32>,
    /// `[m][k]`
    qs: Vec<i8>,
    /// `[m][k / 16]`: sums of 16 consecutive quants.
    bsums: Vec<i32>,
    /// `[m][k / 32]`: sums of 32 consecutive quants (at most 32 * 127, so
    /// they fit 16 bits).
    bsums32: Vec<i16>,
}

impl Q8Rows {
    /// No rows; [`Q8Rows::fill`] sizes it (and reuses its buffers).
    pub fn empty() -> Self {
        Self {
            m: 0,
            k: 0,
            d: Vec::new(),
            qs: Vec::new(),
            bsums: Vec::new(),
            bsums32: Vec::new(),
        }
    }

    /// Quantizes `x` (`[m, k]`, row-major) as ggml's `quantize_row_q8_K`.
    pub fn quantize(x: &[f32], m: usize, k: usize) -> Self {
        assert_eq!(x.len(), m * k, "activations are not {m}x{k}");
        let mut q = Self::empty();
        q.fill(m, k, |r, row| row.copy_from_slice(&x[r * k..(r + 1) * k]));
        q
    }

    /// Quantizes `m` rows of `k` values, row `r` being what `row(r, buf)`
    /// writes into `buf` (so a norm or an activation function can be fused
    /// with the quantization, without an f32 copy of the whole matrix).
    /// Rows are spread over candle's worker pool when there are several;
    /// each row's bits depend only on that row.
    pub fn fill(&mut self, m: usize, k: usize, row: impl Fn(usize, &mut [f32]) + Sync) {
        assert!(
            k.is_multiple_of(QK_K),
            "row length {k} is not a multiple of 256"
        );
        let kb = k / QK_K;
        self.m = m;
        self.k = k;
        self.d.resize(m * kb, 0.0);
        self.qs.resize(m * k, 0);
        self.bsums.resize(m * k / 16, 0);
        self.bsums32.resize(m * k / 32, 0);
        let ptrs = (
            SyncPtr(self.d.as_mut_ptr()),
            SyncPtr(self.qs.as_mut_ptr()),
            SyncPtr(self.bsums.as_mut_ptr()),
            SyncPtr(self.bsums32.as_mut_ptr()),
        );
        let run = |rows: std::ops::Range<usize>| {
            let mut buf = vec![0f32; k];
            for r in rows {
                row(r, &mut buf);
                // SAFETY: each row index is handed to exactly one worker, and
                // these are that row's disjoint parts of the four buffers,
                // sized above.
                unsafe {
                    let d = std::slice::from_raw_parts_mut(ptrs.0.get().add(r * kb), kb);
                    let qs = std::slice::from_raw_parts_mut(ptrs.1.get().add(r * k), k);
                    let b16 = std::slice::from_raw_parts_mut(ptrs.2.get().add(r * k / 16), k / 16);
                    let b32 = std::slice::from_raw_parts_mut(ptrs.3.get().add(r * k / 32), k / 32);
                    quantize_row(&buf, d, qs, b16, b32);
                }
            }
        };
        if m * k < 1 << 16 {
            run(0..m);
        } else {
            candle_core::utils::barrier_pool().execute_chunked(m, run);
        }
    }
}

/// One row to Q8_K: with AVX-512 where the kernels run (the same
/// operations and bits as the portable body; tested).
fn quantize_row(x: &[f32], d: &mut [f32], qs: &mut [i8], b16: &mut [i32], b32: &mut [i16]) {
    #[cfg(target_arch = "x86_64")]
    if PackedMatrix::supported() {
        // SAFETY: the CPU has AVX-512 F/BW; the slices have the sizes
        // `fill` gives them (checked again inside).
        return unsafe { simd::quantize_row(x, d, qs, b16, b32) };
    }
    quantize_row_body(x, d, qs, b16, b32)
}

fn quantize_row_body(x: &[f32], d: &mut [f32], qs: &mut [i8], b16: &mut [i32], b32: &mut [i16]) {
    for (bi, ((xs, q), db)) in x
        .chunks_exact(QK_K)
        .zip(qs.chunks_exact_mut(QK_K))
        .zip(d.iter_mut())
        .enumerate()
    {
        // The value of largest magnitude (the first one on ties), as ggml.
        let (amax, max) = crate::kernels::vecmath::max_magnitude(xs);
        let bs16 = &mut b16[bi * 16..(bi + 1) * 16];
        let bs32 = &mut b32[bi * 8..(bi + 1) * 8];
        if amax == 0.0 {
            q.fill(0);
            bs16.fill(0);
            bs32.fill(0);
            *db = 0.0;
            continue;
        }
        let iscale = -127f32 / max;
        // |iscale * v| <= 127: adding and subtracting 1.5 * 2^23 rounds
        // to the nearest integer (ties to even) without a libm call,
        // so the loop vectorizes.
        const MAGIC: f32 = 12_582_912.0;
        for (o, &v) in q.iter_mut().zip(xs) {
            *o = ((iscale * v + MAGIC) - MAGIC) as i8;
        }
        for (j, s) in bs16.iter_mut().enumerate() {
            *s = q[j * 16..(j + 1) * 16].iter().map(|&v| v as i32).sum();
        }
        for (j, s) in bs32.iter_mut().enumerate() {
            *s = (bs16[2 * j] + bs16[2 * j + 1]) as i16;
        }
        *db = 1.0 / iscale;
    }
}

/// 6-bit scale and minimum of Q4_K/Q5_K sub-block `j` from the 12 packed
/// bytes of a super-block (also used by [`super::q32`]).
pub(crate) fn scale_min_k4(j: usize, s: &[u8]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        (
            (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4),
            (s[j + 4] >> 4) | ((s[j] >> 6) << 4),
        )
    }
}

/// f16 bits to f32 (exact).
fn h2f(bits: u16) -> f32 {
    f16::from_bits(bits).to_f32()
}

const Q4K_BYTES: usize = 144;
const Q6K_BYTES: usize = 210;

/// Cuts raw GGUF blocks (`n` rows of `k / 256` blocks of `block` bytes each)
/// into tiles: `make` gets the 16 rows' blocks of one super-block.
fn tile_blocks<T>(
    data: &[u8],
    n: usize,
    k: usize,
    block: usize,
    what: &str,
    mut make: impl FnMut(&[&[u8]; TILE]) -> T,
) -> candle_core::Result<Vec<T>> {
    let kb = k / QK_K;
    if data.len() != n * kb * block || !n.is_multiple_of(TILE) || kb == 0 {
        candle_core::bail!("{what} data of {} bytes is not {n}x{k}", data.len());
    }
    let mut tiles = Vec::with_capacity(n / TILE * kb);
    for t in 0..n / TILE {
        for b in 0..kb {
            let blocks: [&[u8]; TILE] = std::array::from_fn(|r| {
                let at = ((t * TILE + r) * kb + b) * block;
                &data[at..at + block]
            });
            tiles.push(make(&blocks));
        }
    }
    Ok(tiles)
}

/// Packs nibbles of 256 values per row (`vals[r][i]`, only the low 4 bits
/// used) in the [`TileQ4::qs`] layout.
fn pack_nibbles(vals: &[[u8; QK_K]; TILE], out: &mut [u8; 2048]) {
    for g in 0..QK_K / 8 {
        for (r, v) in vals.iter().enumerate() {
            for j in 0..4 {
                out[(g * TILE + r) * 4 + j] = (v[8 * g + j] & 15) | ((v[8 * g + j + 4] & 15) << 4);
            }
        }
    }
}

impl PackedMatrix {
    /// True when this CPU runs the packed kernels.
    pub fn supported() -> bool {
        super::vecmath::has_avx512_vnni()
    }

    /// Whether a tensor of this type and shape can be packed.
    pub fn packable(t: &QTensor) -> bool {
        let Ok((n, k)) = t.shape().dims2() else {
            return false;
        };
        matches!(t.dtype(), GgmlDType::Q4K | GgmlDType::Q6K)
            && n.is_multiple_of(TILE)
            && k.is_multiple_of(QK_K)
            && t.device().is_cpu()
    }

    pub fn from_qtensor(t: &QTensor) -> candle_core::Result<Self> {
        if !Self::packable(t) {
            candle_core::bail!(
                "cannot pack a {:?} tensor of shape {:?}",
                t.dtype(),
                t.shape()
            );
        }
        let (n, k) = t.shape().dims2()?;
        let data = t.data()?;
        match t.dtype() {
            GgmlDType::Q4K => Self::from_q4k(&data, n, k),
            _ => Self::from_q6k(&data, n, k),
        }
    }

    fn from_q4k(data: &[u8], n: usize, k: usize) -> candle_core::Result<Self> {
        let tiles = tile_blocks(data, n, k, Q4K_BYTES, "Q4_K", |blocks| {
            let mut tile = TileQ4 {
                qs: [0; 2048],
                scales: [[0; TILE]; 8],
                mins: [[0; 2 * TILE]; 4],
                d: [0; TILE],
                dmin: [0; TILE],
            };
            let mut vals = [[0u8; QK_K]; TILE];
            for (r, (blk, v)) in blocks.iter().zip(vals.iter_mut()).enumerate() {
                tile.d[r] = u16::from_le_bytes([blk[0], blk[1]]);
                tile.dmin[r] = u16::from_le_bytes([blk[2], blk[3]]);
                let scales = &blk[4..16];
                for s in 0..8 {
                    let (sc, mn) = scale_min_k4(s, scales);
                    tile.scales[s][r] = sc;
                    tile.mins[s / 2][2 * r + s % 2] = mn;
                }
                let qs = &blk[16..];
                for c in 0..4 {
                    for j in 0..32 {
                        let byte = qs[c * 32 + j];
                        v[c * 64 + j] = byte & 15;
                        v[c * 64 + 32 + j] = byte >> 4;
                    }
                }
            }
            pack_nibbles(&vals, &mut tile.qs);
            tile
        })?;
        Ok(Self {
            n,
            k,
            tiles: Tiles::Q4(tiles),
        })
    }

    fn from_q6k(data: &[u8], n: usize, k: usize) -> candle_core::Result<Self> {
        let tiles = tile_blocks(data, n, k, Q6K_BYTES, "Q6_K", |blocks| {
            let mut tile = TileQ6 {
                ql: [0; 2048],
                qh: [0; 1024],
                scales: [[0; TILE]; 16],
                d: [0; TILE],
            };
            let mut vals = [[0u8; QK_K]; TILE];
            for (r, (blk, v)) in blocks.iter().zip(vals.iter_mut()).enumerate() {
                let (ql, rest) = blk.split_at(128);
                let (qh, rest) = rest.split_at(64);
                for s in 0..16 {
                    tile.scales[s][r] = rest[s] as i8;
                }
                tile.d[r] = u16::from_le_bytes([rest[16], rest[17]]);
                for half in 0..2 {
                    let (ql, qh) = (&ql[half * 64..], &qh[half * 32..]);
                    let y = &mut v[half * 128..];
                    for l in 0..32 {
                        y[l] = (ql[l] & 15) | ((qh[l] & 3) << 4);
                        y[l + 32] = (ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4);
                        y[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
                        y[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
                    }
                }
                for s in 0..16 {
                    for j in 0..4 {
                        let mut byte = 0u8;
                        for tt in 0..4 {
                            byte |= (v[16 * s + 4 * tt + j] >> 4) << (2 * tt);
                        }
                        tile.qh[(s * TILE + r) * 4 + j] = byte;
                    }
                }
            }
            pack_nibbles(&vals, &mut tile.ql);
            tile
        })?;
        Ok(Self {
            n,
            k,
            tiles: Tiles::Q6(tiles),
        })
    }

    pub fn rows(&self) -> usize {
        self.n
    }

    pub fn cols(&self) -> usize {
        self.k
    }

    fn n_tiles(&self) -> usize {
        self.n / TILE
    }

    /// The weights as f32 `[n, k]` (for tests).
    pub fn dequantize(&self) -> Vec<f32> {
        let (n, k, kb) = (self.n, self.k, self.k / QK_K);
        let mut out = vec![0f32; n * k];
        for t in 0..n / TILE {
            for b in 0..kb {
                for r in 0..TILE {
                    let row = &mut out[(t * TILE + r) * k + b * QK_K..][..QK_K];
                    match &self.tiles {
                        Tiles::Q4(tiles) => {
                            let tile = &tiles[t * kb + b];
                            for (i, w) in row.iter_mut().enumerate() {
                                let s = i / 32;
                                let q = q4_value(&tile.qs, r, i) as f32;
                                *w = h2f(tile.d[r]) * tile.scales[s][r] as f32 * q
                                    - h2f(tile.dmin[r]) * tile.mins[s / 2][2 * r + s % 2] as f32;
                            }
                        }
                        Tiles::Q6(tiles) => {
                            let tile = &tiles[t * kb + b];
                            for (i, w) in row.iter_mut().enumerate() {
                                let u = q6_value(tile, r, i) as i32 - 32;
                                *w = h2f(tile.d[r]) * tile.scales[i / 16][r] as f32 * u as f32;
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

fn q4_value(qs: &[u8; 2048], r: usize, i: usize) -> u8 {
    let (g, j) = (i / 8, i % 8);
    let byte = qs[(g * TILE + r) * 4 + (j % 4)];
    if j < 4 {
        byte & 15
    } else {
        byte >> 4
    }
}

fn q6_value(tile: &TileQ6, r: usize, i: usize) -> u8 {
    let lo = q4_value(&tile.ql, r, i);
    let (s, tt, j) = (i / 16, (i % 16) / 4, i % 4);
    let hi = (tile.qh[(s * TILE + r) * 4 + j] >> (2 * tt)) & 3;
    lo | (hi << 4)
}

/// The portable definition of the kernels: `out[a][col]` for rows `a` of
/// `x` and tile `t` of `w`, with exactly the operations (and rounding) of
/// the SIMD kernels.
fn tile_reference(w: &PackedMatrix, t: usize, x: &Q8Rows, a: usize, out: &mut [f32; TILE]) {
    let kb = w.k / QK_K;
    let mut acc = [0f32; TILE];
    for b in 0..kb {
        let dx = x.d[a * kb + b];
        let xq = &x.qs[a * w.k + b * QK_K..][..QK_K];
        let bs = &x.bsums[(a * kb + b) * 16..][..16];
        for (r, acc) in acc.iter_mut().enumerate() {
            match &w.tiles {
                Tiles::Q4(tiles) => {
                    let tile = &tiles[t * kb + b];
                    let (mut isum, mut msum) = (0i32, 0i32);
                    for s in 0..8 {
                        let dot: i32 = (0..32)
                            .map(|i| {
                                q4_value(&tile.qs, r, 32 * s + i) as i32 * xq[32 * s + i] as i32
                            })
                            .sum();
                        isum += dot * tile.scales[s][r] as i32;
                        msum +=
                            (bs[2 * s] + bs[2 * s + 1]) * tile.mins[s / 2][2 * r + s % 2] as i32;
                    }
                    *acc = (h2f(tile.d[r]) * dx).mul_add(isum as f32, *acc);
                    *acc = (-(h2f(tile.dmin[r]) * dx)).mul_add(msum as f32, *acc);
                }
                Tiles::Q6(tiles) => {
                    let tile = &tiles[t * kb + b];
                    let mut isum = 0i32;
                    for s in 0..16 {
                        let dot: i32 = (0..16)
                            .map(|i| q6_value(tile, r, 16 * s + i) as i32 * xq[16 * s + i] as i32)
                            .sum();
                        isum += (dot - 32 * bs[s]) * tile.scales[s][r] as i32;
                    }
                    *acc = (h2f(tile.d[r]) * dx).mul_add(isum as f32, *acc);
                }
            }
        }
    }
    *out = acc;
}

/// `x W^T` by the portable reference (slow; for tests): `[m, n]`.
pub fn matmul_reference(w: &PackedMatrix, x: &Q8Rows) -> Vec<f32> {
    assert_eq!(w.k, x.k);
    let mut out = vec![0f32; x.m * w.n];
    let mut buf = [0f32; TILE];
    for a in 0..x.m {
        for t in 0..w.n_tiles() {
            tile_reference(w, t, x, a, &mut buf);
            out[a * w.n + t * TILE..][..TILE].copy_from_slice(&buf);
        }
    }
    out
}

/// `x W_i^T` for every matrix `W_i` in `ws` (all with `k` columns), in one
/// parallel region over candle's worker pool. Returns one `[m, n_i]` buffer
/// per matrix. Needs [`PackedMatrix::supported`].
pub fn matmul_many(ws: &[&PackedMatrix], x: &Q8Rows) -> Vec<Vec<f32>> {
    let mut outs: Vec<Vec<f32>> = ws.iter().map(|w| vec![0f32; x.m * w.n]).collect();
    let mut views: Vec<&mut [f32]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
    matmul_many_into(ws, x, &mut views);
    outs
}

/// [`matmul_many`] into caller-owned buffers: `outs[i]` gets `[m, n_i]`
/// (every element written; longer buffers keep their tail).
pub fn matmul_many_into(ws: &[&PackedMatrix], x: &Q8Rows, outs: &mut [&mut [f32]]) {
    assert!(
        PackedMatrix::supported(),
        "packed kernels need AVX-512 VNNI"
    );
    assert_eq!(ws.len(), outs.len(), "one output per matrix");
    let mut starts = Vec::with_capacity(ws.len() + 1);
    let mut total = 0;
    for (w, o) in ws.iter().zip(outs.iter()) {
        assert_eq!(w.k, x.k, "matrix and activations disagree on k");
        assert!(o.len() >= x.m * w.n, "output buffer too small");
        starts.push(total);
        total += w.n_tiles();
    }
    starts.push(total);
    let ptrs: Vec<SyncPtr<f32>> = outs.iter_mut().map(|o| SyncPtr(o.as_mut_ptr())).collect();
    let run = |items: std::ops::Range<usize>| {
        for item in items {
            let p = starts.partition_point(|&s| s <= item) - 1;
            let t = item - starts[p];
            // SAFETY: AVX-512 F/BW/VNNI checked above; each item writes only
            // the 16 columns of its own tile in every row of its own buffer.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                simd::tile(ws[p], t, x, ptrs[p].get())
            };
            #[cfg(not(target_arch = "x86_64"))]
            {
                let _ = (t, &ptrs);
                unreachable!("supported() is false off x86_64");
            }
        }
    };
    candle_core::utils::barrier_pool().execute_chunked(total, run);
}

#[cfg(target_arch = "x86_64")]
mod simd;

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Module, Tensor};

    fn noise(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn qtensor(dtype: GgmlDType, n: usize, k: usize, seed: u64) -> QTensor {
        let w = Tensor::from_vec(noise(n * k, seed), (n, k), &Device::Cpu).unwrap();
        QTensor::quantize(&w, dtype).unwrap()
    }

    #[test]
    fn packing_keeps_every_weight() {
        for dtype in [GgmlDType::Q4K, GgmlDType::Q6K] {
            let q = qtensor(dtype, 32, 512, 7);
            let want = q.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap();
            let want = want.to_vec1::<f32>().unwrap();
            let got = PackedMatrix::from_qtensor(&q).unwrap().dequantize();
            let max = want
                .iter()
                .zip(&got)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(max < 1e-6, "{dtype:?}: max diff {max}");
        }
    }

    #[test]
    fn reference_matches_candle_within_rounding() {
        for dtype in [GgmlDType::Q4K, GgmlDType::Q6K] {
            let (n, k, m) = (48, 768, 3);
            let q = qtensor(dtype, n, k, 11);
            let xs = noise(m * k, 5);
            let w = PackedMatrix::from_qtensor(&q).unwrap();
            let got = matmul_reference(&w, &Q8Rows::quantize(&xs, m, k));
            let x = Tensor::from_vec(xs, (m, k), &Device::Cpu).unwrap();
            let want = candle_core::quantized::QMatMul::from_qtensor(q)
                .unwrap()
                .forward(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let err: f32 = want
                .iter()
                .zip(&got)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f32>()
                .sqrt();
            let norm: f32 = want.iter().map(|a| a * a).sum::<f32>().sqrt();
            assert!(
                err / norm < 1e-4,
                "{dtype:?}: relative error {}",
                err / norm
            );
        }
    }

    #[test]
    fn simd_is_bit_identical_to_reference_and_row_invariant() {
        if !PackedMatrix::supported() {
            eprintln!("no AVX-512 VNNI here: only the reference is used");
            return;
        }
        let k = 512;
        let q4 = PackedMatrix::from_qtensor(&qtensor(GgmlDType::Q4K, 64, k, 1)).unwrap();
        let q6 = PackedMatrix::from_qtensor(&qtensor(GgmlDType::Q6K, 32, k, 2)).unwrap();
        // 15 rows: blocks of 8, 4, 2 and 1.
        let m = 15;
        let mut xs = noise(m * k, 3);
        // An all-zero row quantizes to d = 0.
        xs[2 * k..3 * k].fill(0.0);
        let x = Q8Rows::quantize(&xs, m, k);
        let outs = matmul_many(&[&q4, &q6], &x);
        assert_eq!(outs[0], matmul_reference(&q4, &x));
        assert_eq!(outs[1], matmul_reference(&q6, &x));
        // Each row alone gives the same bits as in the batch.
        for a in 0..m {
            let one = Q8Rows::quantize(&xs[a * k..(a + 1) * k], 1, k);
            let alone = matmul_many(&[&q4, &q6], &one);
            assert_eq!(alone[0], outs[0][a * 64..(a + 1) * 64]);
            assert_eq!(alone[1], outs[1][a * 32..(a + 1) * 32]);
        }
        // Every row count (last blocks of 1, 2 and 4 after the 8s), from a
        // reused buffer that held more rows before.
        let mut reused = Q8Rows::quantize(&xs, m, k);
        for rows in 1..=m {
            reused.fill(rows, k, |r, buf| {
                buf.copy_from_slice(&xs[r * k..(r + 1) * k])
            });
            let got = matmul_many(&[&q4, &q6], &reused);
            assert_eq!(got[0], outs[0][..rows * 64], "{rows} rows");
            assert_eq!(got[1], outs[1][..rows * 32], "{rows} rows");
        }
    }

    /// The AVX-512 Q8_K quantization gives the portable body's bits: ties
    /// for the largest magnitude (the first one wins), all-zero blocks,
    /// values at the rounding midpoints, NaN and infinities.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn simd_quantization_is_bit_identical() {
        if !PackedMatrix::supported() {
            eprintln!("no AVX-512 here: only the portable body is used");
            return;
        }
        let k = 256 * 8;
        let mut x = noise(k, 41);
        x[256..512].fill(0.0);
        x[600] = 2.5;
        x[700] = -2.5;
        x[768..1024]
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = (i as f32 - 128.0) / 2.0);
        x[1100] = f32::NAN;
        x[1300] = f32::INFINITY;
        x[1792..].fill(-0.0);
        let run = |fast: bool| {
            let (mut d, mut qs) = (vec![0f32; k / 256], vec![0i8; k]);
            let (mut b16, mut b32) = (vec![0i32; k / 16], vec![0i16; k / 32]);
            if fast {
                // SAFETY: checked above.
                unsafe { simd::quantize_row(&x, &mut d, &mut qs, &mut b16, &mut b32) }
            } else {
                quantize_row_body(&x, &mut d, &mut qs, &mut b16, &mut b32)
            }
            (
                d.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                qs,
                b16,
                b32,
            )
        };
        assert_eq!(run(true), run(false));
    }
}
