//! GGUF header and metadata as `GgufFile::open` reads them (the file is
//! written to a scratch path), then every accessor a model loader uses: the
//! architecture, integer and float metadata, each tensor's bytes (memory
//! mapped) and each tensor read as a `QTensor`. A header claiming huge
//! tensors, strings or arrays must be an error, never a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

use candle_core::Device;
use dich::format::gguf::GgufFile;

fuzz_target!(|data: &[u8]| {
    let path = dich_fuzz::scratch_file("model.gguf", data);
    let Ok(mut g) = GgufFile::open(&path) else {
        return;
    };
    let _ = g.architecture();
    let keys: Vec<String> = g.metadata().keys().cloned().collect();
    for k in &keys {
        let _ = g.md_u32(k);
        let _ = g.md_f32(k);
    }
    let _ = g.part_paths();
    let names: Vec<String> = g.tensor_infos().map(|(n, _)| n.clone()).collect();
    for name in &names {
        assert!(g.has_tensor(name));
        if let Ok(Some((bytes, _dtype, _dims))) = g.tensor_bytes(name) {
            // Every byte of the tensor lies in the file.
            assert!(bytes.len() <= data.len());
            let _ = bytes.iter().fold(0u8, |a, b| a ^ b);
        }
        if let Ok(t) = g.tensor(name, &Device::Cpu) {
            let _ = t.dequantize(&Device::Cpu);
        }
    }
});
