//! Reading input documents: a file path or `-` for stdin, as UTF-8 text.
//! Bad input (missing, empty, blank, binary, invalid UTF-8) becomes an error
//! that names the input and, where it applies, the byte offset.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

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
            .map_err(|e| Error::io("<stdin>", e))?;
        ("<stdin>".to_string(), buf)
    } else {
        let p = Path::new(path);
        if p.is_dir() {
            return Err(Error::io(
                p,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "is a directory, not a file",
                ),
            ));
        }
        let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
        (path.to_string(), bytes)
    };
    let text = decode(&name, bytes)?;
    Ok(Input { name, text })
}

/// Validates bytes as a text document.
pub fn decode(name: &str, bytes: Vec<u8>) -> Result<String> {
    if bytes.is_empty() {
        return Err(Error::EmptyInput { input: name.into() });
    }
    // NUL never occurs in text; it is the cheapest reliable sign of a binary
    // file (images, archives, model weights), reported before the UTF-8 check
    // so the message says what the file most likely is.
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(Error::BinaryInput {
            input: name.into(),
            offset,
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| Error::InvalidUtf8 {
        input: name.into(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(Error::BlankInput { input: name.into() });
    }
    Ok(text)
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
