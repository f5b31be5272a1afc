//! Helpers shared by the fuzz targets.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A directory private to this fuzzing process, in `$DICH_FUZZ_SCRATCH`
/// (scripts/fuzz.sh sets it and removes it afterwards), else on tmpfs when
/// there is one, so parsers that take a path cost no disk I/O. libFuzzer
/// ends the process with `exit`, so nothing here removes it.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = match std::env::var_os("DICH_FUZZ_SCRATCH") {
            Some(dir) => PathBuf::from(dir),
            None if Path::new("/dev/shm").is_dir() => PathBuf::from("/dev/shm"),
            None => std::env::temp_dir(),
        };
        tempfile::Builder::new()
            .prefix("dich-fuzz-")
            .tempdir_in(base)
            .expect("a scratch directory")
            .keep()
    })
}

/// Writes `data` to `name` in the scratch directory and returns its path.
pub fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, data).expect("writing the scratch file");
    path
}

/// Splits one fuzz input into two byte strings: the first two bytes give
/// the length of the first part (little-endian, clamped), the rest is the
/// second part.
pub fn split2(data: &[u8]) -> (&[u8], &[u8]) {
    if data.len() < 2 {
        return (data, &[]);
    }
    let n = u16::from_le_bytes([data[0], data[1]]) as usize;
    let rest = &data[2..];
    let n = n.min(rest.len());
    rest.split_at(n)
}

/// Loads `data` as a checkpoint file called `name` (its name picks the
/// layout: `model.safetensors` or `pytorch_model.bin`) as `TensorFile::open`
/// does, then looks up a few tensors and converts them to f32 values as the
/// Marian loader does.
pub fn load_checkpoint(name: &str, data: &[u8]) {
    let path = scratch_file(name, data);
    let Ok(f) = dich::format::checkpoint::TensorFile::open(&path) else {
        return;
    };
    for name in ["a", "model.a", "final_logits_bias", "model.shared.weight"] {
        if let Some(t) = f.find(name) {
            let dims = t.dims().to_vec();
            let _ = f.get(name, &dims);
        }
    }
}
