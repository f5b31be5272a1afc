//! A `tokenizers::Tokenizer` built from a GGUF file's own metadata, as
//! llama.cpp stores it there (no tokenizer.json exists for these models):
//!
//! - `gpt2`: byte-level BPE with merges, split first by the pre-tokenizer
//!   the file names (`qwen2`, `llama-bpe` for Llama 3, `smollm`, `gpt2`).
//! - `llama`: SentencePiece BPE with scores (Gemma, Llama 2, Mistral):
//!   spaces become `▁`, adjacent pieces merge highest score first, unknown
//!   characters fall back to `<0xXX>` byte tokens. The scores are turned into
//!   merges (every split of a piece into two pieces, ranked by the score of
//!   the whole) so that the usual BPE algorithm makes the same choices.
//!
//! Control tokens (type 3) are special; user-defined ones (type 4) are
//! matched whole in the text, as llama.cpp does.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::unicode::NFC;
use tokenizers::normalizers::{Prepend, Replace};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PreTokenizerWrapper, SplitDelimiterBehavior,
    Tokenizer,
};

use super::{FormatError, Result};

/// The Qwen2 pre-tokenizer split, as in the model's upstream tokenizer.json.
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Llama 3's split (llama.cpp's `llama-bpe`): digits in runs of up to three.
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// GPT-2's split (also the second step of SmolLM2's, after single digits).
const GPT2_SPLIT: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// SentencePiece's visible space.
const SPM_SPACE: &str = "\u{2581}";

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

fn token_types(md: &HashMap<String, Value>, n: usize, path: &Path) -> Result<Vec<i32>> {
    let types: Vec<i32> = match md.get("tokenizer.ggml.token_type") {
        Some(v) => v
            .to_vec()
            .map_err(|_| bad(path, "`tokenizer.ggml.token_type` is not an array"))?
            .iter()
            .map(|t| t.to_i32())
            .collect::<candle_core::Result<_>>()
            .map_err(|_| bad(path, "`tokenizer.ggml.token_type` holds a non-integer"))?,
        None => vec![1; n],
    };
    if types.len() != n {
        return Err(bad(
            path,
            format!("{n} tokens but {} token types", types.len()),
        ));
    }
    Ok(types)
}

fn flag(md: &HashMap<String, Value>, key: &str) -> Option<bool> {
    md.get(key).and_then(|v| v.to_bool().ok())
}

/// Builds the tokenizer from GGUF metadata (`tokenizer.ggml.*`).
pub fn from_gguf_metadata(
    md: &HashMap<String, Value>,
    path: &Path,
) -> Result<(Tokenizer, TokenizerInfo)> {
    let model = get(md, "tokenizer.ggml.model", path)?
        .to_string()
        .map_err(|_| bad(path, "`tokenizer.ggml.model` is not a string"))?;
    let tokens = string_array(md, "tokenizer.ggml.tokens", path)?;
    let types = token_types(md, tokens.len(), path)?;
    let (mut tokenizer, default_bos) = match model.as_str() {
        "gpt2" => (byte_level_bpe(md, &tokens, path)?, false),
        "llama" => (sentencepiece_bpe(md, &tokens, &types, path)?, true),
        other => {
            return Err(bad(
                path,
                format!(
                    "tokenizer model `{other}` is not supported (supported: gpt2 byte-level BPE, \
                     llama SentencePiece BPE)"
                ),
            ))
        }
    };

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
        add_bos: flag(md, "tokenizer.ggml.add_bos_token").unwrap_or(default_bos),
        chat_template: md
            .get("tokenizer.chat_template")
            .and_then(|v| v.to_string().ok())
            .cloned(),
    };
    Ok((tokenizer, info))
}

/// `gpt2`: byte-level BPE with merges after the named pre-tokenizer split.
fn byte_level_bpe(
    md: &HashMap<String, Value>,
    tokens: &[String],
    path: &Path,
) -> Result<Tokenizer> {
    let pre = md
        .get("tokenizer.ggml.pre")
        .and_then(|v| v.to_string().ok())
        .map(String::as_str)
        .unwrap_or("default");
    let isolated = |re: &str| -> Result<PreTokenizerWrapper> {
        Ok(PreTokenizerWrapper::Split(
            Split::new(
                SplitPattern::Regex(re.to_string()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(|e| bad(path, format!("pre-tokenizer regex: {e}")))?,
        ))
    };
    let splits = match pre {
        "qwen2" => vec![isolated(QWEN2_SPLIT)?],
        "llama-bpe" | "llama3" => vec![isolated(LLAMA3_SPLIT)?],
        "smollm" => vec![isolated(r"\p{N}")?, isolated(GPT2_SPLIT)?],
        "gpt2" | "gpt-2" | "default" => vec![isolated(GPT2_SPLIT)?],
        other => {
            return Err(bad(
                path,
                format!(
                    "pre-tokenizer `{other}` is not supported (supported: qwen2, llama-bpe, smollm, gpt2)"
                ),
            ))
        }
    };

    let merges = string_array(md, "tokenizer.ggml.merges", path)?;
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

    let mut steps = splits;
    steps.push(PreTokenizerWrapper::ByteLevel(ByteLevel::new(
        false, false, false,
    )));
    let mut tokenizer = Tokenizer::new(bpe);
    // The upstream tokenizers NFC-normalize; so do we.
    tokenizer
        .with_normalizer(Some(NFC))
        .map_err(|e| bad(path, format!("normalizer: {e}")))?;
    tokenizer.with_pre_tokenizer(Some(Sequence::new(steps)));
    tokenizer.with_decoder(Some(ByteLevel::new(false, false, false)));
    Ok(tokenizer)
}

/// `llama`: SentencePiece BPE with scores, as llama.cpp's SPM tokenizer:
/// the text with spaces as `▁` (and one in front if the file asks for it),
/// adjacent pieces merged highest-scoring result first, characters outside
/// the vocabulary as `<0xXX>` bytes.
fn sentencepiece_bpe(
    md: &HashMap<String, Value>,
    tokens: &[String],
    types: &[i32],
    path: &Path,
) -> Result<Tokenizer> {
    let scores: Vec<f32> = get(md, "tokenizer.ggml.scores", path)?
        .to_vec()
        .map_err(|_| bad(path, "`tokenizer.ggml.scores` is not an array"))?
        .iter()
        .map(|v| v.to_f32())
        .collect::<candle_core::Result<_>>()
        .map_err(|_| bad(path, "`tokenizer.ggml.scores` holds a non-float"))?;
    if scores.len() != tokens.len() {
        return Err(bad(
            path,
            format!("{} tokens but {} scores", tokens.len(), scores.len()),
        ));
    }
    // Normal (1) and byte (6) pieces take part in merging; control,
    // user-defined and unknown ones are matched otherwise or never.
    const TOKEN_TYPE_NORMAL: i32 = 1;
    let mergeable = |i: usize| types[i] == TOKEN_TYPE_NORMAL;
    let vocab: tokenizers::models::bpe::Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let ids: HashMap<&str, usize> = tokens
        .iter()
        .enumerate()
        .filter(|&(i, _)| mergeable(i))
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    // Every split of a mergeable piece into two mergeable pieces, ranked
    // by the piece's score (highest first), ties by the lower id, as
    // llama.cpp's queue orders equal scores by position only when the
    // scores really tie.
    let mut ranked: Vec<(usize, usize, usize)> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if !mergeable(i) || t.chars().nth(1).is_none() {
            continue;
        }
        for (at, _) in t.char_indices().skip(1) {
            let (l, r) = t.split_at(at);
            if let (Some(&li), Some(&ri)) = (ids.get(l), ids.get(r)) {
                ranked.push((i, li, ri));
            }
        }
    }
    ranked.sort_by(|a, b| {
        scores[b.0]
            .total_cmp(&scores[a.0])
            .then(a.0.cmp(&b.0))
            .then(a.1.cmp(&b.1))
    });
    let merges: Vec<(String, String)> = ranked
        .into_iter()
        .map(|(_, l, r)| (tokens[l].clone(), tokens[r].clone()))
        .collect();
    let unk = optional_u32(md, "tokenizer.ggml.unknown_token_id")
        .and_then(|i| tokens.get(i as usize))
        .cloned();
    let mut builder = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(true);
    if let Some(unk) = unk {
        builder = builder.unk_token(unk);
    }
    let bpe = builder
        .build()
        .map_err(|e| bad(path, format!("BPE: {e}")))?;

    let space_prefix = flag(md, "tokenizer.ggml.add_space_prefix").unwrap_or(true);
    let replace =
        Replace::new(" ", SPM_SPACE).map_err(|e| bad(path, format!("normalizer: {e}")))?;
    let mut norms = vec![NormalizerWrapper::NFC(NFC)];
    if space_prefix {
        norms.push(NormalizerWrapper::Prepend(Prepend::new(SPM_SPACE.into())));
    }
    norms.push(NormalizerWrapper::Replace(replace));
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer
        .with_normalizer(Some(tokenizers::normalizers::Sequence::new(norms)))
        .map_err(|e| bad(path, format!("normalizer: {e}")))?;
    let mut decoders = vec![
        DecoderWrapper::Replace(
            Replace::new(SPM_SPACE, " ").map_err(|e| bad(path, format!("decoder: {e}")))?,
        ),
        DecoderWrapper::ByteFallback(ByteFallback::new()),
        DecoderWrapper::Fuse(Fuse::new()),
    ];
    if space_prefix {
        decoders.push(DecoderWrapper::Strip(Strip::new(' ', 1, 0)));
    }
    tokenizer.with_decoder(Some(DecoderSequence::new(decoders)));
    Ok(tokenizer)
}
