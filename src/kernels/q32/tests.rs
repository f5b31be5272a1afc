use super::*;
use candle_core::quantized::QTensor;
use candle_core::{Device, Tensor};

fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 4.0
        })
        .collect()
}

fn matrix(dtype: GgmlDType, n: usize, k: usize, seed: u64) -> (QTensor, BlockMatrix) {
    let t = Tensor::from_vec(noise(n * k, seed), (n, k), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&t, dtype).unwrap();
    let data = q.data().unwrap().to_vec();
    let ty = BlockType::from_ggml(dtype).unwrap();
    (q, BlockMatrix::new(ty, n, k, data).unwrap())
}

/// Every type in its file form.
fn matrices(dtype: GgmlDType, n: usize, k: usize, seed: u64) -> Vec<(QTensor, BlockMatrix)> {
    vec![matrix(dtype, n, k, seed)]
}

const TYPES: [GgmlDType; 8] = [
    GgmlDType::Q4_0,
    GgmlDType::Q4_1,
    GgmlDType::Q5_0,
    GgmlDType::Q5_1,
    GgmlDType::Q8_0,
    GgmlDType::Q4K,
    GgmlDType::Q5K,
    GgmlDType::Q6K,
];

#[test]
fn unpacking_keeps_every_weight() {
    for dtype in TYPES {
        for (q, w) in matrices(dtype, 5, 512, 3) {
            let want = q.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap();
            let got = w.dequantize();
            let want = want.to_vec1::<f32>().unwrap();
            for (a, b) in got.iter().zip(&want) {
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                    "{dtype:?}: {a} vs {b}"
                );
            }
        }
    }
}

/// Relative L2 distance `|a - b| / |b|`.
fn rel(a: &[f32], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

/// Against the exact product of the file's weights (f64), our result is
/// as close as candle's quantized product or closer: both quantize the
/// activations to 8 bits, we in blocks of 32 (candle uses blocks of 256
/// for the k-quants, so there we are closer).
#[test]
fn reference_is_as_close_to_exact_as_candle() {
    for dtype in TYPES {
        let (q, w) = matrix(dtype, 24, 512, 7);
        let xs = noise(3 * 512, 9);
        let x = Q8Blocks::quantize(&xs, 3, 512, w.block_type().act_quant());
        let got = matmul_reference(&w, &x);
        let wf = w.dequantize();
        let exact: Vec<f64> = (0..3)
            .flat_map(|r| {
                let (wf, xs) = (&wf, &xs);
                (0..24).map(move |c| {
                    (0..512)
                        .map(|i| wf[c * 512 + i] as f64 * xs[r * 512 + i] as f64)
                        .sum::<f64>()
                })
            })
            .collect();
        let xt = Tensor::from_vec(xs.clone(), (3, 512), &Device::Cpu).unwrap();
        let candle = candle_core::quantized::QMatMul::from_qtensor(q)
            .unwrap()
            .forward(&xt)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let (ours, theirs) = (rel(&got, &exact), rel(&candle, &exact));
        assert!(
            ours <= 0.01 && ours <= theirs * 1.25 + 1e-5,
            "{dtype:?}: ours {ours:.2e}, candle {theirs:.2e} from exact"
        );
    }
}

use candle_core::Module;

#[test]
fn simd_is_bit_identical_to_reference_and_row_invariant() {
    for dtype in TYPES {
        for (_, w) in matrices(dtype, 41, 512, 11) {
            for m in [1usize, 2, 3, 4, 5, 8, 9, 16, 17, 27, 75] {
                let xs = noise(m * 512, 13 + m as u64);
                let x = Q8Blocks::quantize(&xs, m, 512, w.block_type().act_quant());
                let want = matmul_reference(&w, &x);
                let mut got = vec![0f32; m * 41];
                matmul_into(&w, &x, &mut got);
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{dtype:?}, {m} rows");
                // Each row alone gives its bits in the batch.
                for r in 0..m {
                    let one = Q8Blocks::quantize(
                        &xs[r * 512..(r + 1) * 512],
                        1,
                        512,
                        w.block_type().act_quant(),
                    );
                    let mut alone = vec![0f32; 41];
                    matmul_into(&w, &one, &mut alone);
                    assert_eq!(
                        bits(&alone),
                        bits(&got[r * 41..(r + 1) * 41]),
                        "{dtype:?} row {r}"
                    );
                }
            }
        }
    }
}

#[test]
fn k4_scales_and_minimums_unpack_as_one_at_a_time() {
    let mut seed = 1u64;
    for _ in 0..1000 {
        let mut b = [0u8; 16];
        for v in &mut b {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *v = (seed >> 56) as u8;
        }
        let all = scales_mins_k4(&b);
        for j in 0..8 {
            assert_eq!(
                (all[j], all[8 + j]),
                scale_min_k4(j, &b[4..16]),
                "{b:?} {j}"
            );
        }
    }
}
