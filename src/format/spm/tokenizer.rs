//! `SpmTokenizer`: a parsed sentencepiece Unigram model turned into a
//! `tokenizers::Tokenizer` that encodes and decodes as sentencepiece does.

use std::collections::HashMap;
use std::path::Path;

use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::precompiled::Precompiled;
use tokenizers::normalizers::replace::{Replace, ReplacePattern};
use tokenizers::normalizers::unicode::NFC;
use tokenizers::normalizers::utils::Sequence;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::{Encoding, NormalizerWrapper, Tokenizer};

use super::{FormatError, Piece, PieceKind, Result, SpmModel, SPACE};

/// What sentencepiece's `decode` writes for the unknown piece.
const UNK_SURFACE: &str = " \u{2047} ";

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
        let bad = |message: String| FormatError::Tokenizer {
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
        self.tokenizer
            .encode(text, false)
            .map_err(FormatError::Tokenize)
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
