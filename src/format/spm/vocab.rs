//! `MarianVocab`: a Marian checkpoint's `vocab.json`, mapping sentencepiece
//! pieces to the model's own ids and back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{FormatError, Result, SpmTokenizer, SPACE};

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
        let text = std::fs::read_to_string(path).map_err(|e| FormatError::io(path, e))?;
        Self::from_json(&text, path)
    }

    /// `path` only names the file in errors.
    pub fn from_json(json: &str, path: &Path) -> Result<Self> {
        let bad = |message: String| FormatError::Tokenizer {
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
pub(super) fn split_language_code(text: &str) -> (Option<&str>, &str) {
    if !text.starts_with(">>") {
        return (None, text);
    }
    let line = text.split('\n').next().unwrap_or("");
    match line.rfind("<<") {
        Some(i) if i >= 3 => (Some(&text[..i + 2]), &text[i + 2..]),
        _ => (None, text),
    }
}
