//! CPU kernels for GGUF quantized matrices times f32 activations, on AVX2
//! with a portable reference that gives the same bits: the 32-value block
//! types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) and the k-quants (Q4_K, Q5_K, Q6_K)
//! taken as 32-value sub-blocks with their own scales and minimums.
//!
//! Why: candle 0.11.1 multiplies Q4_1, Q5_0 and Q5_1 with scalar loops
//! (a Qwen2.5 0.5B file of mostly Q5_0 ran at a twentieth of llama.cpp's
//! prompt speed), and every type one activation row at a time, so a batch
//! of 8 reads the weights 8 times.
//!
//! How:
//! - Weights stay in the file's own blocks (no repacking, no extra memory).
//!   Every type is read as 32-value sub-blocks: 32 small integers, a scale
//!   for each half (k-quants: `d * sub-block scale`; Q6_K's sub-blocks are
//!   16 values) and an offset (`-dmin * min` for Q4_K/Q5_K, `m` for
//!   Q4_1/Q5_1).
//! - Activations are quantized once per call to 8-bit blocks of 32 (one f32
//!   scale each, round to nearest even), plus `scale * sum` per block for
//!   the types with an offset (`w = d * q + m`).
//! - Each weight block is unpacked to 32 bytes once and multiplied with up
//!   to four activation rows (`vpmaddubsw`, then `vpmaddwd` into eight
//!   32-bit lanes: lane `l` is exactly the integer sum over bytes
//!   `4l..4l+3`), each lane converted to f32 and accumulated by one fused
//!   multiply-add with `d_w * d_x`; the offset types add `m * (d_x * sum)`
//!   to an accumulator of their own, as llama.cpp does (Q4_0 and Q5_0 multiply
//!   their unsigned quants and take `bias * sum(x)` off each lane's
//!   integer, so their lanes are those of the signed product).
//!   The lanes are summed in a fixed order at the end. Every (output, row) value is thus the same sequence of operations
//!   whatever the number of rows in the call: batch invariance by
//!   construction, and [`matmul_reference`] equals the SIMD path bit for bit
//!   (tested).
//! - Output columns are spread over candle's worker pool.

use candle_core::quantized::GgmlDType;
use half::f16;

use super::kquant::scale_min_k4;
use super::SyncPtr;
use crate::util::bytes::Bytes;

/// Values per block.
pub const QK: usize = 32;

/// The block types handled here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockType {
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q4K,
    Q5K,
    Q6K,
}

impl BlockType {
    pub fn from_ggml(t: GgmlDType) -> Option<Self> {
        Some(match t {
            GgmlDType::Q4_0 => Self::Q4_0,
            GgmlDType::Q4_1 => Self::Q4_1,
            GgmlDType::Q5_0 => Self::Q5_0,
            GgmlDType::Q5_1 => Self::Q5_1,
            GgmlDType::Q8_0 => Self::Q8_0,
            GgmlDType::Q4K => Self::Q4K,
            GgmlDType::Q5K => Self::Q5K,
            GgmlDType::Q6K => Self::Q6K,
            _ => return None,
        })
    }

    /// Bytes per block in the file.
    pub const fn block_bytes(self) -> usize {
        match self {
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q5_0 => 22,
            Self::Q5_1 => 24,
            Self::Q8_0 => 34,
            Self::Q4K => 144,
            Self::Q5K => 176,
            Self::Q6K => 210,
        }
    }

    /// Values per file block: 32, or 256 for the k-quants.
    pub const fn block_values(self) -> usize {
        match self {
            Self::Q4K | Self::Q5K | Self::Q6K => 256,
            _ => QK,
        }
    }

    /// Whether weights are `scale * q + offset` (unsigned quants and an
    /// offset per sub-block).
    const fn has_min(self) -> bool {
        matches!(self, Self::Q4_1 | Self::Q5_1 | Self::Q4K | Self::Q5K)
    }

    /// What Q4_0 and Q5_0 subtract from their stored unsigned quants (0 for
    /// the others). Products take the unsigned quants (no sign fixing) and
    /// subtract `bias * sum(x)` from each lane's integer: exactly the
    /// lanes of the signed product, with no large terms cancelling later.
    const fn bias(self) -> i32 {
        match self {
            Self::Q4_0 => 8,
            Self::Q5_0 => 16,
            _ => 0,
        }
    }

    /// Whether the quants multiplied are unsigned.
    const fn unsigned(self) -> bool {
        self.has_min() || self.bias() != 0
    }
}

/// Whether the SIMD kernels can run here (AVX2, FMA and F16C).
pub fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        super::vecmath::has_f16c()
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// One weight matrix `[n, k]` (y = x W^T) in its file blocks, owned or
/// where they lie in a memory-mapped file.
pub struct BlockMatrix {
    ty: BlockType,
    n: usize,
    k: usize,
    data: Bytes,
}

/// Activation rows quantized to 8-bit blocks.
pub struct Q8Blocks {
    m: usize,
    k: usize,
    /// `[m][k / 32]`
    d: Vec<f32>,
    /// `[m][k / 32]`: `d * sum(qs of the block)` (f16-rounded for
    /// [`ActQuant::Blocks32`], as llama.cpp's Q8_1).
    s: Vec<f32>,
    /// `[k / 32][m + 7]`: `s` by block, then row (zero past `m`), so that
    /// eight rows' sums are one load.
    st: Vec<f32>,
    /// `[k / 32][m + 7]`: `d` by block, then row (zero past `m`), so that
    /// eight rows' scales are one load.
    dt: Vec<f32>,
    /// `[k / 32][m + 7]`: the integer sum of each block's `qs` (exact as
    /// f32), by block then row, for the k-quants' minimums.
    it: Vec<f32>,
    /// `[m][k / 4]`: the sum of each 4 consecutive `qs` (one SIMD lane's).
    quad: Vec<i32>,
    /// `[m][k]`
    qs: Vec<i8>,
    /// [`Self::eights`], made on first use.
    eights: std::sync::OnceLock<Vec<i8>>,
}

/// How activations are quantized for a weight type, as llama.cpp does for
/// it (so both engines round alike): blocks of 32 with an f16 scale (its
/// Q8_0 / Q8_1) for the 32-value types, blocks of 256 with one f32 scale
/// (its Q8_K) for the k-quants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActQuant {
    Blocks32,
    Blocks256,
}

impl BlockType {
    pub const fn act_quant(self) -> ActQuant {
        match self {
            Self::Q4K | Self::Q5K | Self::Q6K => ActQuant::Blocks256,
            _ => ActQuant::Blocks32,
        }
    }
}

/// Round to nearest, ties to even, by the 1.5 * 2^23 trick (exact for
/// |y| < 2^22; vectorizes, unlike a `rint` call).
#[inline(always)]
fn nearest(y: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (y + MAGIC) - MAGIC
}

impl Q8Blocks {
    /// Quantizes `x` (`[m, k]`, row-major), `k` a multiple of 32 (of 256
    /// for [`ActQuant::Blocks256`]). Every sub-block of 32 gets its scale
    /// (shared by the 8 of a 256-block) and `scale * sum`.
    pub fn quantize(x: &[f32], m: usize, k: usize, mode: ActQuant) -> Self {
        let group = match mode {
            ActQuant::Blocks32 => QK,
            ActQuant::Blocks256 => 256,
        };
        assert!(
            k.is_multiple_of(group) && x.len() == m * k,
            "activations {m}x{k}"
        );
        let kb = k / QK;
        let mut d = vec![0f32; m * kb];
        let mut s = vec![0f32; m * kb];
        let mut sums = vec![0i32; m * kb];
        let mut quad = vec![0i32; m * k / 4];
        let mut qs = vec![0i8; m * k];
        let ptrs = (
            SyncPtr(d.as_mut_ptr()),
            SyncPtr(s.as_mut_ptr()),
            SyncPtr(sums.as_mut_ptr()),
            SyncPtr(quad.as_mut_ptr()),
            SyncPtr(qs.as_mut_ptr()),
        );
        quant::rows(x, m, k, mode, |r| {
            // SAFETY: `quant::rows` asks for each row once; these are that
            // row's disjoint parts of the five buffers, sized above.
            unsafe {
                quant::RowOut {
                    d: std::slice::from_raw_parts_mut(ptrs.0.get().add(r * kb), kb),
                    s: std::slice::from_raw_parts_mut(ptrs.1.get().add(r * kb), kb),
                    sums: std::slice::from_raw_parts_mut(ptrs.2.get().add(r * kb), kb),
                    quad: std::slice::from_raw_parts_mut(ptrs.3.get().add(r * k / 4), k / 4),
                    qs: std::slice::from_raw_parts_mut(ptrs.4.get().add(r * k), k),
                }
            }
        });
        let mut st = vec![0f32; kb * (m + 7)];
        let mut dt = vec![0f32; kb * (m + 7)];
        let mut it = vec![0f32; kb * (m + 7)];
        for r in 0..m {
            for b in 0..kb {
                st[b * (m + 7) + r] = s[r * kb + b];
                dt[b * (m + 7) + r] = d[r * kb + b];
                it[b * (m + 7) + r] = sums[r * kb + b] as f32;
            }
        }
        Self {
            m,
            k,
            d,
            s,
            st,
            dt,
            it,
            quad,
            qs,
            eights: std::sync::OnceLock::new(),
        }
    }

    /// `qs` of each whole group of eight rows (`[m / 8][k / 32][8][32]`):
    /// a 32-value block of the eight rows side by side, so that an
    /// eight-row tile reads them at fixed offsets from one address.
    pub(super) fn eights(&self) -> &[i8] {
        self.eights.get_or_init(|| {
            let (groups, kb) = (self.m / 8, self.k / QK);
            let mut e = vec![0i8; groups * 8 * self.k];
            for g in 0..groups {
                for b in 0..kb {
                    for i in 0..8 {
                        let from = (g * 8 + i) * self.k + b * QK;
                        let to = ((g * kb + b) * 8 + i) * QK;
                        e[to..to + QK].copy_from_slice(&self.qs[from..from + QK]);
                    }
                }
            }
            e
        })
    }

    /// Where row `r0 + i`'s 32-value block `b` lies: in `eights` (from
    /// [`Self::eights`]) for an eight-row tile (`R == 8`, `r0` a multiple
    /// of 8), else in `qs`. The address is in bounds for `r0 + R <= m`,
    /// `i < R` and `b < k / 32`, which the tiles' callers ensure.
    #[inline(always)]
    pub(super) fn block_ptr<const R: usize>(
        &self,
        eights: &[i8],
        r0: usize,
        i: usize,
        b: usize,
    ) -> *const i8 {
        if R == 8 {
            let kb = self.k / QK;
            eights
                .as_ptr()
                .wrapping_add(((r0 / 8 * kb + b) * 8 + i) * QK)
        } else {
            self.qs.as_ptr().wrapping_add((r0 + i) * self.k + b * QK)
        }
    }
}

fn h2f(lo: u8, hi: u8) -> f32 {
    f16::from_bits(u16::from_le_bytes([lo, hi])).to_f32()
}

/// The f16 fields of a file block's header as f32: `d`, and `dmin` or `m`
/// for the types with one (0 otherwise).
fn header(ty: BlockType, b: &[u8]) -> (f32, f32) {
    match ty {
        BlockType::Q6K => (h2f(b[208], b[209]), 0.0),
        BlockType::Q4_1 | BlockType::Q5_1 | BlockType::Q4K | BlockType::Q5K => {
            (h2f(b[0], b[1]), h2f(b[2], b[3]))
        }
        _ => (h2f(b[0], b[1]), 0.0),
    }
}

/// The scales of the two 16-value halves of sub-block `t` of a file block,
/// and its offset (0 for the types without one), from the block's
/// [`header`] (however converted: f16 to f32 is exact). Both paths use this.
#[inline(always)]
fn sub_scales(ty: BlockType, b: &[u8], t: usize, (d, dm): (f32, f32)) -> ([f32; 2], f32) {
    match ty {
        BlockType::Q8_0 => ([d, d], 0.0),
        BlockType::Q4_0 | BlockType::Q5_0 => ([d, d], 0.0),
        BlockType::Q4_1 | BlockType::Q5_1 => ([d, d], dm),
        BlockType::Q4K | BlockType::Q5K => {
            let (sc, m) = scale_min_k4(t, &b[4..16]);
            let ds = d * sc as f32;
            ([ds, ds], -(dm * m as f32))
        }
        BlockType::Q6K => {
            let n = t / 4;
            let kind = t % 4;
            let sc = |h: usize| b[192 + 8 * n + 2 * kind + h] as i8 as f32;
            ([d * sc(0), d * sc(1)], 0.0)
        }
    }
}

/// The 32 quants of sub-block `t` of a file block, in value order: the
/// signed value for the types without an offset, else the unsigned quant
/// (Q4_0 and Q5_0 without their [`BlockType::bias`]).
fn sub_quants(ty: BlockType, b: &[u8], t: usize) -> [i16; QK] {
    let mut q = [0i16; QK];
    match ty {
        BlockType::Q8_0 => {
            for (o, &v) in q.iter_mut().zip(&b[2..34]) {
                *o = v as i8 as i16;
            }
        }
        BlockType::Q4_0 | BlockType::Q4_1 => {
            let qs = if ty == BlockType::Q4_0 {
                &b[2..]
            } else {
                &b[4..]
            };
            for j in 0..16 {
                q[j] = (qs[j] & 0x0f) as i16;
                q[j + 16] = (qs[j] >> 4) as i16;
            }
        }
        BlockType::Q5_0 | BlockType::Q5_1 => {
            let rest = if ty == BlockType::Q5_0 {
                &b[2..]
            } else {
                &b[4..]
            };
            let qh = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
            let qs = &rest[4..];
            for j in 0..16 {
                let h0 = ((qh >> j) & 1) as u8;
                let h1 = ((qh >> (j + 16)) & 1) as u8;
                q[j] = ((qs[j] & 0x0f) | (h0 << 4)) as i16;
                q[j + 16] = ((qs[j] >> 4) | (h1 << 4)) as i16;
            }
        }
        BlockType::Q4K | BlockType::Q5K => {
            let (qs, qh) = if ty == BlockType::Q4K {
                (&b[16 + 32 * (t / 2)..][..32], None)
            } else {
                (&b[48 + 32 * (t / 2)..][..32], Some(&b[16..48]))
            };
            for l in 0..QK {
                let nib = if t.is_multiple_of(2) {
                    qs[l] & 0x0f
                } else {
                    qs[l] >> 4
                };
                let high = qh.map_or(0, |h| ((h[l] >> t) & 1) << 4);
                q[l] = (nib | high) as i16;
            }
        }
        BlockType::Q6K => {
            let (n, kind) = (t / 4, t % 4);
            let ql = &b[64 * n + 32 * (kind % 2)..][..32];
            let qh = &b[128 + 32 * n..][..32];
            for l in 0..QK {
                let nib = if kind < 2 { ql[l] & 0x0f } else { ql[l] >> 4 };
                let high = ((qh[l] >> (2 * kind)) & 3) << 4;
                q[l] = (nib | high) as i16 - 32;
            }
        }
    }
    q
}

/// `(a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7)`: the fixed order both
/// paths sum the eight lanes in.
fn lane_sum(a: &[f32; 8]) -> f32 {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

impl BlockMatrix {
    /// Takes a matrix's file blocks as they are: `n` rows of `k` values,
    /// `k` a multiple of the type's block.
    pub fn new(
        ty: BlockType,
        n: usize,
        k: usize,
        data: impl Into<Bytes>,
    ) -> candle_core::Result<Self> {
        let data = data.into();
        let bv = ty.block_values();
        if !k.is_multiple_of(bv) || data.len() != n * (k / bv) * ty.block_bytes() {
            candle_core::bail!(
                "{ty:?} matrix {n}x{k}: {} bytes is not whole blocks of its rows",
                data.len()
            );
        }
        Ok(Self { ty, n, k, data })
    }

    pub fn rows(&self) -> usize {
        self.n
    }

    pub fn cols(&self) -> usize {
        self.k
    }

    pub fn block_type(&self) -> BlockType {
        self.ty
    }

    /// Whether the blocks are read where they lie in a mapped file.
    pub fn is_mapped(&self) -> bool {
        self.data.is_mapped()
    }

    /// File block `b` of output row `row`.
    fn block(&self, row: usize, b: usize) -> &[u8] {
        let bb = self.ty.block_bytes();
        let at = (row * (self.k / self.ty.block_values()) + b) * bb;
        &self.data[at..at + bb]
    }

    /// Sub-blocks of 32 per file block.
    fn subs(&self) -> usize {
        self.ty.block_values() / QK
    }

    /// The weights as f32 `[n, k]` (for tests).
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.n * self.k);
        for r in 0..self.n {
            for b in 0..self.k / self.ty.block_values() {
                let blk = self.block(r, b);
                for t in 0..self.subs() {
                    let q = sub_quants(self.ty, blk, t);
                    let (sc, m) = sub_scales(self.ty, blk, t, header(self.ty, blk));
                    out.extend(
                        q.iter()
                            .enumerate()
                            .map(|(l, &v)| sc[l / 16] * (v as i32 - self.ty.bias()) as f32 + m),
                    );
                }
            }
        }
        out
    }
}

/// A k-quant sub-block's integer scales (the two 16-value halves') and
/// minimum (0 for Q6_K).
#[inline(always)]
fn kquant_scales(ty: BlockType, b: &[u8], t: usize) -> ([i32; 2], i32) {
    match ty {
        BlockType::Q6K => {
            let at = 192 + 8 * (t / 4) + 2 * (t % 4);
            ([b[at] as i8 as i32, b[at + 1] as i8 as i32], 0)
        }
        _ => {
            let (sc, m) = scale_min_k4(t, &b[4..16]);
            ([sc as i32; 2], m as i32)
        }
    }
}

/// Q4_K/Q5_K's eight 6-bit scales then eight 6-bit minimums from the
/// 12 bytes at `b[4..16]`, a few word operations for all sixteen (the
/// same values as [`scale_min_k4`], tested).
#[inline(always)]
fn scales_mins_k4(b: &[u8]) -> [u8; 16] {
    let a = u64::from_le_bytes(b[4..12].try_into().expect("8 bytes"));
    let h = u32::from_le_bytes(b[12..16].try_into().expect("4 bytes"));
    let (lo, hi) = (a as u32, (a >> 32) as u32);
    let words = [
        lo & 0x3f3f_3f3f,
        (h & 0x0f0f_0f0f) | ((lo & 0xc0c0_c0c0) >> 2),
        hi & 0x3f3f_3f3f,
        ((h >> 4) & 0x0f0f_0f0f) | ((hi & 0xc0c0_c0c0) >> 2),
    ];
    let mut out = [0u8; 16];
    for (o, w) in out.chunks_exact_mut(4).zip(words) {
        o.copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// The reference for the k-quants, whose activations have one scale per
/// 256 values: as llama.cpp does, each super-block's products are summed
/// as integers (lane `l` of every sub-block times its integer scale, into
/// eight 32-bit lanes: exact), then each lane is converted once and
/// accumulated with `d_w * d_x`; the minimums' integer sum
/// `sum(min * sum(x))` (exact in f32) goes to an offset with
/// `-dmin * d_x`. Per 32 values this is two integer operations where the
/// 32-value types need a conversion and a float multiply-add.
fn kquant_reference(w: &BlockMatrix, x: &Q8Blocks) -> Vec<f32> {
    let kb = w.k / QK;
    let subs = w.subs();
    let mp = x.m + 7;
    let mut out = vec![0f32; x.m * w.n];
    for r in 0..x.m {
        for c in 0..w.n {
            let mut acc = [0f32; 8];
            let mut off = 0f32;
            for b in 0..kb / subs {
                let blk = w.block(c, b);
                let (d, dm) = header(w.ty, blk);
                let mut lanes = [0i32; 8];
                let mut mins = 0f32;
                for t in 0..subs {
                    let sb = b * subs + t;
                    let q = sub_quants(w.ty, blk, t);
                    let (sc, m) = kquant_scales(w.ty, blk, t);
                    let xq = &x.qs[r * w.k + sb * QK..][..QK];
                    for (l, lane) in lanes.iter_mut().enumerate() {
                        let dot: i32 = (0..4)
                            .map(|j| q[4 * l + j] as i32 * xq[4 * l + j] as i32)
                            .sum();
                        *lane += sc[l / 4] * dot;
                    }
                    if w.ty.has_min() {
                        mins = (m as f32).mul_add(x.it[sb * mp + r], mins);
                    }
                }
                let dx = x.dt[b * subs * mp + r];
                let scale = d * dx;
                for (a, &lane) in acc.iter_mut().zip(&lanes) {
                    *a = (lane as f32).mul_add(scale, *a);
                }
                if w.ty.has_min() {
                    off = (-dm * dx).mul_add(mins, off);
                }
            }
            out[r * w.n + c] = lane_sum(&acc) + off;
        }
    }
    out
}

/// The portable reference: the same operations as the SIMD path, one
/// (output, row) at a time. Returns `[m, n]`.
pub fn matmul_reference(w: &BlockMatrix, x: &Q8Blocks) -> Vec<f32> {
    assert_eq!(w.k, x.k, "inner dimensions");
    if w.ty.block_values() != QK {
        return kquant_reference(w, x);
    }
    let kb = w.k / QK;
    let subs = w.subs();
    let mut out = vec![0f32; x.m * w.n];
    for r in 0..x.m {
        for c in 0..w.n {
            let mut acc = [0f32; 8];
            let mut off = 0f32;
            for sb in 0..kb {
                let (b, t) = (sb / subs, sb % subs);
                let blk = w.block(c, b);
                let q = sub_quants(w.ty, blk, t);
                let (sc, m) = sub_scales(w.ty, blk, t, header(w.ty, blk));
                let xq = &x.qs[r * w.k + sb * QK..][..QK];
                let dx = x.d[r * kb + sb];
                let scale = [sc[0] * dx, sc[1] * dx];
                let at = r * kb + sb;
                for (l, a) in acc.iter_mut().enumerate() {
                    let mut lane: i32 = (0..4)
                        .map(|j| q[4 * l + j] as i32 * xq[4 * l + j] as i32)
                        .sum();
                    lane -= w.ty.bias() * x.quad[(r * w.k + sb * QK) / 4 + l];
                    *a = (lane as f32).mul_add(scale[l / 4], *a);
                }
                if w.ty.has_min() {
                    off = m.mul_add(x.s[at], off);
                }
            }
            out[r * w.n + c] = lane_sum(&acc) + off;
        }
    }
    out
}

/// `y = x W^T` into `out` (`[m, n]`), on AVX2 when the CPU has it (else the
/// reference), output columns spread over candle's worker pool.
pub fn matmul_into(w: &BlockMatrix, x: &Q8Blocks, out: &mut [f32]) {
    matmul_many_into(&[w], &[x], &mut [out]);
}

/// Several products, `outs[i] = xs[i] W_i^T`, in one parallel region (one
/// wake-up and one wait of the workers instead of one per matrix): their
/// output columns are taken as one range and spread over the pool.
pub fn matmul_many_into(ws: &[&BlockMatrix], xs: &[&Q8Blocks], outs: &mut [&mut [f32]]) {
    assert!(
        ws.len() == xs.len() && ws.len() == outs.len(),
        "one input and output per matrix"
    );
    for ((w, x), out) in ws.iter().zip(xs).zip(outs.iter()) {
        assert_eq!(w.k, x.k, "inner dimensions");
        assert_eq!(out.len(), x.m * w.n, "output size");
    }
    if !supported() {
        for ((w, x), out) in ws.iter().zip(xs).zip(outs.iter_mut()) {
            out.copy_from_slice(&matmul_reference(w, x));
        }
        return;
    }
    let ptrs: Vec<SyncPtr<f32>> = outs.iter_mut().map(|o| SyncPtr(o.as_mut_ptr())).collect();
    let mut starts = Vec::with_capacity(ws.len());
    let mut total = 0;
    for w in ws {
        starts.push(total);
        total += w.n;
    }
    let work = |cols: std::ops::Range<usize>| {
        for (i, w) in ws.iter().enumerate() {
            let (lo, hi) = (cols.start.max(starts[i]), cols.end.min(starts[i] + w.n));
            if lo >= hi {
                continue;
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX2/FMA checked above; each chunk writes only its
            // own columns of each output.
            unsafe {
                simd::columns(w, xs[i], lo - starts[i]..hi - starts[i], ptrs[i].get())
            };
            #[cfg(not(target_arch = "x86_64"))]
            let _ = (&ptrs, lo, hi);
        }
    };
    let macs: usize = ws.iter().zip(xs).map(|(w, x)| x.m * w.n * w.k).sum();
    if macs < 1 << 16 {
        work(0..total);
    } else {
        candle_core::utils::barrier_pool().execute_chunked(total, work);
    }
}

#[cfg(target_arch = "x86_64")]
mod ksimd;
mod quant;
#[cfg(target_arch = "x86_64")]
mod simd;
#[cfg(target_arch = "x86_64")]
mod unpack;
#[cfg(target_arch = "x86_64")]
mod vnni;

#[cfg(test)]
mod tests;
