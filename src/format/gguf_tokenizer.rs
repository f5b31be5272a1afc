//! A `tokenizers::Tokenizer` built from a GGUF file's own metadata: the
//! byte-level BPE vocabulary, merges, token types and pre-tokenizer name that
//! llama.cpp stores there. No tokenizer.json exists for the default model.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior, Tokenizer};

use super::{FormatError, Result};

/// The Qwen2 pre-tokenizer split, as in the model's upstream tokenizer.json.
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// GGUF token types (llama.cpp's `llama_token_type`).
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// What a GGUF says about its tokenizer, beyond the `Tokenizer` itself.
#[derive(Debug, Clone)]
pub struct TokenizerInfo {
    pub eos_token_id: Option<u32>,
    pub bos_token_id: Option<u32>,
    pub add_bos: bool,
    pub chat_template: Option<String>,
}

fn get<'a>(md: &'a HashMap<String, Value>, key: &str, path: &Path) -> Result<&'a Value> {
    md.get(key).ok_or_else(|| FormatError::Tokenizer {
        path: path.to_path_buf(),
        message: format!("metadata key `{key}` is missing"),
    })
}

fn bad(path: &Path, message: impl Into<String>) -> FormatError {
    FormatError::Tokenizer {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn string_array(md: &HashMap<String, Value>, key: &str, path: &Path) -> Result<Vec<String>> {
    let values = get(md, key, path)?
        .to_vec()
        .map_err(|_| bad(path, format!("`{key}` is not an array")))?;
    values
        .iter()
        .map(|v| {
            v.to_string()
                .cloned()
                .map_err(|_| bad(path, format!("`{key}` holds a non-string")))
        })
        .collect()
}

fn optional_u32(md: &HashMap<String, Value>, key: &str) -> Option<u32> {
    md.get(key).and_then(|v| v.to_u32().ok())
}

/// Builds the tokenizer from GGUF metadata (`tokenizer.ggml.*`).
pub fn from_gguf_metadata(
    md: &HashMap<String, Value>,
    path: &Path,
) -> Result<(Tokenizer, TokenizerInfo)> {
    let model = get(md, "tokenizer.ggml.model", path)?
        .to_string()
        .map_err(|_| bad(path, "`tokenizer.ggml.model` is not a string"))?;
    if model != "gpt2" {
        return Err(bad(
            path,
            format!("tokenizer model `{model}` is not supported (supported: gpt2 byte-level BPE)"),
        ));
    }
    let pre = md
        .get("tokenizer.ggml.pre")
        .and_then(|v| v.to_string().ok())
        .map(String::as_str)
        .unwrap_or("default");
    let split = match pre {
        "qwen2" => QWEN2_SPLIT,
        other => {
            return Err(bad(
                path,
                format!("pre-tokenizer `{other}` is not supported (supported: qwen2)"),
            ))
        }
    };

    let tokens = string_array(md, "tokenizer.ggml.tokens", path)?;
    let merges = string_array(md, "tokenizer.ggml.merges", path)?;
    let types: Vec<i32> = match md.get("tokenizer.ggml.token_type") {
        Some(v) => v
            .to_vec()
            .map_err(|_| bad(path, "`tokenizer.ggml.token_type` is not an array"))?
            .iter()
            .map(|t| t.to_i32())
            .collect::<candle_core::Result<_>>()
            .map_err(|_| bad(path, "`tokenizer.ggml.token_type` holds a non-integer"))?,
        None => vec![1; tokens.len()],
    };
    if types.len() != tokens.len() {
        return Err(bad(
            path,
            format!("{} tokens but {} token types", tokens.len(), types.len()),
        ));
    }

    let vocab: tokenizers::models::bpe::Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let merges: Vec<(String, String)> = merges
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| bad(path, format!("merge {i} `{m}` is not two symbols")))
        })
        .collect::<Result<_>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| bad(path, format!("BPE: {e}")))?;

    let split = Split::new(
        SplitPattern::Regex(split.to_string()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map_err(|e| bad(path, format!("pre-tokenizer regex: {e}")))?;
    let pre_tokenizer = Sequence::new(vec![
        PreTokenizerWrapper::Split(split),
        PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, false)),
    ]);

    let mut tokenizer = Tokenizer::new(bpe);
    // The upstream Qwen2 tokenizer NFC-normalizes; so do we.
    tokenizer
        .with_normalizer(Some(NFC))
        .map_err(|e| bad(path, format!("normalizer: {e}")))?;
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer));
    tokenizer.with_decoder(Some(ByteLevel::new(false, false, false)));

    let added: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter_map(|(t, &ty)| match ty {
            TOKEN_TYPE_CONTROL => Some(AddedToken::from(t.clone(), true)),
            TOKEN_TYPE_USER_DEFINED => Some(AddedToken::from(t.clone(), false).normalized(false)),
            _ => None,
        })
        .collect();
    tokenizer
        .add_tokens(added)
        .map_err(|e| bad(path, format!("added tokens: {e}")))?;

    let info = TokenizerInfo {
        eos_token_id: optional_u32(md, "tokenizer.ggml.eos_token_id"),
        bos_token_id: optional_u32(md, "tokenizer.ggml.bos_token_id"),
        add_bos: md
            .get("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(false),
        chat_template: md
            .get("tokenizer.chat_template")
            .and_then(|v| v.to_string().ok())
            .cloned(),
    };
    Ok((tokenizer, info))
}
