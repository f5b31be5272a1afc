//! `model.safetensors` as `TensorFile::open` loads it (JSON header, dtypes,
//! offsets), then a tensor looked up and converted to f32 values as the
//! Marian loader does.
#![no_main]

use libfuzzer_sys::fuzz_target;

use dich::format::checkpoint::TensorFile;

fuzz_target!(|data: &[u8]| {
    let path = dich_fuzz::scratch_file("model.safetensors", data);
    let Ok(f) = TensorFile::open(&path) else {
        return;
    };
    for name in ["a", "model.a", "final_logits_bias", "model.shared.weight"] {
        if let Some(t) = f.find(name) {
            let dims = t.dims().to_vec();
            let _ = f.get(name, &dims);
        }
    }
});
