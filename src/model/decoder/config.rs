//! What a decoder-only GGUF model is, read from its metadata: the family
//! (`general.architecture`) and the `{family}.*` hyper-parameters.
//!
//! The families differ in a handful of switches, all derived here so the
//! forward pass reads one [`DecoderConfig`]:
//!
//! | family | biases on q/k/v | q/k norm | norms after attention and MLP | activation | embeddings scaled | sliding-window layers | RoPE pairs in the file |
//! |---|---|---|---|---|---|---|---|
//! | `qwen2` | yes | no | no | SiLU | no | no | halves (NeoX) |
//! | `llama` | no | no | no | SiLU | no | no | adjacent (llama.cpp permutes q/k; undone at load) |
//! | `qwen3` | no | yes | no | SiLU | no | no | halves |
//! | `gemma3` | no | yes | yes | GELU (tanh) | by sqrt(hidden) | 5 of every 6 (own RoPE base 10,000) | halves |

use crate::format::gguf::GgufFile;
use crate::format::FormatError;
use crate::model::Result;

/// Decoder families with an implementation here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    Qwen2,
    Qwen3,
    Llama,
    Gemma3,
}

/// GGUF `general.architecture` values dich runs.
pub const SUPPORTED_ARCHITECTURES: &[&str] = &["qwen2", "qwen3", "llama", "gemma3"];

impl Architecture {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "qwen2" => Self::Qwen2,
            "qwen3" => Self::Qwen3,
            "llama" => Self::Llama,
            "gemma3" => Self::Gemma3,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Qwen2 => "qwen2",
            Self::Qwen3 => "qwen3",
            Self::Llama => "llama",
            Self::Gemma3 => "gemma3",
        }
    }
}

/// Hyper-parameters and family switches of one decoder.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DecoderConfig {
    pub architecture: Architecture,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    /// Per-head dimension of queries, keys and values (`attention.key_length`
    /// where given: Gemma 3 and Qwen3 do not use `hidden / heads`).
    pub head_dim: usize,
    pub max_position_embeddings: usize,
    pub rms_norm_eps: f64,
    /// RoPE base of the global (full-attention) layers.
    pub rope_theta: f32,
    /// Linear RoPE scaling of the global layers (positions divided by it).
    pub rope_scale: f32,
    /// RoPE base of the sliding-window layers.
    pub rope_theta_local: f32,
    /// Keys a sliding-window layer sees (itself included).
    pub sliding_window: Option<usize>,
    /// Every `n`-th layer (`i % n == n - 1`) is global, the others slide.
    pub sliding_pattern: usize,
    pub qk_norm: bool,
    pub post_norms: bool,
    pub gelu: bool,
    /// Embeddings are multiplied by this (Gemma: `sqrt(hidden)`).
    pub embed_scale: Option<f32>,
    /// Queries are multiplied by this before the usual `1/sqrt(head_dim)`
    /// (Gemma 3 27B scales by `hidden / heads` instead of `head_dim`).
    pub query_scale: Option<f32>,
    /// The file stores q/k rows for RoPE on adjacent pairs (llama.cpp's
    /// permutation of Llama checkpoints); the loader restores halves.
    pub rope_adjacent_pairs: bool,
    /// Per-frequency divisors of the global layers' RoPE (`rope_freqs.weight`,
    /// Llama 3.1's long-context scaling), set by the loader.
    #[serde(skip)]
    pub rope_freq_factors: Option<Vec<f32>>,
    /// Q4_K/Q5_K/Q6_K on dich's AVX2 kernels rather than candle's (set by
    /// the loader from the machine's RAM; see `own_kquant_kernels`).
    #[serde(skip)]
    pub own_kquant_kernels: bool,
}

impl DecoderConfig {
    pub fn from_gguf(g: &GgufFile) -> Result<Self> {
        let name = g.architecture()?;
        let Some(architecture) = Architecture::from_name(&name) else {
            return Err(FormatError::UnsupportedArchitecture {
                path: g.path.clone(),
                architecture: name,
                supported: SUPPORTED_ARCHITECTURES.join(", "),
            }
            .into());
        };
        let a = architecture.name();
        let key = |k: &str| format!("{a}.{k}");
        let hidden_size = g.md_u32(&key("embedding_length"))? as usize;
        let num_attention_heads = g.md_u32(&key("attention.head_count"))? as usize;
        // Absent means no grouping (llama.cpp's default).
        let num_key_value_heads = match g.md_u32(&key("attention.head_count_kv")) {
            Ok(n) => n as usize,
            Err(_) if !g.metadata().contains_key(&key("attention.head_count_kv")) => {
                num_attention_heads
            }
            Err(e) => return Err(e.into()),
        };
        let head_dim = match g.metadata().get(&key("attention.key_length")) {
            Some(_) => g.md_u32(&key("attention.key_length"))? as usize,
            None if num_attention_heads > 0 => hidden_size / num_attention_heads,
            None => 0,
        };
        if g.metadata().contains_key(&key("attention.value_length")) {
            let v = g.md_u32(&key("attention.value_length"))? as usize;
            if v != head_dim {
                return Err(invalid(
                    g,
                    format!("key length {head_dim} and value length {v} differ"),
                ));
            }
        }
        let gemma = architecture == Architecture::Gemma3;
        let num_hidden_layers = g.md_u32(&key("block_count"))? as usize;
        let rope_theta = optional_f32(g, &key("rope.freq_base"))?.unwrap_or(if gemma {
            1_000_000.0
        } else {
            10_000.0
        });
        let rope_scale = match g
            .metadata()
            .get(&key("rope.scaling.type"))
            .and_then(|v| v.to_string().ok())
            .map(String::as_str)
        {
            None | Some("none") => 1.0,
            Some("linear") => optional_f32(g, &key("rope.scaling.factor"))?.unwrap_or(1.0),
            Some(other) => {
                return Err(invalid(
                    g,
                    format!("RoPE scaling `{other}` is not supported (supported: linear)"),
                ))
            }
        };
        if let Some(d) = g.metadata().get(&key("rope.dimension_count")) {
            let d = d.to_u32().unwrap_or(0) as usize;
            if d != head_dim {
                return Err(invalid(
                    g,
                    format!("partial RoPE ({d} of {head_dim} dimensions) is not supported"),
                ));
            }
        }
        let sliding_window = if gemma {
            Some(g.md_u32(&key("attention.sliding_window"))? as usize)
        } else {
            None
        };
        let cfg = Self {
            architecture,
            hidden_size,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            max_position_embeddings: g.md_u32(&key("context_length"))? as usize,
            rms_norm_eps: g.md_f32(&key("attention.layer_norm_rms_epsilon"))? as f64,
            rope_theta,
            rope_scale,
            // llama.cpp's `rope_freq_base_train_swa` for Gemma 3.
            rope_theta_local: if gemma { 10_000.0 } else { rope_theta },
            sliding_window,
            sliding_pattern: if gemma { 6 } else { 1 },
            qk_norm: matches!(architecture, Architecture::Qwen3 | Architecture::Gemma3),
            post_norms: gemma,
            gelu: gemma,
            embed_scale: gemma.then(|| (hidden_size as f32).sqrt()),
            // llama.cpp: the 62-layer Gemma 3 (27B) scales queries by
            // 1/sqrt(hidden / heads), the others by 1/sqrt(head_dim).
            query_scale: (gemma && num_hidden_layers == 62 && num_attention_heads > 0).then(|| {
                (head_dim as f32).sqrt() / ((hidden_size / num_attention_heads) as f32).sqrt()
            }),
            rope_adjacent_pairs: architecture == Architecture::Llama,
            rope_freq_factors: None,
            own_kquant_kernels: false,
        };
        let heads_ok = cfg.num_attention_heads > 0
            && cfg.num_key_value_heads > 0
            && cfg.head_dim > 0
            && cfg.head_dim.is_multiple_of(2)
            && cfg
                .num_attention_heads
                .is_multiple_of(cfg.num_key_value_heads);
        if !heads_ok
            || cfg.num_hidden_layers == 0
            || cfg.max_position_embeddings == 0
            || cfg.sliding_window == Some(0)
        {
            return Err(invalid(
                g,
                format!("inconsistent {a} hyper-parameters: {cfg:?}"),
            ));
        }
        Ok(cfg)
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
    }

    pub fn q_dim(&self) -> usize {
        self.num_attention_heads * self.head_dim
    }

    pub fn kv_dim(&self) -> usize {
        self.num_key_value_heads * self.head_dim
    }

    /// Whether layer `i` attends within a sliding window (and which).
    pub fn window(&self, layer: usize) -> Option<usize> {
        let n = self.sliding_pattern.max(1);
        self.sliding_window.filter(|_| layer % n != n - 1)
    }

    /// Whether the family is the plain pre-norm SiLU decoder that the packed
    /// CPU body implements (Qwen2 and Llama).
    pub fn plain(&self) -> bool {
        !self.qk_norm
            && !self.post_norms
            && !self.gelu
            && self.embed_scale.is_none()
            && self.sliding_window.is_none()
            && self.query_scale.is_none()
            && self.rope_scale == 1.0
            && self.head_dim * self.num_attention_heads == self.hidden_size
    }

    /// RoPE inverse frequencies for a layer kind.
    pub fn inv_freq(&self, local: bool) -> Vec<f32> {
        let (theta, scale) = if local {
            (self.rope_theta_local, 1.0)
        } else {
            (self.rope_theta, self.rope_scale)
        };
        let d = self.head_dim;
        let factors = self.rope_freq_factors.as_deref().filter(|_| !local);
        (0..d)
            .step_by(2)
            .enumerate()
            .map(|(j, i)| {
                let f = factors.and_then(|f| f.get(j)).copied().unwrap_or(1.0);
                1f32 / theta.powf(i as f32 / d as f32) / scale / f
            })
            .collect()
    }
}

fn optional_f32(g: &GgufFile, key: &str) -> Result<Option<f32>> {
    if g.metadata().contains_key(key) {
        Ok(Some(g.md_f32(key)?))
    } else {
        Ok(None)
    }
}

fn invalid(g: &GgufFile, message: String) -> crate::model::ModelError {
    FormatError::InvalidModel {
        path: g.path.clone(),
        message,
    }
    .into()
}
