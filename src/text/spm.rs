//! SentencePiece model files (`source.spm`, `target.spm` of OPUS-MT / Marian
//! checkpoints) read in pure Rust, without Python conversion and without the
//! C++ library, and turned into a `tokenizers::Tokenizer` that encodes as
//! sentencepiece does; plus `MarianVocab`, the mapping between sentencepiece
//! pieces and a Marian model's own ids (its `vocab.json`).
//!
//! The file is a protobuf `ModelProto`. Only the fields that encoding needs
//! are read (pieces, trainer spec ids and model type, normalizer spec);
//! everything else is skipped by wire type. Every malformed input is an
//! `Error::SentencePiece` naming the file and the byte offset.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::precompiled::Precompiled;
use tokenizers::normalizers::replace::{Replace, ReplacePattern};
use tokenizers::normalizers::unicode::NFC;
use tokenizers::normalizers::utils::Sequence;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::{Encoding, NormalizerWrapper, Tokenizer};

use crate::error::{Error, Result};

/// sentencepiece's whitespace symbol (U+2581).
pub const SPACE: char = '\u{2581}';

/// What sentencepiece's `decode` writes for the unknown piece.
const UNK_SURFACE: &str = " \u{2047} ";

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
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
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

fn malformed(path: &Path, offset: usize, message: impl Into<String>) -> Error {
    Error::SentencePiece {
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

    fn err(&self, at: usize, message: impl Into<String>) -> Error {
        malformed(self.path, at, message)
    }

    fn wrong_wire(&self, field: u32, wire: u8, at: usize) -> Error {
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

/// A sentencepiece Unigram model as a `tokenizers::Tokenizer`: the ids and
/// pieces are sentencepiece's own.
#[derive(Clone)]
pub struct SpmTokenizer {
    tokenizer: Tokenizer,
    pieces: Vec<Piece>,
    ids: HashMap<String, u32>,
    unk_id: u32,
}

impl SpmTokenizer {
    pub fn from_file(path: &Path) -> Result<Self> {
        Self::new(SpmModel::from_file(path)?, path)
    }

    /// Built as transformers' `SpmConverter` does (Precompiled normalizer,
    /// Metaspace), with whitespace handled as sentencepiece's normalizer does.
    pub fn new(model: SpmModel, path: &Path) -> Result<Self> {
        let bad = |message: String| Error::Tokenizer {
            path: path.to_path_buf(),
            message,
        };
        let max_score = model
            .pieces
            .iter()
            .filter(|p| p.kind == PieceKind::Normal)
            .map(|p| p.score)
            .fold(0.0f32, f32::max);
        let vocab: Vec<(String, f64)> = model
            .pieces
            .iter()
            .enumerate()
            .map(|(id, p)| match p.kind {
                PieceKind::Normal | PieceKind::Byte => (p.piece.clone(), f64::from(p.score)),
                // sentencepiece always prefers a user-defined piece; this is
                // the score its lattice gives them.
                PieceKind::UserDefined => {
                    let len = p.piece.chars().count() as f32;
                    (p.piece.clone(), f64::from(len * max_score - 0.1))
                }
                // sentencepiece never produces these from text, but
                // `tokenizers` matches every vocabulary entry. Two U+2581 in
                // a row cannot occur inside a Metaspace pre-token, so under
                // this name the entry keeps its id and never matches.
                PieceKind::Control | PieceKind::Unknown | PieceKind::Unused => (
                    format!("{SPACE}{SPACE}{id}{SPACE}{}", p.piece),
                    f64::from(p.score),
                ),
            })
            .collect();
        let unk_id = model.trainer.unk_id as usize;
        let unigram = Unigram::from(vocab, Some(unk_id), model.trainer.byte_fallback)
            .map_err(|e| bad(format!("unigram model: {e}")))?;

        let mut normalizers: Vec<NormalizerWrapper> = Vec::new();
        let charsmap = &model.normalizer.precompiled_charsmap;
        if !charsmap.is_empty() {
            let precompiled = Precompiled::from(charsmap)
                .map_err(|e| bad(format!("precompiled_charsmap: {e}")))?;
            // sentencepiece applies the longest rule of the charsmap, but
            // `Precompiled` the shortest matching one for a grapheme: NFD
            // "a\u{302}\u{301}" would become "â" and lose the acute. NFC
            // first gives the composed letter, which both map alike (the
            // charsmap's rules are NFKC, so NFC does not change the result).
            normalizers.push(NFC.into());
            normalizers.push(precompiled.into());
        }
        if model.normalizer.remove_extra_whitespaces {
            // sentencepiece strips and collapses U+0020 only, after the map.
            let regex = |re: &str, to: &str| {
                Replace::new(ReplacePattern::Regex(re.into()), to)
                    .map(NormalizerWrapper::from)
                    .map_err(|e| bad(format!("whitespace rule: {e}")))
            };
            normalizers.push(regex("^ +| +$", "")?);
            normalizers.push(regex(" {2,}", " ")?);
        }
        let prepend = if model.normalizer.add_dummy_prefix {
            PrependScheme::Always
        } else {
            PrependScheme::Never
        };
        let metaspace = Metaspace::new(SPACE, prepend, true);

        let mut tokenizer = Tokenizer::new(unigram);
        tokenizer
            .with_normalizer(Some(Sequence::new(normalizers)))
            .map_err(|e| bad(format!("normalizer: {e}")))?;
        tokenizer.with_pre_tokenizer(Some(metaspace.clone()));
        tokenizer.with_decoder(Some(DecoderWrapper::Metaspace(metaspace)));
        let ids = model
            .pieces
            .iter()
            .enumerate()
            .map(|(id, p)| (p.piece.clone(), id as u32))
            .collect();
        Ok(SpmTokenizer {
            tokenizer,
            pieces: model.pieces,
            ids,
            unk_id: unk_id as u32,
        })
    }

    /// The underlying tokenizer (offsets into the input are on its
    /// `Encoding`s). Control and unknown entries of its vocabulary carry
    /// internal names; use `piece` for the real ones.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Encodes as sentencepiece's `encode`: tokens are the pieces (the
    /// surface text for unknown ones), no BOS/EOS.
    pub fn encode(&self, text: &str) -> Result<Encoding> {
        self.tokenizer.encode(text, false).map_err(Error::Tokenize)
    }

    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    pub fn unk_id(&self) -> u32 {
        self.unk_id
    }

    pub fn piece(&self, id: u32) -> Option<&Piece> {
        self.pieces.get(id as usize)
    }

    pub fn piece_to_id(&self, piece: &str) -> Option<u32> {
        self.ids.get(piece).copied()
    }

    /// sentencepiece's `decode` of ids: control pieces vanish, the unknown
    /// piece reads " ⁇ ", byte pieces are bytes, U+2581 is a space and the
    /// dummy prefix of the first piece is dropped.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        let mut at_start = true;
        for &id in ids {
            let Some(p) = self.piece(id) else { continue };
            let text: &str = match p.kind {
                PieceKind::Control | PieceKind::Unused => continue,
                PieceKind::Unknown => UNK_SURFACE,
                PieceKind::Byte => {
                    if let Some(b) = byte_piece(&p.piece) {
                        bytes.push(b);
                        at_start = false;
                    }
                    continue;
                }
                PieceKind::Normal | PieceKind::UserDefined => &p.piece,
            };
            let text = if at_start {
                text.strip_prefix(SPACE).unwrap_or(text)
            } else {
                text
            };
            at_start = false;
            bytes.extend(text.replace(SPACE, " ").as_bytes());
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// `<0x41>` -> 0x41.
fn byte_piece(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}

/// A Marian checkpoint's `vocab.json` (piece -> model id, one table for
/// source and target), applied as transformers' `MarianTokenizer` does.
#[derive(Debug, Clone)]
pub struct MarianVocab {
    ids: HashMap<String, u32>,
    pieces: HashMap<u32, String>,
    pub unk_id: u32,
    pub eos_id: u32,
    pub pad_id: u32,
}

impl MarianVocab {
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text, path)
    }

    /// `path` only names the file in errors.
    pub fn from_json(json: &str, path: &Path) -> Result<Self> {
        let bad = |message: String| Error::Tokenizer {
            path: PathBuf::from(path),
            message,
        };
        let ids: HashMap<String, u32> = serde_json::from_str(json)
            .map_err(|e| bad(format!("vocab.json is not a map of piece to id: {e}")))?;
        let mut pieces = HashMap::with_capacity(ids.len());
        for (piece, &id) in &ids {
            if let Some(other) = pieces.insert(id, piece.clone()) {
                return Err(bad(format!(
                    "vocab.json gives id {id} to both `{other}` and `{piece}`"
                )));
            }
        }
        let special = |name: &str| {
            ids.get(name)
                .copied()
                .ok_or_else(|| bad(format!("vocab.json has no `{name}`")))
        };
        Ok(MarianVocab {
            unk_id: special("<unk>")?,
            eos_id: special("</s>")?,
            pad_id: special("<pad>")?,
            ids,
            pieces,
        })
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The model id of a piece; pieces the model does not know are `<unk>`.
    pub fn id(&self, piece: &str) -> u32 {
        self.ids.get(piece).copied().unwrap_or(self.unk_id)
    }

    pub fn piece(&self, id: u32) -> Option<&str> {
        self.pieces.get(&id).map(String::as_str)
    }

    /// The largest id in the table.
    pub fn max_id(&self) -> Option<u32> {
        self.pieces.keys().copied().max()
    }

    /// Source-side model ids for `text`: a leading target-language code
    /// (`>>vie<<`) as one piece, the source spm's pieces, then `</s>`.
    pub fn encode(&self, spm: &SpmTokenizer, text: &str) -> Result<Vec<u32>> {
        let (code, rest) = split_language_code(text);
        let encoding = spm.encode(rest)?;
        let mut ids: Vec<u32> = code.map(|c| self.id(c)).into_iter().collect();
        ids.extend(encoding.get_tokens().iter().map(|t| self.id(t)));
        ids.push(self.eos_id);
        Ok(ids)
    }

    /// Text for model ids: `<pad>`, `</s>` and `<unk>` (and ids outside the
    /// vocabulary) are dropped, pieces joined, U+2581 read as a space.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut text = String::new();
        for &id in ids {
            if id == self.pad_id || id == self.eos_id || id == self.unk_id {
                continue;
            }
            if let Some(piece) = self.piece(id) {
                text.push_str(piece);
            }
        }
        text.replace(SPACE, " ").trim().to_string()
    }
}

/// transformers' `MarianTokenizer` takes `>>.+<<` at the start of the text as
/// a language code (greedy, within the first line).
fn split_language_code(text: &str) -> (Option<&str>, &str) {
    if !text.starts_with(">>") {
        return (None, text);
    }
    let line = text.split('\n').next().unwrap_or("");
    match line.rfind("<<") {
        Some(i) if i >= 3 => (Some(&text[..i + 2]), &text[i + 2..]),
        _ => (None, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn field_bytes(field: u32, body: &[u8], out: &mut Vec<u8>) {
        varint((u64::from(field) << 3) | 2, out);
        varint(body.len() as u64, out);
        out.extend_from_slice(body);
    }

    fn piece(text: &str, score: f32, kind: u64) -> Vec<u8> {
        let mut p = Vec::new();
        field_bytes(1, text.as_bytes(), &mut p);
        p.push((2 << 3) | 5);
        p.extend_from_slice(&score.to_le_bytes());
        varint(3 << 3, &mut p);
        varint(kind, &mut p);
        p
    }

    /// A tiny hand-made model: <unk> <s> </s> then a few pieces, with some
    /// unknown fields of every wire type mixed in.
    fn tiny(model_type: u64) -> Vec<u8> {
        let mut m = Vec::new();
        for (text, score, kind) in [
            ("<unk>", 0.0, 2),
            ("<s>", 0.0, 3),
            ("</s>", 0.0, 3),
            ("\u{2581}", -2.0, 1),
            ("\u{2581}ab", -1.0, 1),
            ("a", -3.0, 1),
            ("b", -3.0, 1),
            ("c", -3.0, 1),
        ] {
            field_bytes(1, &piece(text, score, kind), &mut m);
        }
        let mut t = Vec::new();
        varint(3 << 3, &mut t);
        varint(model_type, &mut t);
        varint((7 << 3) | 1, &mut t); // unknown fixed64
        t.extend_from_slice(&[0; 8]);
        varint(43 << 3, &mut t);
        varint(u64::MAX, &mut t); // pad_id = -1, sign-extended
        varint((9 << 3) | 3, &mut t); // unknown group holding a varint
        varint(1 << 3, &mut t);
        varint(5, &mut t);
        varint((9 << 3) | 4, &mut t);
        field_bytes(2, &t, &mut m);
        let mut n = Vec::new();
        field_bytes(1, b"identity", &mut n);
        varint((99 << 3) | 5, &mut n); // unknown fixed32
        n.extend_from_slice(&[1, 2, 3, 4]);
        field_bytes(3, &n, &mut m);
        m
    }

    #[test]
    fn parses_hand_made_model() {
        let m = SpmModel::parse(&tiny(1), Path::new("t.spm")).unwrap();
        assert_eq!(m.pieces.len(), 8);
        assert_eq!(m.pieces[4].piece, "\u{2581}ab");
        assert_eq!(m.pieces[4].score, -1.0);
        assert_eq!(m.pieces[2].kind, PieceKind::Control);
        assert_eq!(m.trainer.pad_id, -1);
        assert_eq!(m.trainer.unk_id, 0);
        assert_eq!(m.normalizer.name, "identity");
        assert!(m.normalizer.add_dummy_prefix);

        let tok = SpmTokenizer::new(m, Path::new("t.spm")).unwrap();
        let enc = tok.encode("  ab  c  </s> ").unwrap();
        let pieces: Vec<&str> = enc.get_tokens().iter().map(String::as_str).collect();
        // Control pieces never match text; unknown characters in a row are
        // one unknown token.
        assert_eq!(pieces, ["\u{2581}ab", "\u{2581}", "c", "\u{2581}", "</s>"]);
        assert_eq!(enc.get_ids(), [4, 3, 7, 3, 0]);
        assert_eq!(tok.decode(&[1, 4, 3, 7, 0, 2]), "ab c \u{2047} ");
    }

    #[test]
    fn rejects_bpe() {
        let err = SpmModel::parse(&tiny(2), Path::new("t.spm")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("t.spm") && msg.contains("Bpe"), "{msg}");
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = tiny(1);
        for n in 0..bytes.len() {
            // Some prefixes end on a field boundary and parse; none panics.
            if let Err(e) = SpmModel::parse(&bytes[..n], Path::new("t.spm")) {
                assert!(e.to_string().starts_with("t.spm: "), "{e}");
            }
        }
        let err = SpmModel::parse(&bytes[..bytes.len() - 3], Path::new("t.spm")).unwrap_err();
        assert!(matches!(err, Error::SentencePiece { .. }), "{err}");
    }

    #[test]
    fn bad_utf8_names_the_offset() {
        let mut m = Vec::new();
        field_bytes(1, &piece("ok", 0.0, 1), &mut m);
        let at = m.len() + 4; // piece key, length, string key, string length
        field_bytes(
            1,
            &piece("\u{e9}x", 0.0, 1).replace_first(0xc3, 0xff),
            &mut m,
        );
        match SpmModel::parse(&m, Path::new("t.spm")).unwrap_err() {
            Error::SentencePiece {
                offset, message, ..
            } => {
                assert_eq!(offset, at, "{message}");
                assert!(message.contains("UTF-8"));
            }
            other => panic!("{other}"),
        }
    }

    trait ReplaceFirst {
        fn replace_first(self, from: u8, to: u8) -> Self;
    }

    impl ReplaceFirst for Vec<u8> {
        fn replace_first(mut self, from: u8, to: u8) -> Self {
            if let Some(b) = self.iter_mut().find(|b| **b == from) {
                *b = to;
            }
            self
        }
    }

    #[test]
    fn malformed_charsmap_is_an_error() {
        for map in [
            vec![1u8],
            vec![8, 0, 0, 0, 1, 0, 0, 0],
            vec![4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
            vec![0, 0, 0, 0, b'a'],
        ] {
            assert!(check_charsmap(&map).is_err(), "{map:?}");
        }
    }

    #[test]
    fn language_code() {
        assert_eq!(split_language_code(">>vie<< Hi"), (Some(">>vie<<"), " Hi"));
        assert_eq!(split_language_code(">><< Hi"), (None, ">><< Hi"));
        assert_eq!(split_language_code("Hi >>vie<<"), (None, "Hi >>vie<<"));
    }
}
