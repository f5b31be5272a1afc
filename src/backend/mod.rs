//! Loading and running models. Architectures sit behind [`CausalLm`]; the
//! pipeline above never matches on model names. Which file to load is decided
//! by `crate::models`; which device, by [`device::select`].

pub mod attention;
pub mod batcher;
pub mod device;
pub mod embedder;
pub mod gguf;
pub mod kquant;
pub mod marian;
pub mod qwen2;
pub mod tokenizer;
pub mod vecmath;

use std::path::Path;
use std::time::Instant;

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};
use gguf::GgufFile;
pub use tokenizer::TokenizerInfo;

/// Architectures with an implementation here (GGUF `general.architecture`).
pub const SUPPORTED_ARCHITECTURES: &[&str] = &["qwen2"];

/// Per-sequence key/value state.
///
/// On the CPU each layer keeps its keys and values token-major in a growing
/// buffer (`[position][kv head][head dim]`): a step appends its rows in place
/// (amortized, no per-step concatenation) and attention reads them where
/// they are. Cloning copies the used part, which is how a computed prefix is
/// reused by every sentence. On an accelerator the layers hold device tensors
/// that are concatenated per step and shared on clone.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    pub(crate) layers: Vec<LayerKv>,
    pub(crate) len: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum LayerKv {
    Host { k: Vec<f32>, v: Vec<f32> },
    Device(Option<(Tensor, Tensor)>),
}

impl KvCache {
    /// An empty cache in host memory.
    pub fn host(num_layers: usize) -> Self {
        Self {
            layers: vec![
                LayerKv::Host {
                    k: Vec::new(),
                    v: Vec::new()
                };
                num_layers
            ],
            len: 0,
        }
    }

    /// An empty cache of device tensors.
    pub fn device(num_layers: usize) -> Self {
        Self {
            layers: vec![LayerKv::Device(None); num_layers],
            len: 0,
        }
    }

    /// Number of positions already processed.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A decoder-only language model.
pub trait CausalLm: Send + Sync {
    /// Feeds `tokens` after everything `cache` holds and returns the f32
    /// logits (`[vocab]`) for the next token.
    fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor>;
    /// Several sequences in one forward pass: each item's tokens are fed
    /// after what its own cache holds, and the result has one row of
    /// logits (`[batch, vocab]`) per item, in order. Weights are read once
    /// for the whole batch. A model without a batched path runs the items
    /// one by one. Implementations must be batch-invariant: a sequence's
    /// logits may not depend on the other items (this is what makes batched
    /// decoding give exactly the tokens of unbatched decoding). `forward`
    /// may use faster kernels that round differently.
    fn forward_batch(&self, batch: &mut [(&[u32], &mut KvCache)]) -> Result<Tensor> {
        let mut rows = Vec::with_capacity(batch.len());
        for (tokens, cache) in batch.iter_mut() {
            rows.push(self.forward(tokens, cache)?);
        }
        Ok(Tensor::stack(&rows, 0)?)
    }
    fn new_cache(&self) -> KvCache;
    fn context_length(&self) -> usize;
    fn vocab_size(&self) -> usize;
    fn device(&self) -> &Device;
}

/// The chat formats we can drive. Detected from the GGUF's chat template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatFormat {
    /// `<|im_start|>role\n...<|im_end|>\n`
    ChatMl,
}

/// A loaded causal LM with everything needed to prompt it.
pub struct LoadedLm {
    pub model: Box<dyn CausalLm>,
    /// Encodes special-token strings as plain text (see [`LoadedLm::encode_text`]).
    pub tokenizer: tokenizers::Tokenizer,
    pub info: TokenizerInfo,
    pub chat: ChatFormat,
    /// Tokens that end the assistant's turn.
    pub stop_tokens: Vec<u32>,
    pub architecture: String,
    pub load_seconds: f64,
}

impl LoadedLm {
    /// Loads a GGUF causal LM: checks the file, builds the tokenizer from its
    /// metadata, then the weights.
    pub fn from_gguf(path: &Path, device: &Device) -> Result<Self> {
        let start = Instant::now();
        let mut g = GgufFile::open(path)?;
        let architecture = g.architecture()?;
        if !SUPPORTED_ARCHITECTURES.contains(&architecture.as_str()) {
            return Err(Error::UnsupportedArchitecture {
                path: path.to_path_buf(),
                architecture,
                supported: SUPPORTED_ARCHITECTURES.join(", "),
            });
        }
        let (mut tokenizer, info) = tokenizer::from_gguf_metadata(g.metadata(), path)?;
        // Prompts insert control tokens by id; text never becomes one.
        tokenizer.set_encode_special_tokens(true);
        let chat = match info.chat_template.as_deref() {
            Some(t) if t.contains("<|im_start|>") => ChatFormat::ChatMl,
            // Qwen2 models are trained on ChatML even when a converter dropped the template.
            None if architecture == "qwen2" => ChatFormat::ChatMl,
            _ => {
                return Err(Error::InvalidModel {
                    path: path.to_path_buf(),
                    message: "unsupported chat template (supported: ChatML)".into(),
                })
            }
        };
        let mut stop_tokens: Vec<u32> = ["<|im_end|>", "<|endoftext|>"]
            .iter()
            .filter_map(|t| tokenizer.token_to_id(t))
            .collect();
        if let Some(eos) = info.eos_token_id {
            if !stop_tokens.contains(&eos) {
                stop_tokens.push(eos);
            }
        }
        if stop_tokens.is_empty() {
            return Err(Error::InvalidModel {
                path: path.to_path_buf(),
                message: "no end-of-turn token found in the vocabulary".into(),
            });
        }
        let model: Box<dyn CausalLm> = match architecture.as_str() {
            "qwen2" => Box::new(qwen2::Qwen2::load(&mut g, device)?),
            _ => unreachable!("checked against SUPPORTED_ARCHITECTURES above"),
        };
        let load_seconds = start.elapsed().as_secs_f64();
        tracing::info!(
            "loaded {} ({architecture}) on {} in {load_seconds:.1}s",
            path.display(),
            device::describe(device)
        );
        Ok(Self {
            model,
            tokenizer,
            info,
            chat,
            stop_tokens,
            architecture,
            load_seconds,
        })
    }

    /// Token ids of plain text. Special-token strings inside `text` (e.g. a
    /// `<|im_end|>` in an article) stay text: input can never inject control
    /// tokens into the prompt.
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(Error::Tokenize)?;
        Ok(enc.get_ids().to_vec())
    }

    /// The id of a special token (e.g. `<|im_start|>`).
    pub fn special(&self, token: &str) -> Result<u32> {
        self.tokenizer
            .token_to_id(token)
            .ok_or_else(|| Error::Internal(format!("token `{token}` is not in the vocabulary")))
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer.decode(ids, true).map_err(Error::Tokenize)
    }
}
