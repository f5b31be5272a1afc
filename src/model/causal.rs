//! The decoder-only language model as the rest of dich sees it: a
//! [`CausalLm`] that feeds tokens after what a caller-owned [`KvCache`]
//! holds and returns next-token logits. Keeping the cache outside the model
//! is what lets a translator compute its instruction prefix once and start
//! every sentence from a copy.

use candle_core::{Device, Tensor};
use half::f16;

use super::Result;

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
    /// Keys and values as f16, token-major (see [`crate::kernels::attention`]).
    Host {
        k: Vec<f16>,
        v: Vec<f16>,
    },
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

    /// Bytes of keys and values held (what a copy of it costs).
    pub fn bytes(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| match l {
                LayerKv::Host { k, v } => ((k.len() + v.len()) * 2) as u64,
                LayerKv::Device(Some((k, v))) => {
                    ((k.elem_count() + v.elem_count()) * k.dtype().size_in_bytes()) as u64
                }
                LayerKv::Device(None) => 0,
            })
            .sum()
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
