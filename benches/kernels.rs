//! dich's quantized matrix kernels alone (`src/kernels/q32`), on random
//! blocks of the default model's shapes: one activation row (decoding) and
//! eight (a batch of 8, or a prompt tile), per block type. Throughput is in
//! multiply-adds. With `DICH_KERNELS=avx2` on an AVX-512 machine it
//! measures the AVX2 path that CPUs without AVX-512 take.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dich::kernels::q32::{matmul_into, BlockMatrix, BlockType, Q8Blocks};

/// A deterministic stream of bytes (xorshift).
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

/// Random blocks of `ty` with sane f16 scales (random bytes there would
/// give infinities and NaN).
fn matrix(ty: BlockType, n: usize, k: usize) -> BlockMatrix {
    let bb = ty.block_bytes();
    let mut data = bytes(n * k / ty.block_values() * bb, 7);
    let d = half::f16::from_f32(0.01).to_le_bytes();
    for block in data.chunks_exact_mut(bb) {
        let at: &[usize] = match ty {
            BlockType::Q6K => &[208],
            BlockType::Q4_1 | BlockType::Q5_1 | BlockType::Q4K | BlockType::Q5K => &[0, 2],
            _ => &[0],
        };
        for &i in at {
            block[i..i + 2].copy_from_slice(&d);
        }
    }
    BlockMatrix::new(ty, n, k, data).unwrap()
}

fn bench_q32(c: &mut Criterion) {
    let mut g = c.benchmark_group("q32");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    // The default model's MLP up projection: 8960 x 1536.
    let (n, k) = (8960, 1536);
    for ty in [
        BlockType::Q4K,
        BlockType::Q6K,
        BlockType::Q8_0,
        BlockType::Q5_0,
    ] {
        let w = matrix(ty, n, k);
        for m in [1usize, 8] {
            let x: Vec<f32> = bytes(m * k, 11)
                .iter()
                .map(|&b| b as f32 / 64.0 - 2.0)
                .collect();
            let q = Q8Blocks::quantize(&x, m, k, ty.act_quant());
            let mut out = vec![0f32; m * n];
            g.throughput(Throughput::Elements((m * n * k) as u64));
            g.bench_with_input(BenchmarkId::new(format!("{ty:?}"), m), &m, |b, _| {
                b.iter(|| matmul_into(&w, &q, &mut out))
            });
        }
    }
    // Gemma 3 270M's tied output matrix, 262144 x 640 in Q8_0 (178 MB): the
    // weights stream from memory, where the shape above fits in a large L3.
    let (n, k) = (262_144, 640);
    let w = matrix(BlockType::Q8_0, n, k);
    for m in [1usize, 8] {
        let x: Vec<f32> = bytes(m * k, 11)
            .iter()
            .map(|&b| b as f32 / 64.0 - 2.0)
            .collect();
        let q = Q8Blocks::quantize(&x, m, k, BlockType::Q8_0.act_quant());
        let mut out = vec![0f32; m * n];
        g.throughput(Throughput::Elements((m * n * k) as u64));
        g.bench_with_input(BenchmarkId::new("Q8_0-output", m), &m, |b, _| {
            b.iter(|| matmul_into(&w, &q, &mut out))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_q32);
criterion_main!(benches);
