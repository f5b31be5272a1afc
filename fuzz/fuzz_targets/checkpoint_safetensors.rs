//! `model.safetensors` as `TensorFile::open` loads it (JSON header, dtypes,
//! offsets), then a tensor looked up and converted to f32 values as the
//! Marian loader does.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dich_fuzz::load_checkpoint("model.safetensors", data));
