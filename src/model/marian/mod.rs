//! Marian encoder-decoder translation models (OPUS-MT) in Hugging Face
//! layout: `config.json`, `model.safetensors` (or `pytorch_model.bin`),
//! `source.spm`, `target.spm` and `vocab.json`, loaded directly (the
//! SentencePiece files through [`crate::format::spm`], no conversion step).
//!
//! The forward pass is our own, over the checkpoint's tensor names and
//! candle's `marian::Config`, because candle's module has no padding masks
//! and recomputes the cross-attention keys and values every step. Here:
//!
//! - A batch is packed, not padded: the rows of all sentences go through
//!   each linear layer together (weights read once per batch), and
//!   attention runs per sentence over exactly its own rows. No position of
//!   one sentence can see another's, so a batch gives bit for bit what each
//!   sentence gives alone (see [`linear`] for why the matmuls do too).
//! - The encoder computes every decoder layer's cross-attention keys and
//!   values once per sentence ([`Memory`]); decoding steps only read them.
//! - Each hypothesis keeps its own self-attention cache ([`DecoderState`]),
//!   so hypotheses that finish simply leave the batch, and beam search forks
//!   a hypothesis by cloning its cache.

mod layers;
pub mod linear;
pub mod random;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use candle_transformers::models::marian::Config;

use crate::format::checkpoint::TensorFile;
use crate::format::marian::{load_config, MarianFiles};
use crate::format::spm::{MarianVocab, SpmTokenizer};
use crate::format::FormatError;
use crate::model::Seq2Seq;
use crate::model::{ModelError, Result};
use crate::types::LangPair;
use layers::{apply_act, attend, par_rows, LayerNorm};
pub use linear::{Linear, WeightFormat};

fn invalid(path: &Path, message: impl Into<String>) -> ModelError {
    FormatError::InvalidCheckpoint {
        path: path.to_path_buf(),
        message: message.into(),
    }
    .into()
}

/// Marian's layers from a checkpoint's tensors.
trait Layers {
    fn linear(
        &self,
        prefix: &str,
        out_dim: usize,
        in_dim: usize,
        format: WeightFormat,
    ) -> Result<Linear>;
    fn fused(
        &self,
        prefixes: &[String],
        out_dim: usize,
        in_dim: usize,
        format: WeightFormat,
    ) -> Result<Linear>;
    fn norm(&self, prefix: &str, dim: usize) -> Result<LayerNorm>;
}

impl Layers for TensorFile {
    fn linear(
        &self,
        prefix: &str,
        out_dim: usize,
        in_dim: usize,
        format: WeightFormat,
    ) -> Result<Linear> {
        let w = self.get(&format!("{prefix}.weight"), &[out_dim, in_dim])?;
        let b = self.get(&format!("{prefix}.bias"), &[out_dim])?;
        Linear::new(w, Some(b), out_dim, in_dim, format)
    }

    /// Several linear layers over the same input as one (their outputs side by side).
    fn fused(
        &self,
        prefixes: &[String],
        out_dim: usize,
        in_dim: usize,
        format: WeightFormat,
    ) -> Result<Linear> {
        let mut w = Vec::with_capacity(prefixes.len() * out_dim * in_dim);
        let mut b = Vec::with_capacity(prefixes.len() * out_dim);
        for p in prefixes {
            w.extend(self.get(&format!("{p}.weight"), &[out_dim, in_dim])?);
            b.extend(self.get(&format!("{p}.bias"), &[out_dim])?);
        }
        Linear::new(w, Some(b), prefixes.len() * out_dim, in_dim, format)
    }

    fn norm(&self, prefix: &str, dim: usize) -> Result<LayerNorm> {
        Ok(LayerNorm {
            weight: self.get(&format!("{prefix}.weight"), &[dim])?,
            bias: self.get(&format!("{prefix}.bias"), &[dim])?,
        })
    }
}

#[derive(Debug, Clone)]
struct EncoderLayer {
    qkv: Linear,
    out: Linear,
    attn_norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    ffn_norm: LayerNorm,
}

#[derive(Debug, Clone)]
struct DecoderLayer {
    qkv: Linear,
    out: Linear,
    self_norm: LayerNorm,
    cross_q: Linear,
    cross_out: Linear,
    cross_norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    ffn_norm: LayerNorm,
}

/// What the encoder leaves for decoding one sentence: for every decoder
/// layer, the cross-attention keys and values of its source positions
/// (`[position][d_model]`, heads side by side), computed once.
#[derive(Debug, Clone)]
pub struct Memory {
    pub len: usize,
    cross: Vec<(Vec<f32>, Vec<f32>)>,
}

/// One hypothesis' self-attention cache: per decoder layer, the keys and
/// values of the target positions fed so far (`[position][d_model]`).
#[derive(Debug, Clone)]
pub struct DecoderState {
    layers: Vec<(Vec<f32>, Vec<f32>)>,
    len: usize,
}

impl DecoderState {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A loaded Marian model (weights only; see [`MarianMt`] for the tokenizers).
pub struct MarianModel {
    pub config: Config,
    pub format: WeightFormat,
    d: usize,
    enc_heads: usize,
    dec_heads: usize,
    src_embed: Arc<Vec<f32>>,
    tgt_embed: Arc<Vec<f32>>,
    embed_scale: f32,
    /// `[max_position][d]`.
    positions: Vec<f32>,
    encoder: Vec<EncoderLayer>,
    /// Every decoder layer's cross-attention key and value projections,
    /// fused into one matrix so the encoder output is read once.
    cross_kv: Linear,
    decoder: Vec<DecoderLayer>,
    lm_head: Linear,
    final_bias: Vec<f32>,
    target_vocab: usize,
}

/// HF's `MarianSinusoidalPositionalEmbedding`: sines in the first half,
/// cosines in the second, computed in f64.
fn sinusoidal(n: usize, d: usize) -> Vec<f32> {
    let half = d / 2;
    let mut out = vec![0f32; n * d];
    for pos in 0..n {
        for i in 0..half {
            let angle = pos as f64 / 10000f64.powf(2.0 * i as f64 / d as f64);
            out[pos * d + i] = angle.sin() as f32;
            out[pos * d + half + i] = angle.cos() as f32;
        }
    }
    out
}

impl MarianModel {
    /// Loads the weights of `weights` (safetensors or PyTorch pickle).
    pub fn load(config: Config, weights: &Path, format: WeightFormat) -> Result<Self> {
        let f = TensorFile::open(weights)?;
        let c = &config;
        let d = c.d_model;
        let src_vocab = c.vocab_size;
        let tgt_vocab = c.decoder_vocab_size.unwrap_or(c.vocab_size);
        let (src_embed, tgt_embed) = if c.share_encoder_decoder_embeddings {
            let shared = Arc::new(
                f.get("model.shared.weight", &[src_vocab, d])
                    .or_else(|_| f.get("model.encoder.embed_tokens.weight", &[src_vocab, d]))?,
            );
            if tgt_vocab != src_vocab {
                return Err(invalid(
                    weights,
                    format!("shared embeddings but vocab_size {src_vocab} != decoder_vocab_size {tgt_vocab}"),
                ));
            }
            (shared.clone(), shared)
        } else {
            (
                Arc::new(f.get("model.encoder.embed_tokens.weight", &[src_vocab, d])?),
                Arc::new(f.get("model.decoder.embed_tokens.weight", &[tgt_vocab, d])?),
            )
        };
        // Tied to the target embeddings unless the checkpoint has its own.
        let lm_weight = match f.find("lm_head.weight") {
            Some(_) if !c.share_encoder_decoder_embeddings => {
                Arc::new(f.get("lm_head.weight", &[tgt_vocab, d])?)
            }
            _ => tgt_embed.clone(),
        };
        let lm_head = Linear::shared(lm_weight, None, tgt_vocab, d, format)?;
        let final_bias = match f.find("final_logits_bias") {
            Some(_) => f.get("final_logits_bias", &[1, tgt_vocab])?,
            None => vec![0.0; tgt_vocab],
        };
        let n_pos = c.max_position_embeddings;
        let positions = match f.find("model.encoder.embed_positions.weight") {
            Some(t) if t.dims() == [n_pos, d] => {
                f.get("model.encoder.embed_positions.weight", &[n_pos, d])?
            }
            _ => sinusoidal(n_pos, d),
        };
        let mut encoder = Vec::with_capacity(c.encoder_layers);
        for i in 0..c.encoder_layers {
            let p = format!("model.encoder.layers.{i}");
            encoder.push(EncoderLayer {
                qkv: f.fused(
                    &["q_proj", "k_proj", "v_proj"].map(|n| format!("{p}.self_attn.{n}")),
                    d,
                    d,
                    format,
                )?,
                out: f.linear(&format!("{p}.self_attn.out_proj"), d, d, format)?,
                attn_norm: f.norm(&format!("{p}.self_attn_layer_norm"), d)?,
                fc1: f.linear(&format!("{p}.fc1"), c.encoder_ffn_dim, d, format)?,
                fc2: f.linear(&format!("{p}.fc2"), d, c.encoder_ffn_dim, format)?,
                ffn_norm: f.norm(&format!("{p}.final_layer_norm"), d)?,
            });
        }
        let mut decoder = Vec::with_capacity(c.decoder_layers);
        let mut cross_names = Vec::new();
        for i in 0..c.decoder_layers {
            let p = format!("model.decoder.layers.{i}");
            cross_names.push(format!("{p}.encoder_attn.k_proj"));
            cross_names.push(format!("{p}.encoder_attn.v_proj"));
            decoder.push(DecoderLayer {
                qkv: f.fused(
                    &["q_proj", "k_proj", "v_proj"].map(|n| format!("{p}.self_attn.{n}")),
                    d,
                    d,
                    format,
                )?,
                out: f.linear(&format!("{p}.self_attn.out_proj"), d, d, format)?,
                self_norm: f.norm(&format!("{p}.self_attn_layer_norm"), d)?,
                cross_q: f.linear(&format!("{p}.encoder_attn.q_proj"), d, d, format)?,
                cross_out: f.linear(&format!("{p}.encoder_attn.out_proj"), d, d, format)?,
                cross_norm: f.norm(&format!("{p}.encoder_attn_layer_norm"), d)?,
                fc1: f.linear(&format!("{p}.fc1"), c.decoder_ffn_dim, d, format)?,
                fc2: f.linear(&format!("{p}.fc2"), d, c.decoder_ffn_dim, format)?,
                ffn_norm: f.norm(&format!("{p}.final_layer_norm"), d)?,
            });
        }
        let cross_kv = f.fused(&cross_names, d, d, format)?;
        Ok(Self {
            d,
            enc_heads: c.encoder_attention_heads,
            dec_heads: c.decoder_attention_heads,
            src_embed,
            tgt_embed,
            embed_scale: if c.scale_embedding {
                (d as f32).sqrt()
            } else {
                1.0
            },
            positions,
            encoder,
            cross_kv,
            decoder,
            lm_head,
            final_bias,
            target_vocab: tgt_vocab,
            config,
            format,
        })
    }

    pub fn max_positions(&self) -> usize {
        self.config.max_position_embeddings
    }

    pub fn target_vocab(&self) -> usize {
        self.target_vocab
    }

    /// Bytes of the weights the forward pass reads (linear layers and embeddings).
    pub fn weight_bytes(&self) -> usize {
        let enc: usize = self
            .encoder
            .iter()
            .map(|l| {
                l.qkv.weight_bytes()
                    + l.out.weight_bytes()
                    + l.fc1.weight_bytes()
                    + l.fc2.weight_bytes()
            })
            .sum();
        let dec: usize = self
            .decoder
            .iter()
            .map(|l| {
                l.qkv.weight_bytes()
                    + l.out.weight_bytes()
                    + l.cross_q.weight_bytes()
                    + l.cross_out.weight_bytes()
                    + l.fc1.weight_bytes()
                    + l.fc2.weight_bytes()
            })
            .sum();
        enc + dec + self.cross_kv.weight_bytes() + self.lm_head.weight_bytes()
    }

    fn embed(
        &self,
        table: &[f32],
        tokens: &[u32],
        positions: &[usize],
        out: &mut [f32],
    ) -> Result<()> {
        let d = self.d;
        let vocab = table.len() / d;
        for ((row, &tok), &pos) in out.chunks_exact_mut(d).zip(tokens).zip(positions) {
            let t = tok as usize;
            if t >= vocab {
                return Err(ModelError::Internal(format!(
                    "token id {tok} is outside the vocabulary of {vocab}"
                )));
            }
            if pos >= self.max_positions() {
                return Err(ModelError::Internal(format!(
                    "position {pos} is past the model's {} positions",
                    self.max_positions()
                )));
            }
            let e = &table[t * d..(t + 1) * d];
            let p = &self.positions[pos * d..(pos + 1) * d];
            for ((o, &ev), &pv) in row.iter_mut().zip(e).zip(p) {
                *o = ev * self.embed_scale + pv;
            }
        }
        Ok(())
    }

    /// Runs the encoder over each source (model ids, ending with `</s>`) and
    /// returns each one's [`Memory`]. All sources' rows share each matmul;
    /// attention stays within a source.
    pub fn encode(&self, sources: &[&[u32]]) -> Result<Vec<Memory>> {
        let d = self.d;
        let mut spans = Vec::with_capacity(sources.len());
        let mut tokens = Vec::new();
        let mut positions = Vec::new();
        for s in sources {
            if s.is_empty() {
                return Err(ModelError::Internal("empty source sequence".into()));
            }
            if s.len() > self.max_positions() {
                return Err(ModelError::Internal(format!(
                    "source of {} tokens is longer than the model's {} positions",
                    s.len(),
                    self.max_positions()
                )));
            }
            spans.push((tokens.len(), s.len()));
            tokens.extend_from_slice(s);
            positions.extend(0..s.len());
        }
        let rows = tokens.len();
        if rows == 0 {
            return Ok(Vec::new());
        }
        // The sentence (start, len) each row belongs to.
        let row_span: Vec<(usize, usize)> = spans
            .iter()
            .flat_map(|&(start, len)| std::iter::repeat_n((start, len), len))
            .collect();
        let mut x = vec![0f32; rows * d];
        self.embed(&self.src_embed, &tokens, &positions, &mut x)?;
        let hd = d / self.enc_heads;
        let scale = (hd as f32).powf(-0.5);
        for layer in &self.encoder {
            let mut qkv = layer.qkv.forward(&x, rows)?;
            for row in qkv.chunks_exact_mut(3 * d) {
                for q in &mut row[..d] {
                    *q *= scale;
                }
            }
            let mut ctx = vec![0f32; rows * d];
            par_rows(&mut ctx, d, |r, out| {
                let (start, len) = row_span[r];
                let q = &qkv[r * 3 * d..r * 3 * d + d];
                let keys = |j: usize| &qkv[(start + j) * 3 * d + d..(start + j) * 3 * d + 2 * d];
                let vals = |j: usize| &qkv[(start + j) * 3 * d + 2 * d..(start + j + 1) * 3 * d];
                attend(q, len, keys, vals, self.enc_heads, out);
            });
            let y = layer.out.forward(&ctx, rows)?;
            layer.attn_norm.add_norm(&mut x, &y);
            let mut h = layer.fc1.forward(&x, rows)?;
            apply_act(self.config.activation_function, &mut h);
            let y = layer.fc2.forward(&h, rows)?;
            layer.ffn_norm.add_norm(&mut x, &y);
        }
        let kv = self.cross_kv.forward(&x, rows)?;
        let width = kv.len() / rows;
        let n_layers = self.decoder.len();
        Ok(spans
            .iter()
            .map(|&(start, len)| {
                let cross = (0..n_layers)
                    .map(|l| {
                        let mut k = Vec::with_capacity(len * d);
                        let mut v = Vec::with_capacity(len * d);
                        for r in start..start + len {
                            let row = &kv[r * width..(r + 1) * width];
                            k.extend_from_slice(&row[2 * l * d..(2 * l + 1) * d]);
                            v.extend_from_slice(&row[(2 * l + 1) * d..(2 * l + 2) * d]);
                        }
                        (k, v)
                    })
                    .collect();
                Memory { len, cross }
            })
            .collect())
    }

    pub fn start_state(&self) -> DecoderState {
        DecoderState {
            layers: vec![(Vec::new(), Vec::new()); self.decoder.len()],
            len: 0,
        }
    }

    /// One decoding step for several hypotheses: `tokens[i]` is fed after
    /// what `states[i]` holds, attending to `memories[i]`. Returns the
    /// logits, `[n][target vocab]` row-major.
    pub fn decode_step(
        &self,
        states: &mut [&mut DecoderState],
        memories: &[&Memory],
        tokens: &[u32],
    ) -> Result<Vec<f32>> {
        let n = states.len();
        if memories.len() != n || tokens.len() != n {
            return Err(ModelError::Internal("decode_step: mismatched batch".into()));
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let d = self.d;
        let positions: Vec<usize> = states.iter().map(|s| s.len).collect();
        let mut x = vec![0f32; n * d];
        self.embed(&self.tgt_embed, tokens, &positions, &mut x)?;
        let hd = d / self.dec_heads;
        let scale = (hd as f32).powf(-0.5);
        for (l, layer) in self.decoder.iter().enumerate() {
            let mut qkv = layer.qkv.forward(&x, n)?;
            for (i, state) in states.iter_mut().enumerate() {
                let row = &mut qkv[i * 3 * d..(i + 1) * 3 * d];
                let (k, v) = &mut state.layers[l];
                k.extend_from_slice(&row[d..2 * d]);
                v.extend_from_slice(&row[2 * d..]);
                for q in &mut row[..d] {
                    *q *= scale;
                }
            }
            let mut ctx = vec![0f32; n * d];
            let states_ro: &[&mut DecoderState] = states;
            par_rows(&mut ctx, d, |i, out| {
                let (k, v) = &states_ro[i].layers[l];
                attend(
                    &qkv[i * 3 * d..i * 3 * d + d],
                    k.len() / d,
                    |j| &k[j * d..(j + 1) * d],
                    |j| &v[j * d..(j + 1) * d],
                    self.dec_heads,
                    out,
                );
            });
            let y = layer.out.forward(&ctx, n)?;
            layer.self_norm.add_norm(&mut x, &y);
            let mut q = layer.cross_q.forward(&x, n)?;
            for v in &mut q {
                *v *= scale;
            }
            par_rows(&mut ctx, d, |i, out| {
                let mem = memories[i];
                let (k, v) = &mem.cross[l];
                attend(
                    &q[i * d..(i + 1) * d],
                    mem.len,
                    |j| &k[j * d..(j + 1) * d],
                    |j| &v[j * d..(j + 1) * d],
                    self.dec_heads,
                    out,
                );
            });
            let y = layer.cross_out.forward(&ctx, n)?;
            layer.cross_norm.add_norm(&mut x, &y);
            let mut h = layer.fc1.forward(&x, n)?;
            apply_act(self.config.activation_function, &mut h);
            let y = layer.fc2.forward(&h, n)?;
            layer.ffn_norm.add_norm(&mut x, &y);
        }
        for s in states.iter_mut() {
            s.len += 1;
        }
        let mut logits = self.lm_head.forward(&x, n)?;
        for row in logits.chunks_exact_mut(self.target_vocab) {
            for (o, b) in row.iter_mut().zip(&self.final_bias) {
                *o += b;
            }
        }
        Ok(logits)
    }
}

/// A Marian model with its tokenizers, ready to translate text.
pub struct MarianMt {
    pub model: MarianModel,
    pub source_spm: SpmTokenizer,
    pub target_spm: SpmTokenizer,
    pub vocab: MarianVocab,
    pub dir: PathBuf,
    pub weights_file: PathBuf,
    /// The language pair `tokenizer_config.json` states, if it states one.
    pub pair: Option<LangPair>,
    pub load_seconds: f64,
}

impl MarianMt {
    /// Loads a checkpoint directory of the Hugging Face layout.
    pub fn load(dir: &Path, format: WeightFormat) -> Result<Self> {
        let start = Instant::now();
        let files = MarianFiles::find(dir)?;
        let pair = files.language_pair()?;
        let config = load_config(&files.config)?;
        let weights_file = files.weights;
        let source_spm = SpmTokenizer::from_file(&files.source_spm)?;
        let target_spm = SpmTokenizer::from_file(&files.target_spm)?;
        let vocab_path = files.vocab;
        let vocab = MarianVocab::from_file(&vocab_path)?;
        let tgt_vocab = config.decoder_vocab_size.unwrap_or(config.vocab_size);
        if vocab.len() > config.vocab_size.max(tgt_vocab) {
            return Err(invalid(
                &vocab_path,
                format!(
                    "{} pieces, more than the model's vocabulary of {}",
                    vocab.len(),
                    config.vocab_size
                ),
            ));
        }
        if let Some(id) = vocab
            .max_id()
            .filter(|&id| id as usize >= config.vocab_size.max(tgt_vocab))
        {
            return Err(invalid(
                &vocab_path,
                format!(
                    "id {id} is outside the model's vocabulary of {}",
                    config.vocab_size.max(tgt_vocab)
                ),
            ));
        }
        if vocab.eos_id != config.eos_token_id || vocab.pad_id != config.pad_token_id {
            return Err(invalid(
                &vocab_path,
                format!(
                    "</s> = {} and <pad> = {} here, but config.json says eos {} and pad {}",
                    vocab.eos_id, vocab.pad_id, config.eos_token_id, config.pad_token_id
                ),
            ));
        }
        let model = MarianModel::load(config, &weights_file, format)?;
        let load_seconds = start.elapsed().as_secs_f64();
        tracing::info!(
            "loaded Marian model {} ({} weights, {}) in {load_seconds:.1}s",
            dir.display(),
            format.as_str(),
            crate::util::progress::human_bytes(model.weight_bytes() as u64)
        );
        Ok(Self {
            model,
            source_spm,
            target_spm,
            vocab,
            dir: dir.to_path_buf(),
            weights_file,
            pair,
            load_seconds,
        })
    }

    /// Source model ids of `text` (NFC-normalized by the tokenizer), ending
    /// with `</s>`; cut to the model's positions (keeping `</s>`) when longer,
    /// in which case the second value is true.
    pub fn encode_source(&self, text: &str) -> Result<(Vec<u32>, bool)> {
        let mut ids = self.vocab.encode(&self.source_spm, text)?;
        let max = self.model.max_positions();
        if ids.len() > max {
            ids.truncate(max - 1);
            ids.push(self.vocab.eos_id);
            return Ok((ids, true));
        }
        Ok((ids, false))
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        self.vocab.decode(ids)
    }
}

impl Seq2Seq for MarianModel {
    type Memory = Memory;
    type State = DecoderState;

    fn encode(&self, sources: &[&[u32]]) -> Result<Vec<Memory>> {
        MarianModel::encode(self, sources)
    }

    fn start(&self, _memory: &Memory) -> DecoderState {
        self.start_state()
    }

    fn step(
        &self,
        states: &mut [&mut DecoderState],
        memories: &[&Memory],
        tokens: &[u32],
    ) -> Result<Vec<f32>> {
        self.decode_step(states, memories, tokens)
    }

    fn vocab_size(&self) -> usize {
        self.target_vocab
    }

    fn start_token(&self) -> u32 {
        self.config.decoder_start_token_id
    }

    fn eos_token(&self) -> u32 {
        self.config.eos_token_id
    }

    fn suppressed_tokens(&self) -> Vec<u32> {
        // transformers' generation config for Marian: bad_words_ids = [[pad]].
        vec![self.config.pad_token_id]
    }

    fn max_target_positions(&self) -> usize {
        self.max_positions()
    }
}

#[cfg(test)]
mod tests;
