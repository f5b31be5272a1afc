//! A GGUF chat model loaded with everything needed to prompt it: the
//! weights behind [`CausalLm`], the tokenizer built from the GGUF metadata,
//! the chat format and the tokens that end a turn.

use std::path::Path;
use std::time::Instant;

use candle_core::Device;

use super::causal::CausalLm;
use super::decoder::{Architecture, Decoder, SUPPORTED_ARCHITECTURES};
use super::{device, ModelError, Result};
use crate::format::gguf::GgufFile;
use crate::format::gguf_tokenizer::{self, TokenizerInfo};
use crate::format::FormatError;

/// The chat formats we can drive, detected from the GGUF's
/// `tokenizer.chat_template` (or, without one, from the family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChatFormat {
    /// `<|im_start|>role\n...<|im_end|>\n` (Qwen, SmolLM2)
    ChatMl,
    /// `<|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>` (Llama 3)
    Llama3,
    /// `<start_of_turn>role\n...<end_of_turn>\n`, roles `user` and `model`,
    /// no system role (Gemma)
    Gemma,
}

impl ChatFormat {
    /// The format a chat template is written for, if we know it.
    pub fn from_template(template: &str) -> Option<Self> {
        if template.contains("<|im_start|>") {
            Some(Self::ChatMl)
        } else if template.contains("<|start_header_id|>") {
            Some(Self::Llama3)
        } else if template.contains("<start_of_turn>") {
            Some(Self::Gemma)
        } else {
            None
        }
    }

    /// The format of a family whose file carries no template.
    fn for_architecture(arch: Architecture) -> Option<Self> {
        match arch {
            Architecture::Qwen2 | Architecture::Qwen3 => Some(Self::ChatMl),
            Architecture::Gemma3 => Some(Self::Gemma),
            Architecture::Llama => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::ChatMl => "ChatML",
            Self::Llama3 => "Llama 3",
            Self::Gemma => "Gemma",
        }
    }

    /// Control tokens the format needs in the vocabulary.
    pub fn control_tokens(self) -> &'static [&'static str] {
        match self {
            Self::ChatMl => &["<|im_start|>", "<|im_end|>"],
            Self::Llama3 => &["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
            Self::Gemma => &["<start_of_turn>", "<end_of_turn>"],
        }
    }

    /// Tokens that end a reply (those present in the vocabulary count).
    fn stop_strings(self) -> &'static [&'static str] {
        match self {
            Self::ChatMl => &["<|im_end|>", "<|endoftext|>"],
            Self::Llama3 => &["<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"],
            Self::Gemma => &["<end_of_turn>", "<eos>"],
        }
    }
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
        let Some(arch) = Architecture::from_name(&architecture) else {
            return Err(FormatError::UnsupportedArchitecture {
                path: path.to_path_buf(),
                architecture,
                supported: SUPPORTED_ARCHITECTURES.join(", "),
            }
            .into());
        };
        let (mut tokenizer, info) = gguf_tokenizer::from_gguf_metadata(g.metadata(), path)?;
        // Prompts insert control tokens by id; text never becomes one.
        tokenizer.set_encode_special_tokens(true);
        let chat = match info.chat_template.as_deref() {
            Some(t) => ChatFormat::from_template(t).ok_or_else(|| {
                let head: String = t.chars().take(80).collect();
                FormatError::InvalidModel {
                    path: path.to_path_buf(),
                    message: format!(
                        "unsupported chat template (supported: ChatML, Llama 3, Gemma); it begins {head:?}"
                    ),
                }
            })?,
            None => ChatFormat::for_architecture(arch).ok_or_else(|| FormatError::InvalidModel {
                path: path.to_path_buf(),
                message: format!(
                    "the file has no chat template and {architecture} models use several; \
                     supported: ChatML, Llama 3, Gemma"
                ),
            })?,
        };
        for t in chat.control_tokens() {
            if tokenizer.token_to_id(t).is_none() {
                return Err(FormatError::InvalidModel {
                    path: path.to_path_buf(),
                    message: format!(
                        "the {} chat format needs the token `{t}`, which the vocabulary lacks",
                        chat.name()
                    ),
                }
                .into());
            }
        }
        let mut stop_tokens: Vec<u32> = chat
            .stop_strings()
            .iter()
            .filter_map(|t| tokenizer.token_to_id(t))
            .collect();
        if let Some(eos) = info.eos_token_id {
            if !stop_tokens.contains(&eos) {
                stop_tokens.push(eos);
            }
        }
        let model: Box<dyn CausalLm> = Box::new(Decoder::load(&mut g, device)?);
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
