//! A model in the exact shapes of Qwen2.5-7B-Instruct Q4_K_M (28 layers,
//! hidden 3,584, 28 heads, 4 KV heads, MLP 18,944, vocabulary 152,064;
//! Q4_K matrices with Q6_K for `attn_v`, `ffn_down` and the output, as
//! llama.cpp's Q4_K_M mix) with random weights, written as two split parts
//! the way the Hub ships the real file: it loads as one model, answers a
//! forward pass, and the whole process stays within 8 GB of RAM, its
//! matrices used where they lie in the memory-mapped files (on AVX-512
//! VNNI CPUs, repacked for the packed kernels: a copy of the same size).
//!
//! Random weights, not the real 7B (the Hub is unreachable from CI): what
//! is checked is loading, split parts and memory at that size, not output.
//! The test is alone in its binary so the peak resident memory it reads is
//! its own. The tokenizer metadata is the real Qwen2.5 vocabulary, taken
//! from the registry's Qwen2.5-Coder 0.5B file.

mod common;

use std::io::{BufWriter, Write};
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::Device;
use dich::model::LoadedLm;
use dich::registry::Role;

const LAYERS: usize = 28;
const HIDDEN: usize = 3584;
const HEADS: usize = 28;
const KV_HEADS: usize = 4;
const HEAD_DIM: usize = HIDDEN / HEADS;
const FFN: usize = 18944;
const VOCAB: usize = 152_064;

/// GGUF tensor types used here: (id, bytes per 256-value block).
const F32: (u32, usize) = (0, 1024);
const Q4K: (u32, usize) = (12, 144);
const Q6K: (u32, usize) = (14, 210);

struct Tensor {
    name: String,
    /// `[rows, cols]` as usual (GGUF stores `[cols, rows]`).
    shape: Vec<usize>,
    ty: (u32, usize),
}

impl Tensor {
    fn bytes(&self) -> usize {
        let n: usize = self.shape.iter().product();
        n / 256 * self.ty.1
    }
}

fn tensors() -> Vec<Tensor> {
    let t = |name: String, shape: &[usize], ty| Tensor {
        name,
        shape: shape.to_vec(),
        ty,
    };
    let mut v = vec![
        t("token_embd.weight".into(), &[VOCAB, HIDDEN], Q4K),
        t("output_norm.weight".into(), &[HIDDEN], F32),
        t("output.weight".into(), &[VOCAB, HIDDEN], Q6K),
    ];
    let kv = KV_HEADS * HEAD_DIM;
    for i in 0..LAYERS {
        let p = |s: &str| format!("blk.{i}.{s}");
        v.push(t(p("attn_norm.weight"), &[HIDDEN], F32));
        v.push(t(p("attn_q.weight"), &[HIDDEN, HIDDEN], Q4K));
        v.push(t(p("attn_q.bias"), &[HIDDEN], F32));
        v.push(t(p("attn_k.weight"), &[kv, HIDDEN], Q4K));
        v.push(t(p("attn_k.bias"), &[kv], F32));
        v.push(t(p("attn_v.weight"), &[kv, HIDDEN], Q6K));
        v.push(t(p("attn_v.bias"), &[kv], F32));
        v.push(t(p("attn_output.weight"), &[HIDDEN, HIDDEN], Q4K));
        v.push(t(p("ffn_norm.weight"), &[HIDDEN], F32));
        v.push(t(p("ffn_gate.weight"), &[FFN, HIDDEN], Q4K));
        v.push(t(p("ffn_up.weight"), &[FFN, HIDDEN], Q4K));
        v.push(t(p("ffn_down.weight"), &[HIDDEN, FFN], Q6K));
    }
    v
}

fn put_str(w: &mut impl Write, s: &str) {
    w.write_all(&(s.len() as u64).to_le_bytes()).unwrap();
    w.write_all(s.as_bytes()).unwrap();
}

fn type_id(v: &Value) -> u32 {
    match v {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

fn put_value(w: &mut impl Write, v: &Value) {
    match v {
        Value::U8(x) => w.write_all(&[*x]),
        Value::I8(x) => w.write_all(&x.to_le_bytes()),
        Value::U16(x) => w.write_all(&x.to_le_bytes()),
        Value::I16(x) => w.write_all(&x.to_le_bytes()),
        Value::U32(x) => w.write_all(&x.to_le_bytes()),
        Value::I32(x) => w.write_all(&x.to_le_bytes()),
        Value::U64(x) => w.write_all(&x.to_le_bytes()),
        Value::I64(x) => w.write_all(&x.to_le_bytes()),
        Value::F32(x) => w.write_all(&x.to_le_bytes()),
        Value::F64(x) => w.write_all(&x.to_le_bytes()),
        Value::Bool(x) => w.write_all(&[u8::from(*x)]),
        Value::String(s) => {
            put_str(w, s);
            Ok(())
        }
        Value::Array(items) => {
            let elem = items.first().map_or(4, type_id);
            w.write_all(&elem.to_le_bytes()).unwrap();
            w.write_all(&(items.len() as u64).to_le_bytes()).unwrap();
            for i in items {
                put_value(w, i);
            }
            Ok(())
        }
    }
    .unwrap();
}

/// Random but well-formed blocks: small f16 scales (so activations stay
/// finite through 28 layers), random quants and sub-block scales.
fn fill(w: &mut impl Write, t: &Tensor, seed: &mut u64) {
    let mut next = || {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    };
    let blocks = t.bytes() / t.ty.1;
    let mut block = vec![0u8; t.ty.1];
    let q4 = half::f16::from_f32(0.0005).to_bits().to_le_bytes();
    let q6 = half::f16::from_f32(0.0001).to_bits().to_le_bytes();
    for _ in 0..blocks {
        for chunk in block.chunks_mut(8) {
            let r = next().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        match t.ty.0 {
            0 => {
                // Norm weights near 1, biases near 0 (both f32).
                for (i, c) in block.chunks_exact_mut(4).enumerate() {
                    let v = if t.name.ends_with("norm.weight") {
                        1.0f32
                    } else {
                        0.01 * (i % 7) as f32
                    };
                    c.copy_from_slice(&v.to_le_bytes());
                }
            }
            12 => {
                block[0..2].copy_from_slice(&q4);
                block[2..4].copy_from_slice(&q4);
            }
            _ => {
                block[208..210].copy_from_slice(&q6);
            }
        }
        w.write_all(&block).unwrap();
    }
}

/// Writes part `no` (1-based) of `count`: the metadata (all of it in part
/// 1, the split keys in every part), its tensors' descriptions and data.
fn write_part(
    path: &Path,
    no: usize,
    count: usize,
    md: &[(String, Value)],
    ts: &[Tensor],
    total: usize,
) {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut kv: Vec<(String, Value)> = vec![
        ("split.no".into(), Value::U16((no - 1) as u16)),
        ("split.count".into(), Value::U16(count as u16)),
        ("split.tensors.count".into(), Value::I32(total as i32)),
    ];
    if no == 1 {
        kv.extend(md.iter().cloned());
    }
    w.write_all(b"GGUF").unwrap();
    w.write_all(&3u32.to_le_bytes()).unwrap();
    w.write_all(&(ts.len() as u64).to_le_bytes()).unwrap();
    w.write_all(&(kv.len() as u64).to_le_bytes()).unwrap();
    let mut header = 24usize;
    let mut counted = Vec::new();
    for (k, v) in &kv {
        put_str(&mut counted, k);
        counted.extend(type_id(v).to_le_bytes());
        put_value(&mut counted, v);
    }
    let mut offset = 0usize;
    for t in ts {
        put_str(&mut counted, &t.name);
        counted.extend((t.shape.len() as u32).to_le_bytes());
        for d in t.shape.iter().rev() {
            counted.extend((*d as u64).to_le_bytes());
        }
        counted.extend(t.ty.0.to_le_bytes());
        counted.extend((offset as u64).to_le_bytes());
        offset += t.bytes().div_ceil(32) * 32;
    }
    header += counted.len();
    w.write_all(&counted).unwrap();
    w.write_all(&vec![0u8; header.div_ceil(32) * 32 - header])
        .unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ no as u64;
    for t in ts {
        fill(&mut w, t, &mut seed);
        let pad = t.bytes().div_ceil(32) * 32 - t.bytes();
        w.write_all(&vec![0u8; pad]).unwrap();
    }
    w.flush().unwrap();
}

/// A `/proc/self/status` field in bytes (`VmHWM`: peak resident memory;
/// `RssAnon`: resident memory not backed by a file).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[test]
fn a_7b_model_in_two_parts_loads_as_one_and_fits_8_gb() {
    // The real Qwen2.5 tokenizer from a registry file.
    let small = common::catalog_model("qwen2.5-coder-0.5b-instruct-q5_0", Role::Translator).path;
    let mut f = std::fs::File::open(&small).unwrap();
    let content = Content::read(&mut f).unwrap();
    drop(f);
    let mut md: Vec<(String, Value)> = content
        .metadata
        .iter()
        .filter(|(k, _)| k.starts_with("tokenizer."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    drop(content);
    let u = |n: usize| Value::U32(n as u32);
    md.extend([
        (
            "general.architecture".to_string(),
            Value::String("qwen2".into()),
        ),
        ("qwen2.block_count".into(), u(LAYERS)),
        ("qwen2.context_length".into(), u(32768)),
        ("qwen2.embedding_length".into(), u(HIDDEN)),
        ("qwen2.feed_forward_length".into(), u(FFN)),
        ("qwen2.attention.head_count".into(), u(HEADS)),
        ("qwen2.attention.head_count_kv".into(), u(KV_HEADS)),
        ("qwen2.rope.freq_base".into(), Value::F32(1_000_000.0)),
        (
            "qwen2.attention.layer_norm_rms_epsilon".into(),
            Value::F32(1e-6),
        ),
    ]);

    let all = tensors();
    let total = all.len();
    let bytes: usize = all.iter().map(Tensor::bytes).sum();
    // Split where the first part passes half the bytes, as gguf-split does
    // by size.
    let mut acc = 0;
    let cut = all
        .iter()
        .position(|t| {
            acc += t.bytes();
            acc > bytes / 2
        })
        .unwrap();
    let (first, second) = all.split_at(cut);
    let dir = tempfile::tempdir().unwrap();
    let p1 = dir
        .path()
        .join("qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf");
    let p2 = dir
        .path()
        .join("qwen2.5-7b-instruct-q4_k_m-00002-of-00002.gguf");
    write_part(&p1, 1, 2, &md, first, total);
    write_part(&p2, 2, 2, &md, second, total);
    eprintln!(
        "wrote {:.2} GB of weights in two parts ({:.2} + {:.2} GB)",
        bytes as f64 / 1e9,
        std::fs::metadata(&p1).unwrap().len() as f64 / 1e9,
        std::fs::metadata(&p2).unwrap().len() as f64 / 1e9
    );

    let lm = LoadedLm::from_gguf(&p1, &Device::Cpu).unwrap();
    assert_eq!(lm.architecture, "qwen2");
    assert_eq!(lm.model.vocab_size(), VOCAB);
    let prompt = lm.encode_text("Xin chào Hà Nội").unwrap();
    let mut cache = lm.model.new_cache();
    let logits = lm.model.forward(&prompt, &mut cache).unwrap();
    let v = logits.to_vec1::<f32>().unwrap();
    assert_eq!(v.len(), VOCAB);
    assert!(v.iter().all(|x| x.is_finite()), "non-finite logits");
    let next = logits.argmax(0).unwrap().to_scalar::<u32>().unwrap();
    lm.model.forward(&[next], &mut cache).unwrap();
    let peak = status_bytes("VmHWM:");
    let anon = status_bytes("RssAnon:");
    eprintln!(
        "peak resident memory {:.2} GB for {:.2} GB of weights; {:.2} GB of it not file-backed",
        peak as f64 / 1e9,
        bytes as f64 / 1e9,
        anon as f64 / 1e9
    );
    if dich::model::decoder::packed_kernels_enabled() {
        // AVX-512 VNNI: the k-quant matrices are repacked into the packed
        // kernels' tiles, a copy of about the file's size (4.625 and 6.6
        // bits a weight), owned by the process.
        assert!(
            anon < bytes as u64 + (bytes / 8) as u64,
            "{anon} bytes of anonymous memory for {bytes} bytes of weights"
        );
    } else {
        // The matrices are used where they lie in the mapped files: what
        // the process owns is the embeddings, norms, caches and
        // activations, and the mapped pages can be dropped and re-read
        // under memory pressure.
        assert!(
            anon < (bytes / 4) as u64,
            "{anon} bytes of anonymous memory: the weights were copied, not mapped"
        );
    }
    assert!(
        peak < 8 * (1 << 30),
        "a 7B Q4_K_M model took {} bytes of RAM, more than 8 GiB",
        peak
    );
}
