//! Small helpers without any domain knowledge: atomic file writes and path
//! errors ([`fs`]), rounding and rates for reports ([`num`]), and the one
//! place progress bars are made ([`progress`]).

pub mod fs;
pub mod num;
pub mod progress;
