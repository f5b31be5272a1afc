//! Tests of [`super`]: the pickle bounds and regression inputs from fuzzing.

use super::*;
use std::io::Write;

fn uni(s: &str) -> Vec<u8> {
    let mut b = vec![b'X'];
    b.extend((s.len() as u32).to_le_bytes());
    b.extend(s.as_bytes());
    b
}

fn ints(xs: &[i32]) -> Vec<u8> {
    let mut b = vec![b'('];
    for x in xs {
        b.push(b'J');
        b.extend(x.to_le_bytes());
    }
    b.push(b't');
    b
}

const OD: &[u8] = b"ccollections\nOrderedDict\n";

/// One `_rebuild_tensor_v2` entry of a state dict, as torch pickles it.
fn entry(
    name: &str,
    storage: &str,
    key: &str,
    numel: i32,
    size: &[i32],
    stride: &[i32],
) -> Vec<u8> {
    let mut b = uni(name);
    b.extend(b"ctorch._utils\n_rebuild_tensor_v2\n(");
    b.push(b'(');
    b.extend(uni("storage"));
    b.extend(format!("ctorch\n{storage}\n").as_bytes());
    b.extend(uni(key));
    b.extend(uni("cpu"));
    b.push(b'J');
    b.extend(numel.to_le_bytes());
    b.extend(b"tQ");
    b.push(b'J');
    b.extend(0i32.to_le_bytes());
    b.extend(ints(size));
    b.extend(ints(stride));
    b.push(0x89);
    b.extend(OD);
    b.extend(b")RtR");
    b
}

/// A state dict pickle of `entries`.
fn state_dict(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut b = b"\x80\x02".to_vec();
    b.extend(OD);
    b.extend(b")R(");
    for e in entries {
        b.extend(e);
    }
    b.extend(b"u.");
    b
}

/// `pytorch_model.bin` bytes: `archive/data.pkl` and the storages.
fn torch_zip(pkl: &[u8], storages: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("archive/data.pkl", opts).unwrap();
    w.write_all(pkl).unwrap();
    for (key, data) in storages {
        w.start_file(format!("archive/data/{key}"), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn open(bytes: &[u8]) -> Result<TensorFile> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pytorch_model.bin");
    std::fs::write(&path, bytes).unwrap();
    TensorFile::open(&path)
}

fn open_err(bytes: &[u8]) -> String {
    match open(bytes) {
        Ok(_) => panic!("opened"),
        Err(e) => e.to_string(),
    }
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn pytorch_checkpoint_tensors_are_read() {
    let six = f32s(&[1., 2., 3., 4., 5., 6.]);
    let half: Vec<u8> = [0x3C00u16, 0x4000]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let pkl = state_dict(&[
        entry(
            "model.shared.weight",
            "FloatStorage",
            "0",
            6,
            &[2, 3],
            &[3, 1],
        ),
        // Fortran order: column-major [2, 3].
        entry("t", "FloatStorage", "0", 6, &[2, 3], &[1, 2]),
        entry("h", "HalfStorage", "1", 2, &[2], &[1]),
        entry("bools", "BoolStorage", "1", 2, &[2], &[1]),
    ]);
    let f = open(&torch_zip(&pkl, &[("0", &six), ("1", &half)])).unwrap();
    assert_eq!(
        f.get("shared.weight", &[2, 3]).unwrap(),
        [1., 2., 3., 4., 5., 6.]
    );
    assert_eq!(f.get("t", &[2, 3]).unwrap(), [1., 3., 5., 2., 4., 6.]);
    assert_eq!(f.get("h", &[2]).unwrap(), [1., 2.]);
    // Unsupported storage types are left out, as candle's reader does.
    assert!(f
        .get("bools", &[2])
        .unwrap_err()
        .to_string()
        .contains("is missing"));
}

/// Found by fuzzing (checkpoint_pth): a pickled string whose length
/// says 4 GB made candle's unpickler allocate 4 GB before reading it.
#[test]
fn a_huge_pickled_string_is_an_error() {
    let mut pkl = b"\x80\x02X".to_vec();
    pkl.extend(0xFFFF_FFF0u32.to_le_bytes());
    pkl.extend(b"abc.");
    let e = open_err(&torch_zip(&pkl, &[]));
    assert!(
        e.contains(
            "a string of 4294967280 bytes at byte 2 runs past the end of the pickle (4 bytes left)"
        ),
        "{e}"
    );
}

#[test]
fn a_pickle_that_copies_itself_exponentially_is_an_error() {
    // x = None; then 40 times x = (x, x) through the memo.
    let mut pkl = b"\x80\x02Nq\x00".to_vec();
    for _ in 0..40 {
        pkl.extend(b"h\x00h\x00\x86q\x00");
    }
    pkl.push(b'.');
    let e = open_err(&torch_zip(&pkl, &[]));
    assert!(
        e.contains("it would build more than 4194304 objects"),
        "{e}"
    );
    let mut deep = b"\x80\x02N".to_vec();
    deep.extend([0x85; 5000]);
    deep.push(b'.');
    let e = open_err(&torch_zip(&deep, &[]));
    assert!(e.contains("objects nested more than 256 deep"), "{e}");
    let e = open_err(&torch_zip(b"\x80\x02\x8a\xc8\x00.", &[]));
    assert!(e.contains("an integer of 200 bytes at byte 2"), "{e}");
}

#[test]
fn malformed_tensors_are_errors_naming_them() {
    // candle's reader panicked on a `_rebuild_tensor_v2` call with fewer
    // than four arguments (Vec::remove out of bounds).
    let mut short = uni("w");
    short.extend(b"ctorch._utils\n_rebuild_tensor_v2\n(K\x01K\x02tR");
    let e = open_err(&torch_zip(&state_dict(&[short]), &[]));
    assert!(
        e.contains("tensor `w`: _rebuild_tensor_v2's arguments has 2 items, expected 4"),
        "{e}"
    );
    // 2^31-1 cubed elements claimed, 8 bytes stored.
    let big = i32::MAX;
    let pkl = state_dict(&[entry(
        "w",
        "FloatStorage",
        "0",
        2,
        &[big, big, big],
        &[1, 1, 1],
    )]);
    let e = open_err(&torch_zip(&pkl, &[("0", &[0; 8])]));
    assert!(
        e.contains("tensor `w`: shape [2147483647, 2147483647, 2147483647] has too many elements"),
        "{e}"
    );
    let pkl = state_dict(&[entry(
        "w",
        "FloatStorage",
        "0",
        2,
        &[1 << 20, 1 << 20],
        &[1 << 20, 1],
    )]);
    let e = open_err(&torch_zip(&pkl, &[("0", &[0; 8])]));
    assert!(
        e.contains(
            "tensor `w`: needs 4398046511104 bytes of storage `archive/data/0`, which has 8"
        ),
        "{e}"
    );
    let pkl = state_dict(&[entry("w", "FloatStorage", "9", 2, &[2], &[1])]);
    let e = open_err(&torch_zip(&pkl, &[]));
    assert!(e.contains("tensor `w`: storage `archive/data/9`"), "{e}");
    let pkl = state_dict(&[entry("w", "FloatStorage", "0", 4, &[2, 2], &[4, 1])]);
    let e = open_err(&torch_zip(&pkl, &[("0", &[0; 16])]));
    assert!(
        e.contains("stride [4, 1] of shape [2, 2] is not contiguous"),
        "{e}"
    );
    let e = open_err(b"PK\x03\x04 not really a zip");
    assert!(
        e.contains("not a PyTorch checkpoint (a zip archive)"),
        "{e}"
    );
}

/// Files written by PyTorch's own `torch.save` (scripts/torch_fixtures.py):
/// tied weights sharing a storage, a view at a storage offset, a transposed
/// view, f16/bf16/f64/i64 storages, a 0-d tensor, a Parameter; every value
/// as torch itself reads it back.
#[test]
fn reads_what_torch_save_writes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let f = TensorFile::open(&dir.join("state_dict.bin")).unwrap();
    let tensors = expected["tensors"].as_object().unwrap();
    assert_eq!(tensors.len(), 12);
    assert_eq!(f.tensors.len(), tensors.len());
    for (name, t) in tensors {
        let dims: Vec<usize> = serde_json::from_value(t["dims"].clone()).unwrap();
        let want: Vec<f32> = serde_json::from_value(t["values"].clone()).unwrap();
        assert_eq!(f.get(name, &dims).unwrap(), want, "{name}");
    }
    // A view with a step is not dense: refused, naming the tensor.
    let err = TensorFile::open(&dir.join("strided.bin"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("model.strided") && err.contains("not contiguous"),
        "{err}"
    );
}
