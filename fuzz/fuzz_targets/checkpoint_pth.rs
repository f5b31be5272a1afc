//! `pytorch_model.bin` (a zip of pickled tensors) as `TensorFile::open`
//! loads it, then a tensor looked up and converted to f32 values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dich_fuzz::load_checkpoint("pytorch_model.bin", data));
