//! Read-only bytes that are either owned or a window of a memory-mapped
//! file, so that weight matrices can be used where they lie in the file.

use std::ops::Deref;
use std::sync::Arc;

/// Bytes owned in memory, or `len` bytes at `start` of a mapped file.
pub enum Bytes {
    Owned(Vec<u8>),
    Mapped {
        map: Arc<memmap2::Mmap>,
        start: usize,
        len: usize,
    },
}

impl Bytes {
    /// A window of `map`, or `None` when it does not lie inside it.
    pub fn mapped(map: Arc<memmap2::Mmap>, start: usize, len: usize) -> Option<Self> {
        (start.checked_add(len)? <= map.len()).then_some(Self::Mapped { map, start, len })
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self, Self::Mapped { .. })
    }
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Owned(v) => v,
            Self::Mapped { map, start, len } => &map[*start..*start + *len],
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Self::Owned(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_window_reads_its_bytes_and_only_inside_the_file() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"0123456789").unwrap();
        // SAFETY: a private temporary file nobody else writes.
        let map = Arc::new(unsafe { memmap2::Mmap::map(f.as_file()) }.unwrap());
        let b = Bytes::mapped(map.clone(), 3, 4).unwrap();
        assert_eq!(&*b, b"3456");
        assert!(b.is_mapped());
        assert!(Bytes::mapped(map.clone(), 8, 3).is_none());
        assert!(Bytes::mapped(map, usize::MAX, 2).is_none());
        assert_eq!(&*Bytes::from(vec![1u8, 2]), &[1, 2]);
    }
}
