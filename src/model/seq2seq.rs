//! The encoder-decoder model as decoding sees it: encode sources once, then
//! feed one token per hypothesis per step. Hypotheses that finish leave the
//! batch; beam search forks a hypothesis by cloning its state.

use super::Result;

/// An encoder-decoder model as decoding sees it.
pub trait Seq2Seq: Sync {
    /// What the encoder leaves for one source.
    type Memory: Send + Sync;
    /// One hypothesis' decoder cache.
    type State: Clone + Send;
    fn encode(&self, sources: &[&[u32]]) -> Result<Vec<Self::Memory>>;
    fn start(&self, memory: &Self::Memory) -> Self::State;
    /// Feeds `tokens[i]` to `states[i]` (attending to `memories[i]`) and
    /// returns the next-token logits, `[n][vocab]` row-major.
    fn step(
        &self,
        states: &mut [&mut Self::State],
        memories: &[&Self::Memory],
        tokens: &[u32],
    ) -> Result<Vec<f32>>;
    fn vocab_size(&self) -> usize;
    fn start_token(&self) -> u32;
    fn eos_token(&self) -> u32;
    /// Tokens never generated (e.g. padding).
    fn suppressed_tokens(&self) -> Vec<u32>;
    /// Longest target the model has positions for.
    fn max_target_positions(&self) -> usize;
}
