//! SentencePiece model files (`source.spm`, `target.spm` of OPUS-MT / Marian
//! checkpoints) read in pure Rust, without Python conversion and without the
//! C++ library, and turned into a `tokenizers::Tokenizer` that encodes as
//! sentencepiece does; plus `MarianVocab`, the mapping between sentencepiece
//! pieces and a Marian model's own ids (its `vocab.json`).
//!
//! The file is a protobuf `ModelProto`. Only the fields that encoding needs
//! are read (pieces, trainer spec ids and model type, normalizer spec);
//! everything else is skipped by wire type. Every malformed input is an
//! `FormatError::SentencePiece` naming the file and the byte offset.

use std::collections::HashSet;
use std::path::Path;

use super::{FormatError, Result};

mod tokenizer;
mod vocab;

pub use tokenizer::SpmTokenizer;
pub use vocab::MarianVocab;

/// sentencepiece's whitespace symbol (U+2581).
pub const SPACE: char = '\u{2581}';

/// Nesting of protobuf groups we follow before calling a file malformed.
const MAX_GROUP_DEPTH: usize = 64;

/// `SentencePiece.Type` in sentencepiece_model.proto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceKind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub piece: String,
    pub score: f32,
    pub kind: PieceKind,
}

/// `TrainerSpec.ModelType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelType {
    Unigram,
    Bpe,
    Word,
    Char,
}

/// The trainer fields that encoding depends on, with proto2 defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerSpec {
    pub model_type: ModelType,
    pub byte_fallback: bool,
    pub unk_id: i32,
    pub bos_id: i32,
    pub eos_id: i32,
    pub pad_id: i32,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        TrainerSpec {
            model_type: ModelType::Unigram,
            byte_fallback: false,
            unk_id: 0,
            bos_id: 1,
            eos_id: 2,
            pad_id: -1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NormalizerSpec {
    pub name: String,
    pub precompiled_charsmap: Vec<u8>,
    pub add_dummy_prefix: bool,
    pub remove_extra_whitespaces: bool,
    pub escape_whitespaces: bool,
}

impl Default for NormalizerSpec {
    fn default() -> Self {
        NormalizerSpec {
            name: String::new(),
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

/// A parsed `ModelProto`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpmModel {
    pub pieces: Vec<Piece>,
    pub trainer: TrainerSpec,
    pub normalizer: NormalizerSpec,
}

impl SpmModel {
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| FormatError::io(path, e))?;
        Self::parse(&bytes, path)
    }

    /// Parses a `ModelProto`; `path` only names the file in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        let mut model = SpmModel {
            pieces: Vec::new(),
            trainer: TrainerSpec::default(),
            normalizer: NormalizerSpec::default(),
        };
        if bytes.is_empty() {
            return Err(malformed(path, 0, "the file is empty"));
        }
        let mut r = Reader::new(bytes, 0, path);
        let mut model_type_at = None;
        let mut piece_at = Vec::new();
        while let Some((field, wire, at)) = r.key()? {
            match (field, wire) {
                (1, WIRE_LEN) => {
                    piece_at.push(at);
                    let (body, start) = r.bytes()?;
                    model
                        .pieces
                        .push(parse_piece(Reader::new(body, start, path))?);
                }
                (2, WIRE_LEN) => {
                    let (body, start) = r.bytes()?;
                    let mut t = Reader::new(body, start, path);
                    if let Some(at) = parse_trainer(&mut t, &mut model.trainer)? {
                        model_type_at = Some(at);
                    }
                }
                (3, WIRE_LEN) => {
                    let (body, start) = r.bytes()?;
                    parse_normalizer(Reader::new(body, start, path), &mut model.normalizer)?;
                }
                (1..=3, _) => return Err(r.wrong_wire(field, wire, at)),
                _ => r.skip(field, wire, 0)?,
            }
        }
        if model.trainer.model_type != ModelType::Unigram {
            return Err(malformed(
                path,
                model_type_at.unwrap_or(0),
                format!(
                    "model type {:?} is not supported (only unigram models, as used by OPUS-MT)",
                    model.trainer.model_type
                ),
            ));
        }
        model.check(path, &piece_at)?;
        Ok(model)
    }

    /// What sentencepiece itself refuses when it loads a model.
    /// `piece_at` holds the file offset of each piece, for errors.
    fn check(&self, path: &Path, piece_at: &[usize]) -> Result<()> {
        if self.pieces.is_empty() {
            return Err(malformed(path, 0, "the model has no pieces"));
        }
        let mut seen = HashSet::new();
        for (id, p) in self.pieces.iter().enumerate() {
            let end = piece_at.get(id).copied().unwrap_or(0);
            if p.piece.is_empty() {
                return Err(malformed(path, end, format!("piece {id} is empty")));
            }
            if !p.score.is_finite() {
                return Err(malformed(
                    path,
                    end,
                    format!("piece {id} `{}` has score {}", p.piece, p.score),
                ));
            }
            if !seen.insert(p.piece.as_str()) {
                return Err(malformed(
                    path,
                    end,
                    format!("piece `{}` is defined twice", p.piece),
                ));
            }
        }
        let unk = self.trainer.unk_id;
        let unk_kind = usize::try_from(unk)
            .ok()
            .and_then(|i| self.pieces.get(i))
            .map(|p| p.kind);
        if unk_kind != Some(PieceKind::Unknown) {
            return Err(malformed(
                path,
                0,
                format!("unk_id {unk} is not a piece of type UNKNOWN"),
            ));
        }
        let unknowns = self
            .pieces
            .iter()
            .filter(|p| p.kind == PieceKind::Unknown)
            .count();
        if unknowns != 1 {
            return Err(malformed(
                path,
                0,
                format!("{unknowns} pieces of type UNKNOWN; exactly one is needed"),
            ));
        }
        if !self.normalizer.escape_whitespaces {
            return Err(malformed(
                path,
                0,
                "escape_whitespaces=false is not supported",
            ));
        }
        Ok(())
    }
}

fn malformed(path: &Path, offset: usize, message: impl Into<String>) -> FormatError {
    FormatError::SentencePiece {
        path: path.to_path_buf(),
        offset,
        message: message.into(),
    }
}

const WIRE_VARINT: u8 = 0;
const WIRE_FIXED64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_GROUP_START: u8 = 3;
const WIRE_GROUP_END: u8 = 4;
const WIRE_FIXED32: u8 = 5;

/// A protobuf message body; `base` is the file offset of `buf[0]`, so errors
/// point into the file.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize, path: &'a Path) -> Self {
        Reader {
            buf,
            pos: 0,
            base,
            path,
        }
    }

    fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn err(&self, at: usize, message: impl Into<String>) -> FormatError {
        malformed(self.path, at, message)
    }

    fn wrong_wire(&self, field: u32, wire: u8, at: usize) -> FormatError {
        self.err(at, format!("field {field} has unexpected wire type {wire}"))
    }

    fn varint(&mut self) -> Result<u64> {
        let start = self.offset();
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.err(start, "truncated varint"));
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.err(start, "varint longer than 10 bytes"))
    }

    /// The next field key as (field number, wire type, offset of the key),
    /// or `None` at the end of the message.
    fn key(&mut self) -> Result<Option<(u32, u8, usize)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let at = self.offset();
        let key = self.varint()?;
        let field = key >> 3;
        let wire = (key & 7) as u8;
        if field == 0 || field > u64::from(u32::MAX >> 3) {
            return Err(self.err(at, format!("invalid field number {field}")));
        }
        Ok(Some((field as u32, wire, at)))
    }

    fn take(&mut self, n: usize, what: &str) -> Result<(&'a [u8], usize)> {
        let start = self.offset();
        let left = self.buf.len() - self.pos;
        if n > left {
            return Err(self.err(
                start,
                format!("{what} of {n} bytes runs past the end ({left} bytes left)"),
            ));
        }
        let slice = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok((slice, start))
    }

    /// A length-delimited field's body and its file offset.
    fn bytes(&mut self) -> Result<(&'a [u8], usize)> {
        let at = self.offset();
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| self.err(at, format!("length {len}")))?;
        self.take(len, "length-delimited field")
    }

    fn fixed32(&mut self) -> Result<u32> {
        let (b, _) = self.take(4, "fixed32 field")?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self) -> Result<String> {
        let (body, start) = self.bytes()?;
        String::from_utf8(body.to_vec()).map_err(|e| {
            self.err(
                start + e.utf8_error().valid_up_to(),
                "string is not valid UTF-8",
            )
        })
    }

    /// protobuf int32: a varint, negative values sign-extended to 64 bits.
    fn int32(&mut self) -> Result<i32> {
        Ok(self.varint()? as i64 as i32)
    }

    fn bool(&mut self) -> Result<bool> {
        Ok(self.varint()? != 0)
    }

    /// Skips one field of any wire type (groups included, up to a depth).
    fn skip(&mut self, field: u32, wire: u8, depth: usize) -> Result<()> {
        let at = self.offset();
        match wire {
            WIRE_VARINT => {
                self.varint()?;
            }
            WIRE_FIXED64 => {
                self.take(8, "fixed64 field")?;
            }
            WIRE_LEN => {
                self.bytes()?;
            }
            WIRE_FIXED32 => {
                self.take(4, "fixed32 field")?;
            }
            WIRE_GROUP_START => {
                if depth >= MAX_GROUP_DEPTH {
                    return Err(self.err(at, "groups nested too deeply"));
                }
                loop {
                    let Some((f, w, key_at)) = self.key()? else {
                        return Err(self.err(at, format!("group {field} is not closed")));
                    };
                    if w == WIRE_GROUP_END {
                        if f == field {
                            break;
                        }
                        return Err(self.err(key_at, format!("group {field} closed as {f}")));
                    }
                    self.skip(f, w, depth + 1)?;
                }
            }
            WIRE_GROUP_END => {
                return Err(self.err(at, format!("end of group {field} without a start")));
            }
            _ => return Err(self.err(at, format!("invalid wire type {wire}"))),
        }
        Ok(())
    }
}

fn parse_piece(mut r: Reader) -> Result<Piece> {
    let start = r.offset();
    let mut piece = None;
    let mut score = 0.0f32;
    let mut kind = PieceKind::Normal;
    while let Some((field, wire, at)) = r.key()? {
        match (field, wire) {
            (1, WIRE_LEN) => piece = Some(r.string()?),
            (2, WIRE_FIXED32) => score = f32::from_bits(r.fixed32()?),
            (3, WIRE_VARINT) => {
                kind = match r.varint()? {
                    1 => PieceKind::Normal,
                    2 => PieceKind::Unknown,
                    3 => PieceKind::Control,
                    4 => PieceKind::UserDefined,
                    5 => PieceKind::Unused,
                    6 => PieceKind::Byte,
                    other => return Err(r.err(at, format!("unknown piece type {other}"))),
                }
            }
            (1..=3, _) => return Err(r.wrong_wire(field, wire, at)),
            _ => r.skip(field, wire, 0)?,
        }
    }
    let piece = piece.ok_or_else(|| r.err(start, "a piece has no text"))?;
    Ok(Piece { piece, score, kind })
}

/// Fills `spec` (protobuf merges repeated messages); returns the offset of
/// the model_type field when there is one.
fn parse_trainer(r: &mut Reader, spec: &mut TrainerSpec) -> Result<Option<usize>> {
    let mut model_type_at = None;
    while let Some((field, wire, at)) = r.key()? {
        match (field, wire) {
            (3, WIRE_VARINT) => {
                model_type_at = Some(at);
                spec.model_type = match r.varint()? {
                    1 => ModelType::Unigram,
                    2 => ModelType::Bpe,
                    3 => ModelType::Word,
                    4 => ModelType::Char,
                    other => return Err(r.err(at, format!("unknown model type {other}"))),
                };
            }
            (35, WIRE_VARINT) => spec.byte_fallback = r.bool()?,
            (40, WIRE_VARINT) => spec.unk_id = r.int32()?,
            (41, WIRE_VARINT) => spec.bos_id = r.int32()?,
            (42, WIRE_VARINT) => spec.eos_id = r.int32()?,
            (43, WIRE_VARINT) => spec.pad_id = r.int32()?,
            (3 | 35 | 40..=43, _) => return Err(r.wrong_wire(field, wire, at)),
            _ => r.skip(field, wire, 0)?,
        }
    }
    Ok(model_type_at)
}

fn parse_normalizer(mut r: Reader, spec: &mut NormalizerSpec) -> Result<()> {
    while let Some((field, wire, at)) = r.key()? {
        match (field, wire) {
            (1, WIRE_LEN) => spec.name = r.string()?,
            (2, WIRE_LEN) => {
                let (body, start) = r.bytes()?;
                check_charsmap(body)
                    .map_err(|m| r.err(start, format!("precompiled_charsmap is malformed: {m}")))?;
                spec.precompiled_charsmap = body.to_vec();
            }
            (3, WIRE_VARINT) => spec.add_dummy_prefix = r.bool()?,
            (4, WIRE_VARINT) => spec.remove_extra_whitespaces = r.bool()?,
            (5, WIRE_VARINT) => spec.escape_whitespaces = r.bool()?,
            (1..=5, _) => return Err(r.wrong_wire(field, wire, at)),
            _ => r.skip(field, wire, 0)?,
        }
    }
    Ok(())
}

/// The charsmap is a darts-clone double array (a u32 byte size, the units,
/// then the NUL-separated normalized strings). `spm_precompiled` indexes it
/// without bounds checks, so every state its lookups can reach is walked
/// here first: a malformed map is an error, never a panic at encode time.
fn check_charsmap(map: &[u8]) -> std::result::Result<(), String> {
    if map.is_empty() {
        return Ok(());
    }
    let Some(size) = map.get(..4) else {
        return Err("shorter than its 4-byte header".into());
    };
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
    let n_units = size / 4;
    let Some(units) = map.get(4..4 + n_units * 4) else {
        return Err(format!("trie of {size} bytes runs past the end"));
    };
    let units: Vec<usize> = units
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let normalized =
        std::str::from_utf8(&map[4 + n_units * 4..]).map_err(|_| "strings are not UTF-8")?;
    let offset = |u: usize| (u >> 10) << ((u & (1 << 9)) >> 6);
    let label = |u: usize| u & ((1 << 31) | 0xff);
    let Some(&root) = units.first() else {
        return Err("empty trie".into());
    };
    let mut todo = vec![offset(root)];
    let mut seen = HashSet::new();
    while let Some(state) = todo.pop() {
        if !seen.insert(state) {
            continue;
        }
        for c in 1..=255usize {
            let pos = state ^ c;
            let Some(&unit) = units.get(pos) else {
                return Err(format!("trie index {pos} out of range"));
            };
            if label(unit) != c {
                continue;
            }
            let next = pos ^ offset(unit);
            if (unit >> 8) & 1 == 1 {
                let Some(&leaf) = units.get(next) else {
                    return Err(format!("trie leaf {next} out of range"));
                };
                let value = leaf & ((1 << 31) - 1);
                if !normalized.is_char_boundary(value) {
                    return Err(format!("string offset {value} out of range"));
                }
            }
            todo.push(next);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
