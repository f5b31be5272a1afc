//! Random-weight Marian checkpoints in the real file formats (Hugging Face
//! layout: `config.json`, `model.safetensors`, `vocab.json`, `source.spm`,
//! `target.spm`, `tokenizer_config.json`), for tests and benchmarks where the real weights cannot be
//! had. The vocabulary is `</s>`, `<unk>`, the pieces of the SentencePiece
//! model given, synthetic filler pieces up to `vocab_size - 1`, and `<pad>`
//! last, as in OPUS-MT checkpoints.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};

use crate::format::spm::{PieceKind, SpmModel};
use crate::model::{ModelError, Result};
use crate::types::{Lang, LangPair};

/// The shapes of a random checkpoint.
#[derive(Debug, Clone)]
pub struct RandomSpec {
    pub vocab_size: usize,
    pub d_model: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub max_positions: usize,
    pub seed: u64,
    /// Added to the end-of-sentence logit bias, so that decoding random
    /// weights ends at varied lengths instead of never.
    pub eos_bias: f32,
    /// The language pair `tokenizer_config.json` states, as real OPUS-MT
    /// checkpoints do (`None`: no such file).
    pub pair: Option<LangPair>,
}

impl RandomSpec {
    /// Tiny, for tests.
    pub fn tiny(seed: u64) -> Self {
        Self {
            vocab_size: 512,
            d_model: 64,
            layers: 2,
            heads: 4,
            ffn: 128,
            max_positions: 128,
            seed,
            eos_bias: 0.0,
            pair: Some(LangPair::from_source(Lang::Vi)),
        }
    }

    /// The shapes of `Helsinki-NLP/opus-mt-vi-en` (77M parameters).
    pub fn opus_mt(seed: u64) -> Self {
        Self {
            vocab_size: 53_685,
            d_model: 512,
            layers: 6,
            heads: 8,
            ffn: 2048,
            max_positions: 512,
            seed,
            eos_bias: 0.0,
            pair: Some(LangPair::from_source(Lang::Vi)),
        }
    }
}

/// SplitMix64, and normal-ish values from it (sum of uniforms):
/// reproducible everywhere.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Approximately N(0, std^2): Irwin-Hall of 4 uniforms.
    fn normal(&mut self, std: f32) -> f32 {
        let s: f32 = (0..4).map(|_| self.next_f32()).sum::<f32>() - 2.0;
        s * std * 3f32.sqrt()
    }

    fn fill(&mut self, n: usize, std: f32, mean: f32) -> Vec<f32> {
        (0..n).map(|_| mean + self.normal(std)).collect()
    }
}

/// Writes a random checkpoint into `dir` with `spm` as both `source.spm`
/// and `target.spm`.
pub fn write_checkpoint(dir: &Path, spec: &RandomSpec, spm: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let model = SpmModel::from_file(spm)?;
    let (v, d, f) = (spec.vocab_size, spec.d_model, spec.ffn);
    let pad = v - 1;
    // vocab.json: </s> 0, <unk> 1, the spm's normal pieces, filler, <pad> last.
    let mut vocab: Vec<String> = vec!["</s>".into(), "<unk>".into()];
    for p in &model.pieces {
        if p.kind == PieceKind::Normal && !vocab.contains(&p.piece) {
            vocab.push(p.piece.clone());
        }
    }
    if vocab.len() + 1 > v {
        return Err(ModelError::Internal(format!(
            "vocab_size {v} cannot hold the {} pieces of {}",
            vocab.len(),
            spm.display()
        )));
    }
    let mut filler = 0;
    while vocab.len() < pad {
        vocab.push(format!("\u{2581}w{filler}"));
        filler += 1;
    }
    vocab.push("<pad>".into());
    let vocab_json: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), serde_json::Value::from(i)))
        .collect();
    let config = serde_json::json!({
        "_name_or_path": "dich-random-marian",
        "architectures": ["MarianMTModel"],
        "model_type": "marian",
        "activation_function": "swish",
        "d_model": d,
        "encoder_layers": spec.layers,
        "decoder_layers": spec.layers,
        "encoder_attention_heads": spec.heads,
        "decoder_attention_heads": spec.heads,
        "encoder_ffn_dim": f,
        "decoder_ffn_dim": f,
        "vocab_size": v,
        "decoder_vocab_size": v,
        "max_position_embeddings": spec.max_positions,
        "scale_embedding": true,
        "share_encoder_decoder_embeddings": true,
        "pad_token_id": pad,
        "eos_token_id": 0,
        "forced_eos_token_id": 0,
        "decoder_start_token_id": pad,
        "bad_words_ids": [[pad]],
        "normalize_before": false,
        "static_position_embeddings": true,
        "is_encoder_decoder": true,
        "use_cache": true,
        "num_beams": 4,
        "max_length": spec.max_positions,
    });
    let mut w = Writer {
        rng: Rng(spec.seed),
        tensors: HashMap::new(),
        d,
    };
    let w_std = 1.0 / (d as f32).sqrt();
    let shared = w.rng.fill(v * d, 0.5 * w_std, 0.0);
    w.put("model.shared.weight", shared, &[v, d])?;
    let mut bias = w.rng.fill(v, 0.5, 0.0);
    bias[0] += spec.eos_bias;
    w.put("final_logits_bias", bias, &[1, v])?;
    for side in ["encoder", "decoder"] {
        for l in 0..spec.layers {
            let p = format!("model.{side}.layers.{l}");
            w.attention(&format!("{p}.self_attn"))?;
            w.norm(&format!("{p}.self_attn_layer_norm"))?;
            if side == "decoder" {
                w.attention(&format!("{p}.encoder_attn"))?;
                w.norm(&format!("{p}.encoder_attn_layer_norm"))?;
            }
            w.linear(&format!("{p}.fc1"), f, d)?;
            w.linear(&format!("{p}.fc2"), d, f)?;
            w.norm(&format!("{p}.final_layer_norm"))?;
        }
    }
    let tensors = w.tensors;
    let write = |name: &str, bytes: &[u8]| -> Result<()> {
        crate::util::fs::write_atomic(&dir.join(name), bytes)
            .map_err(|e| ModelError::io(dir.join(name), e))
    };
    write(
        "config.json",
        serde_json::to_string_pretty(&config)
            .expect("JSON values serialize")
            .as_bytes(),
    )?;
    write(
        "vocab.json",
        serde_json::to_string(&vocab_json)
            .expect("JSON values serialize")
            .as_bytes(),
    )?;
    if let Some(pair) = spec.pair {
        let tc = serde_json::json!({
            "source_lang": pair.from.code(),
            "target_lang": pair.to.code(),
        });
        write("tokenizer_config.json", tc.to_string().as_bytes())?;
    }
    let spm_bytes = std::fs::read(spm).map_err(|e| ModelError::io(spm, e))?;
    write("source.spm", &spm_bytes)?;
    write("target.spm", &spm_bytes)?;
    let st = dir.join("model.safetensors");
    candle_core::safetensors::save(&tensors, &st)
        .map_err(|e| ModelError::Candle(crate::format::candle_root(e)))?;
    Ok(())
}

struct Writer {
    rng: Rng,
    tensors: HashMap<String, Tensor>,
    d: usize,
}

impl Writer {
    fn put(&mut self, name: &str, data: Vec<f32>, shape: &[usize]) -> Result<()> {
        let t = Tensor::from_vec(data, shape, &Device::Cpu)
            .map_err(|e| ModelError::Candle(crate::format::candle_root(e)))?;
        self.tensors.insert(name.to_string(), t);
        Ok(())
    }

    /// Weights ~ N(0, 1/in), biases small.
    fn linear(&mut self, prefix: &str, out_dim: usize, in_dim: usize) -> Result<()> {
        let w = self
            .rng
            .fill(out_dim * in_dim, 1.0 / (in_dim as f32).sqrt(), 0.0);
        self.put(&format!("{prefix}.weight"), w, &[out_dim, in_dim])?;
        let b = self.rng.fill(out_dim, 0.02, 0.0);
        self.put(&format!("{prefix}.bias"), b, &[out_dim])
    }

    fn attention(&mut self, prefix: &str) -> Result<()> {
        for p in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            self.linear(&format!("{prefix}.{p}"), self.d, self.d)?;
        }
        Ok(())
    }

    fn norm(&mut self, prefix: &str) -> Result<()> {
        let w = self.rng.fill(self.d, 0.1, 1.0);
        self.put(&format!("{prefix}.weight"), w, &[self.d])?;
        let b = self.rng.fill(self.d, 0.05, 0.0);
        self.put(&format!("{prefix}.bias"), b, &[self.d])
    }
}
