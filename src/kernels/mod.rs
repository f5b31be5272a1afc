//! CPU kernels that know nothing of models: row operations and `e^x`
//! ([`vecmath`]), GGUF k-quant matrix products ([`kquant`], AVX-512 VNNI)
//! and 32-value block-type products ([`q32`], AVX2), grouped-query
//! attention over a token-major cache ([`attention`]), and the f32 and int8
//! matrix products of the Marian layers ([`sgemm`], [`igemm`]). Each keeps
//! one fixed order of floating-point operations per output element, so a
//! result never depends on how many rows are computed together.

pub mod attention;
pub mod igemm;
pub mod kquant;
pub mod q32;
pub mod sgemm;
pub mod vecmath;

/// A raw pointer handed to pool workers that write disjoint parts.
pub(crate) struct SyncPtr<T>(pub(crate) *mut T);
impl<T> Clone for SyncPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SyncPtr<T> {}
// SAFETY: only used to give workers disjoint parts of one buffer.
unsafe impl<T> Send for SyncPtr<T> {}
unsafe impl<T> Sync for SyncPtr<T> {}
impl<T> SyncPtr<T> {
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}
