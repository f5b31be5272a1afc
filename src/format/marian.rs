//! The files of a Marian (OPUS-MT) checkpoint directory in the Hugging Face
//! layout: which files make one ([`MarianFiles`]), its `config.json` read
//! into candle's Marian `Config` (with transformers' defaults for fields
//! older configs lack), and the language pair its `tokenizer_config.json`
//! states.

use std::path::{Path, PathBuf};

use candle_nn::Activation;
use candle_transformers::models::marian::Config;

use super::{FormatError, Result};
use crate::types::{Lang, LangPair};

fn invalid(path: &Path, message: impl Into<String>) -> FormatError {
    FormatError::InvalidCheckpoint {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The files of a Marian model directory in the Hugging Face layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarianFiles {
    pub config: PathBuf,
    /// `model.safetensors`, else `pytorch_model.bin`.
    pub weights: PathBuf,
    pub source_spm: PathBuf,
    pub target_spm: PathBuf,
    pub vocab: PathBuf,
    /// `generation_config.json`, when there is one.
    pub generation_config: Option<PathBuf>,
    /// `tokenizer_config.json` (it states the language pair), when there is one.
    pub tokenizer_config: Option<PathBuf>,
}

impl MarianFiles {
    /// Weights file names, in order of preference.
    pub const WEIGHTS: [&'static str; 2] = ["model.safetensors", "pytorch_model.bin"];

    /// Whether `dir` holds a `config.json` whose `model_type` is `marian`.
    pub fn is_marian_dir(dir: &Path) -> bool {
        std::fs::read(dir.join("config.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|c| c["model_type"] == "marian")
    }

    /// The files of `dir`; an error names the directory and the first
    /// missing file.
    pub fn find(dir: &Path) -> Result<Self> {
        let missing = |what: &str| {
            FormatError::InvalidModelDir {
            path: dir.to_path_buf(),
            message: format!(
                "{what} is missing (a Marian model directory holds config.json, model.safetensors or pytorch_model.bin, source.spm, target.spm and vocab.json)"
            ),
        }
        };
        let need = |name: &str| {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(missing(name))
            }
        };
        Ok(Self {
            config: need("config.json")?,
            weights: Self::WEIGHTS
                .iter()
                .map(|n| dir.join(n))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    missing("the weights file (model.safetensors or pytorch_model.bin)")
                })?,
            source_spm: need("source.spm")?,
            target_spm: need("target.spm")?,
            vocab: need("vocab.json")?,
            generation_config: Some(dir.join("generation_config.json")).filter(|p| p.is_file()),
            tokenizer_config: Some(dir.join("tokenizer_config.json")).filter(|p| p.is_file()),
        })
    }

    /// The language pair `tokenizer_config.json` states (`source_lang`,
    /// `target_lang`, as transformers' Marian converter writes them), or
    /// `None` when the directory has no such file or the file names no
    /// languages. Languages other than Vietnamese and English are an error.
    pub fn language_pair(&self) -> Result<Option<LangPair>> {
        let Some(path) = &self.tokenizer_config else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| FormatError::io(path, e))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| invalid(path, format!("not JSON: {e}")))?;
        let code = |k: &str| v.get(k).and_then(|c| c.as_str()).map(str::to_string);
        let (Some(source), Some(target)) = (code("source_lang"), code("target_lang")) else {
            return Ok(None);
        };
        match (Lang::parse(&source), Lang::parse(&target)) {
            (Some(from), Some(to)) if from != to => Ok(Some(LangPair { from, to })),
            _ => Err(invalid(
                path,
                format!(
                    "the model translates `{source}` -> `{target}`; dich translates between Vietnamese (vi) and English (en)"
                ),
            )),
        }
    }
}

/// Reads `config.json` into candle's Marian `Config`. Fields that older
/// checkpoints lack get the values transformers' `MarianConfig` defaults to.
pub fn load_config(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| FormatError::io(path, e))?;
    parse_config(&text, path)
}

pub fn parse_config(text: &str, path: &Path) -> Result<Config> {
    let mut v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(path, format!("not JSON: {e}")))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| invalid(path, "not a JSON object"))?;
    match obj.get("model_type").and_then(|t| t.as_str()) {
        Some("marian") | None => {}
        Some(other) => {
            return Err(invalid(
                path,
                format!("model_type is `{other}`, this loader reads `marian`"),
            ))
        }
    }
    let get_u = |o: &serde_json::Map<String, serde_json::Value>, k: &str| o.get(k).cloned();
    let defaults: [(&str, Option<serde_json::Value>); 8] = [
        ("use_cache", Some(true.into())),
        ("is_encoder_decoder", Some(true.into())),
        ("share_encoder_decoder_embeddings", Some(true.into())),
        ("scale_embedding", Some(false.into())),
        ("max_position_embeddings", Some(1024.into())),
        ("activation_function", Some("gelu".into())),
        ("forced_eos_token_id", get_u(obj, "eos_token_id")),
        ("decoder_start_token_id", get_u(obj, "pad_token_id")),
    ];
    for (k, val) in defaults {
        let missing = obj.get(k).is_none_or(|x| x.is_null());
        if let (true, Some(val)) = (missing, val) {
            obj.insert(k.to_string(), val);
        }
    }
    let cfg: Config = serde_json::from_value(v).map_err(|e| invalid(path, e.to_string()))?;
    if cfg.d_model == 0
        || cfg.encoder_attention_heads == 0
        || cfg.decoder_attention_heads == 0
        || !cfg.d_model.is_multiple_of(cfg.encoder_attention_heads)
        || !cfg.d_model.is_multiple_of(cfg.decoder_attention_heads)
    {
        return Err(invalid(
            path,
            format!(
                "d_model {} is not divisible by the attention heads ({} / {})",
                cfg.d_model, cfg.encoder_attention_heads, cfg.decoder_attention_heads
            ),
        ));
    }
    act_supported(cfg.activation_function).map_err(|m| invalid(path, m))?;
    if cfg.max_position_embeddings < 2 {
        return Err(invalid(
            path,
            format!(
                "max_position_embeddings is {}, at least 2 are needed",
                cfg.max_position_embeddings
            ),
        ));
    }
    let vocab = cfg.decoder_vocab_size.unwrap_or(cfg.vocab_size);
    for (name, id) in [
        ("pad_token_id", cfg.pad_token_id),
        ("eos_token_id", cfg.eos_token_id),
        ("decoder_start_token_id", cfg.decoder_start_token_id),
    ] {
        if id as usize >= vocab {
            return Err(invalid(
                path,
                format!("{name} {id} is outside the vocabulary of {vocab}"),
            ));
        }
    }
    Ok(cfg)
}

fn act_supported(a: Activation) -> std::result::Result<(), String> {
    match a {
        Activation::Swish
        | Activation::Silu
        | Activation::Relu
        | Activation::Gelu
        | Activation::NewGelu
        | Activation::GeluPytorchTanh => Ok(()),
        other => Err(format!(
            "activation {other:?} is not supported (swish, silu, relu, gelu, gelu_new)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_errors() {
        let p = Path::new("config.json");
        let cfg = parse_config(
            r#"{"model_type":"marian","vocab_size":10,"d_model":8,"encoder_layers":1,
            "decoder_layers":1,"encoder_attention_heads":2,"decoder_attention_heads":2,
            "encoder_ffn_dim":16,"decoder_ffn_dim":16,"activation_function":"swish",
            "pad_token_id":9,"eos_token_id":0,"max_position_embeddings":32}"#,
            p,
        )
        .unwrap();
        assert_eq!(cfg.decoder_start_token_id, 9);
        assert_eq!(cfg.forced_eos_token_id, 0);
        assert!(cfg.share_encoder_decoder_embeddings);
        let err = parse_config(r#"{"model_type":"bart"}"#, p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bart"), "{err}");
        let err = parse_config(
            r#"{"vocab_size":10,"d_model":9,"encoder_layers":1,"decoder_layers":1,
            "encoder_attention_heads":2,"decoder_attention_heads":2,"encoder_ffn_dim":16,
            "decoder_ffn_dim":16,"pad_token_id":9,"eos_token_id":0}"#,
            p,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("divisible"), "{err}");
        let err = parse_config(
            r#"{"vocab_size":10,"d_model":8,"encoder_layers":1,"decoder_layers":1,
            "encoder_attention_heads":2,"decoder_attention_heads":2,"encoder_ffn_dim":16,
            "decoder_ffn_dim":16,"pad_token_id":9,"eos_token_id":0,"max_position_embeddings":1}"#,
            p,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("max_position_embeddings"), "{err}");
        let err = parse_config("[1]", p).unwrap_err().to_string();
        assert!(err.contains("config.json"), "{err}");
    }

    #[test]
    fn the_language_pair_comes_from_tokenizer_config() {
        let dir = tempfile::tempdir().unwrap();
        let files = |json: Option<&str>| {
            let p = dir.path().join("tokenizer_config.json");
            match json {
                Some(j) => std::fs::write(&p, j).unwrap(),
                None => {
                    let _ = std::fs::remove_file(&p);
                }
            }
            MarianFiles {
                config: dir.path().join("config.json"),
                weights: dir.path().join("model.safetensors"),
                source_spm: dir.path().join("source.spm"),
                target_spm: dir.path().join("target.spm"),
                vocab: dir.path().join("vocab.json"),
                generation_config: None,
                tokenizer_config: Some(p).filter(|p| p.is_file()),
            }
        };
        assert_eq!(files(None).language_pair().unwrap(), None);
        let vi_en = files(Some(r#"{"source_lang": "vi", "target_lang": "en"}"#));
        assert_eq!(
            vi_en.language_pair().unwrap(),
            Some(LangPair {
                from: Lang::Vi,
                to: Lang::En
            })
        );
        let three = files(Some(r#"{"source_lang": "vie", "target_lang": "eng"}"#));
        assert_eq!(three.language_pair().unwrap().map(|p| p.to), Some(Lang::En));
        assert_eq!(files(Some("{}")).language_pair().unwrap(), None);
        let de = files(Some(r#"{"source_lang": "de", "target_lang": "en"}"#));
        let err = de.language_pair().unwrap_err().to_string();
        assert!(err.contains("`de` -> `en`"), "{err}");
        assert!(files(Some("not json")).language_pair().is_err());
    }
}
