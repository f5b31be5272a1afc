//! Reading what the user gives: a file path or `-` for stdin, as UTF-8
//! text, and translation documents given back as JSON. Bad input (missing,
//! empty, blank, binary, invalid UTF-8, JSON that is not a dich document)
//! becomes an [`InputError`] that names the input and, where it applies,
//! the byte offset or the line and column.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::types::{SummaryOutput, TranslationDocument};
use crate::util::fs::PathError;

pub type Result<T, E = InputError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Io(#[from] PathError),

    #[error("{input}: not valid UTF-8 at byte offset {offset}")]
    InvalidUtf8 { input: String, offset: usize },

    #[error(
        "{input}: looks like a binary file (NUL byte at offset {offset}); expected UTF-8 text"
    )]
    BinaryInput { input: String, offset: usize },

    #[error("{input}: the input is empty")]
    EmptyInput { input: String },

    #[error("{input}: the input contains only whitespace")]
    BlankInput { input: String },

    #[error("{input}: no text to translate was found")]
    NothingToTranslate { input: String },

    #[error("{input}: {message}")]
    InvalidDocument { input: String, message: String },
}

impl InputError {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        InputError::Io(PathError::new(path, error))
    }
}

/// A document as read: its display name and its exact text. Spans are byte
/// offsets into `text`.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub text: String,
}

/// Reads `path` (or stdin for `-`).
pub fn read_input(path: &str) -> Result<Input> {
    let (name, bytes) = if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| InputError::io("<stdin>", e))?;
        ("<stdin>".to_string(), buf)
    } else {
        let p = Path::new(path);
        if p.is_dir() {
            return Err(InputError::io(
                p,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "is a directory, not a file",
                ),
            ));
        }
        let bytes = std::fs::read(p).map_err(|e| InputError::io(p, e))?;
        (path.to_string(), bytes)
    };
    let text = decode(&name, bytes)?;
    Ok(Input { name, text })
}

/// Validates bytes as a text document.
pub fn decode(name: &str, bytes: Vec<u8>) -> Result<String> {
    if bytes.is_empty() {
        return Err(InputError::EmptyInput { input: name.into() });
    }
    // NUL never occurs in text; it is the cheapest reliable sign of a binary
    // file (images, archives, model weights), reported before the UTF-8 check
    // so the message says what the file most likely is.
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(InputError::BinaryInput {
            input: name.into(),
            offset,
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| InputError::InvalidUtf8 {
        input: name.into(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(InputError::BlankInput { input: name.into() });
    }
    Ok(text)
}

/// A translation document given as input: what `dich translate --format
/// json` or `dich summarize --format json` wrote (one document, or
/// `{"documents": [...]}`).
pub fn parse_document_json(input: &Input) -> Result<Vec<TranslationDocument>> {
    let bad = |message: String| InputError::InvalidDocument {
        input: input.name.clone(),
        message,
    };
    let v: serde_json::Value = serde_json::from_str(&input.text).map_err(|e| {
        bad(format!(
            "invalid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let docs: Vec<TranslationDocument> = if v.get("documents").is_some() {
        serde_json::from_value(v["documents"].clone()).map_err(|e| {
            bad(format!(
                "`documents` is not a list of translation documents: {e}"
            ))
        })?
    } else if v.get("segments").is_some() {
        vec![serde_json::from_value(v)
            .map_err(|e| bad(format!("not a dich translation document: {e}")))?]
    } else {
        return Err(bad(
            "JSON input must be a translation document as `dich translate` writes it, with `segments`".into(),
        ));
    };
    for d in &docs {
        if d.source_lang == d.target_lang {
            return Err(bad(format!(
                "source and target language are both `{}`",
                d.source_lang.code()
            )));
        }
        if d.segments.is_empty() {
            return Err(bad("the document has no segments".into()));
        }
    }
    Ok(docs)
}

/// Reads what `render::summary::json` wrote (either shape).
pub fn parse_summary_json(text: &str) -> std::result::Result<SummaryOutput, serde_json::Error> {
    let v: serde_json::Value = serde_json::from_str(text)?;
    if v.get("documents").is_some() {
        return serde_json::from_value(v);
    }
    let summary = serde_json::from_value(v.get("summary").cloned().unwrap_or_default())?;
    let doc = serde_json::from_value(v)?;
    Ok(SummaryOutput {
        documents: vec![doc],
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_bad_input_with_offsets() {
        let e = decode("a.txt", Vec::new()).unwrap_err().to_string();
        assert_eq!(e, "a.txt: the input is empty");
        let e = decode("a.txt", b" \n\t\r\n".to_vec())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "a.txt: the input contains only whitespace");
        let e = decode("a.txt", b"PK\x03\x04\x00\x00".to_vec())
            .unwrap_err()
            .to_string();
        assert!(e.contains("binary file (NUL byte at offset 4)"), "{e}");
        // "Hà" then a lone continuation byte at offset 3.
        let e = decode("a.txt", b"H\xc3\xa0\x80 N".to_vec())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "a.txt: not valid UTF-8 at byte offset 3");
        assert_eq!(
            decode("a.txt", "Hà Nội".as_bytes().to_vec()).unwrap(),
            "Hà Nội"
        );
    }

    #[test]
    fn missing_file_and_directory_are_errors() {
        let e = read_input("/definitely/not/here.txt")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/definitely/not/here.txt: "), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = read_input(dir.path().to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a directory"), "{e}");
    }
}
