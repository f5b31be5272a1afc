//! Where dich keeps what it downloads: `$DICH_HOME`, else `~/.cache/dich`.
//! Nothing here touches the network; callers decide what to fetch.

use std::path::PathBuf;

/// The root of dich's cache: `$DICH_HOME` when set and non-empty, else
/// `$XDG_CACHE_HOME/dich`, else `~/.cache/dich`.
pub fn dich_home() -> PathBuf {
    if let Some(home) = std::env::var_os("DICH_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("dich");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("dich"),
        None => PathBuf::from(".dich-cache"),
    }
}

/// Cached model files live under `<home>/models/<model name>/`.
pub fn models_dir() -> PathBuf {
    dich_home().join("models")
}

/// Registry packages fetched for tests and evaluation data live here.
pub fn datasets_dir() -> PathBuf {
    dich_home().join("datasets")
}
