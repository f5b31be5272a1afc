//! Small helpers without any domain knowledge: atomic file writes and path
//! errors ([`fs`]), rounding and rates for reports ([`num`]), the one
//! place progress bars are made ([`progress`]), and bytes that may lie in a
//! memory-mapped file ([`bytes`]).

pub mod bytes;
pub mod fs;
pub mod num;
pub mod progress;

/// The machine's RAM in bytes (Linux `MemTotal`; `None` elsewhere).
pub fn mem_total_bytes() -> Option<u64> {
    meminfo("MemTotal:")
}

/// Memory available to new allocations without swapping, in bytes (Linux
/// `MemAvailable`; `None` elsewhere).
pub fn mem_available_bytes() -> Option<u64> {
    meminfo("MemAvailable:")
}

fn meminfo(field: &str) -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
