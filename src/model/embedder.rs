//! Sentence embeddings with a BERT encoder (`candle_transformers::models::bert`):
//! the e5 recipe of `query: ` / `passage: ` prefixes, mean pooling over real
//! tokens, L2 normalization, batched with padding and attention masks.
//!
//! A model directory holds `config.json`, `tokenizer.json`, and the weights as
//! `model.gguf` (what `dich models pull` imports; quantized tensors are
//! dequantized to f32 at load) or `model.safetensors` (a Hub snapshot, e.g.
//! `huggingface-cli download intfloat/multilingual-e5-small --local-dir DIR`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

use crate::format::candle_root;
use crate::format::gguf::GgufFile;
use crate::format::FormatError;
use crate::model::{ModelError, Result};
use crate::text::model_text;

/// How a text is used, which picks the e5 prefix. Use `Query` for symmetric
/// tasks (similarity, alignment), as the e5 model card advises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedKind {
    Query,
    Passage,
}

impl EmbedKind {
    fn prefix(self) -> &'static str {
        match self {
            EmbedKind::Query => "query: ",
            EmbedKind::Passage => "passage: ",
        }
    }
}

/// A sentence embedder: texts in, unit-length vectors out (one per text, in order).
pub trait Embedder: Send + Sync {
    fn embed(&self, texts: &[&str], kind: EmbedKind) -> Result<Vec<Vec<f32>>>;
    fn dim(&self) -> usize;
}

/// Tokens per forward pass (padded length x batch): bounds memory, and keeps
/// batches of similar lengths together so little work goes to padding.
const TOKEN_BUDGET: usize = 4096;
const MAX_BATCH: usize = 64;

pub struct BertEmbedder {
    model: BertModel,
    tokenizer: tokenizers::Tokenizer,
    pad_id: u32,
    hidden: usize,
    device: Device,
    pub dir: PathBuf,
    pub load_seconds: f64,
}

fn invalid(path: &Path, message: impl Into<String>) -> ModelError {
    FormatError::InvalidModel {
        path: path.to_path_buf(),
        message: message.into(),
    }
    .into()
}

impl BertEmbedder {
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let start = Instant::now();
        let config_path = dir.join("config.json");
        let text =
            std::fs::read_to_string(&config_path).map_err(|e| ModelError::io(&config_path, e))?;
        let config: Config = serde_json::from_str(&text)
            .map_err(|e| invalid(&config_path, format!("not a BERT config: {e}")))?;
        let tok_path = dir.join("tokenizer.json");
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tok_path)
            .map_err(|e| invalid(&tok_path, format!("cannot load the tokenizer: {e}")))?;
        // Longer texts are cut at the model's position limit (the e5 recipe);
        // sentences never come close.
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: config.max_position_embeddings,
                ..Default::default()
            }))
            .map_err(|e| invalid(&tok_path, e.to_string()))?;
        tokenizer.with_padding(None);
        let pad_id = config.pad_token_id as u32;
        let vb = weights(dir, device)?;
        let model = BertModel::load(vb, &config).map_err(|e| {
            invalid(
                dir,
                format!("cannot build the BERT model: {}", candle_root(e)),
            )
        })?;
        let load_seconds = start.elapsed().as_secs_f64();
        tracing::info!(
            "loaded embedder {} on {} in {load_seconds:.1}s",
            dir.display(),
            super::device::describe(device)
        );
        Ok(Self {
            model,
            tokenizer,
            pad_id,
            hidden: config.hidden_size,
            device: device.clone(),
            dir: dir.to_path_buf(),
            load_seconds,
        })
    }

    /// Token ids of `text` as the model sees it (prefix, NFC, specials).
    pub fn token_ids(&self, text: &str, kind: EmbedKind) -> Result<Vec<u32>> {
        let input = format!("{}{}", kind.prefix(), model_text(text));
        let enc = self
            .tokenizer
            .encode(input, true)
            .map_err(ModelError::Tokenize)?;
        Ok(enc.get_ids().to_vec())
    }

    fn forward_batch(&self, ids: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let len = ids.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut flat = Vec::with_capacity(ids.len() * len);
        let mut mask = Vec::with_capacity(ids.len() * len);
        for s in ids {
            flat.extend_from_slice(s);
            flat.extend(std::iter::repeat_n(self.pad_id, len - s.len()));
            mask.extend(std::iter::repeat_n(1u32, s.len()));
            mask.extend(std::iter::repeat_n(0u32, len - s.len()));
        }
        let shape = (ids.len(), len);
        let input = Tensor::from_vec(flat, shape, &self.device)?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        let types = input.zeros_like()?;
        let hidden = self.model.forward(&input, &types, Some(&mask))?;
        let pooled = mean_pool(&hidden, &mask)?;
        let normed = l2_normalize(&pooled)?;
        Ok(normed.to_dtype(DType::F32)?.to_vec2::<f32>()?)
    }
}

impl Embedder for BertEmbedder {
    fn embed(&self, texts: &[&str], kind: EmbedKind) -> Result<Vec<Vec<f32>>> {
        let ids: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| self.token_ids(t, kind))
            .collect::<Result<_>>()?;
        // Longest first, so each batch pads to a similar length.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let mut out = vec![Vec::new(); ids.len()];
        let mut i = 0;
        while i < order.len() {
            let longest = ids[order[i]].len().max(1);
            let n = (TOKEN_BUDGET / longest)
                .clamp(1, MAX_BATCH)
                .min(order.len() - i);
            let batch: Vec<&[u32]> = order[i..i + n].iter().map(|&k| ids[k].as_slice()).collect();
            for (k, v) in order[i..i + n].iter().zip(self.forward_batch(&batch)?) {
                out[*k] = v;
            }
            i += n;
        }
        Ok(out)
    }

    fn dim(&self) -> usize {
        self.hidden
    }
}

/// Mean of the hidden states over positions where `mask` is 1:
/// `[b, l, h]`, `[b, l]` -> `[b, h]`.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(hidden.dtype())?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
    summed.broadcast_div(&counts)
}

/// Rows scaled to unit L2 norm (a zero row stays zero).
pub fn l2_normalize(xs: &Tensor) -> candle_core::Result<Tensor> {
    let norm = xs.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    xs.broadcast_div(&norm)
}

/// The weights of `dir` as a VarBuilder: `model.gguf` (dequantized to f32)
/// or `model.safetensors`.
fn weights(dir: &Path, device: &Device) -> Result<VarBuilder<'static>> {
    let gguf = dir.join("model.gguf");
    let st = dir.join("model.safetensors");
    if gguf.exists() {
        let mut g = GgufFile::open(&gguf)?;
        let names: Vec<String> = g.tensor_infos().map(|(n, _)| n.clone()).collect();
        let mut map = HashMap::with_capacity(names.len());
        for name in names {
            let t = g.tensor(&name, device)?.dequantize(device)?;
            map.insert(name, t);
        }
        Ok(VarBuilder::from_tensors(map, DType::F32, device))
    } else if st.exists() {
        // SAFETY: the file is memory-mapped read-only; dich never writes to
        // model files it loads, and the cache replaces them by rename.
        unsafe { VarBuilder::from_mmaped_safetensors(&[&st], DType::F32, device) }
            .map_err(|e| invalid(&st, candle_root(e).to_string()))
    } else {
        Err(invalid(
            dir,
            "no model.gguf or model.safetensors in the embedder directory",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_pool_ignores_padding() {
        let dev = Device::Cpu;
        // Two sequences, length 3, hidden 2; the second has one pad position.
        let h = Tensor::new(
            &[
                [[1f32, 2.], [3., 4.], [5., 6.]],
                [[2f32, 0.], [4., 2.], [100., 100.]],
            ],
            &dev,
        )
        .unwrap();
        let m = Tensor::new(&[[1u32, 1, 1], [1, 1, 0]], &dev).unwrap();
        let p = mean_pool(&h, &m).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(p, vec![vec![3., 4.], vec![3., 1.]]);
    }

    #[test]
    fn l2_normalize_gives_unit_rows() {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[3f32, 4.], [0., 0.]], &dev).unwrap();
        let n = l2_normalize(&x).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(n, vec![vec![0.6, 0.8], vec![0., 0.]]);
    }
}
