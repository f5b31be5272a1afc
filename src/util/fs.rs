//! File writes that never leave a half-written file behind, and the error
//! that names the path an I/O operation failed on.

use std::io::Write;
use std::path::{Path, PathBuf};

/// An I/O error with the path it happened on. The I/O error's text is part
/// of the message, so it is not also exposed as `source` (a printed chain
/// would repeat it).
#[derive(Debug, thiserror::Error)]
#[error("{}: {error}", path.display())]
pub struct PathError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

impl PathError {
    pub fn new(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self {
            path: path.into(),
            error,
        }
    }
}

/// Writes through a temporary file in the same directory, then renames, so
/// readers see the old content or the new, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Lowercase hexadecimal of `bytes` (digests).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
