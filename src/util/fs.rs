//! File writes that never leave a half-written file behind, and the error
//! that names the path an I/O operation failed on.

use std::io::Write;
use std::path::{Path, PathBuf};

/// An I/O error with the path it happened on. The I/O error's text is part
/// of the message, so it is not also exposed as `source` (a printed chain
/// would repeat it).
#[derive(Debug, thiserror::Error)]
#[error("{}: {error}{}", path.display(), hint(error))]
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

/// What a resource error means for the user, after the system's own words.
fn hint(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::FileTooLarge => " (a file size limit was reached: see `ulimit -f`)",
        K::StorageFull => " (the file system is full)",
        K::ReadOnlyFilesystem => " (the file system is read-only)",
        K::QuotaExceeded => " (the disk quota is exceeded)",
        _ => "",
    }
}

/// A temporary file in `dir` named `{prefix}XXXXXX{suffix}`, created with
/// the permissions of an ordinary new file (0666 less the umask, not
/// tempfile's 0600), since it becomes an output by renaming.
pub fn temp_in(dir: &Path, prefix: &str, suffix: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let mut b = tempfile::Builder::new();
    b.prefix(prefix).suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir)
}

/// Writes through a temporary file in the same directory, then renames, so
/// readers see the old content or the new, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = temp_in(dir, &format!(".{name}."), ".tmp")?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Lowercase hexadecimal of `bytes` (digests).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
