//! The one place progress bars are made. Bars draw on stderr only when it is a
//! terminal and progress is enabled (`--no-progress` and `-q` turn it off), so
//! stdout stays pure data.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Called once by the binary from its global flags.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

fn visible() -> bool {
    ENABLED.load(Ordering::Relaxed) && std::io::stderr().is_terminal()
}

fn bar(len: u64, template: &str) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

/// A bar counting bytes (downloads, hashing).
pub fn bytes(len: u64, message: impl Into<String>) -> ProgressBar {
    let pb = bar(
        len,
        "{msg} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ({eta})",
    );
    pb.set_message(message.into());
    pb
}

/// A bar counting items (segments, records).
pub fn items(len: u64, message: impl Into<String>) -> ProgressBar {
    let pb = bar(
        len,
        "{msg} [{elapsed_precise}] [{wide_bar}] {pos}/{len} ({eta})",
    );
    pb.set_message(message.into());
    pb
}

/// The bar of a batch run: its length is the characters of text to
/// translate (so the ETA holds when documents differ in length); the message
/// carries records done, rates and failures.
pub fn batch(chars: u64) -> ProgressBar {
    let pb = bar(chars, "[{elapsed_precise}] [{bar:30}] {msg} (ETA {eta})");
    // Documents take minutes: keep the clock moving between updates.
    if !pb.is_hidden() {
        pb.enable_steady_tick(std::time::Duration::from_secs(1));
    }
    pb
}

/// Human-readable size for messages: "1.1 GB", "68.3 MB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_bytes_uses_decimal_units() {
        assert_eq!(super::human_bytes(512), "512 B");
        assert_eq!(super::human_bytes(71_622_400), "71.6 MB");
        assert_eq!(super::human_bytes(1_117_320_768), "1.1 GB");
    }
}
