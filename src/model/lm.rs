//! A GGUF chat model loaded with everything needed to prompt it: the
//! weights behind [`CausalLm`], the tokenizer built from the GGUF metadata,
//! the chat format and the tokens that end a turn.

use std::path::Path;
use std::time::Instant;

use candle_core::Device;

use super::causal::CausalLm;
use super::{device, qwen2, ModelError, Result};
use crate::format::gguf::GgufFile;
use crate::format::gguf_tokenizer::{self, TokenizerInfo};
use crate::format::FormatError;

/// Architectures with an implementation here (GGUF `general.architecture`).
pub const SUPPORTED_ARCHITECTURES: &[&str] = &["qwen2"];

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
            return Err(FormatError::UnsupportedArchitecture {
                path: path.to_path_buf(),
                architecture,
                supported: SUPPORTED_ARCHITECTURES.join(", "),
            }
            .into());
        }
        let (mut tokenizer, info) = gguf_tokenizer::from_gguf_metadata(g.metadata(), path)?;
        // Prompts insert control tokens by id; text never becomes one.
        tokenizer.set_encode_special_tokens(true);
        let chat = match info.chat_template.as_deref() {
            Some(t) if t.contains("<|im_start|>") => ChatFormat::ChatMl,
            // Qwen2 models are trained on ChatML even when a converter dropped the template.
            None if architecture == "qwen2" => ChatFormat::ChatMl,
            _ => {
                return Err(FormatError::InvalidModel {
                    path: path.to_path_buf(),
                    message: "unsupported chat template (supported: ChatML)".into(),
                }
                .into())
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
            return Err(FormatError::InvalidModel {
                path: path.to_path_buf(),
                message: "no end-of-turn token found in the vocabulary".into(),
            }
            .into());
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
            .map_err(ModelError::Tokenize)?;
        Ok(enc.get_ids().to_vec())
    }

    /// The id of a special token (e.g. `<|im_start|>`).
    pub fn special(&self, token: &str) -> Result<u32> {
        self.tokenizer.token_to_id(token).ok_or_else(|| {
            ModelError::Internal(format!("token `{token}` is not in the vocabulary"))
        })
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer
            .decode(ids, true)
            .map_err(ModelError::Tokenize)
    }
}
