//! TER (Snover et al., 2006) as sacreBLEU computes it by default: lowercased,
//! whitespace-split words (no normalization, punctuation kept, no Asian
//! support), and sacreBLEU's Tercom-compatible search (`lib_ter.py`): greedy
//! block shifts of up to 10 words by at most 50 positions, ranked as Tercom
//! ranks them, each checked with a beam edit distance around the length
//! diagonal; at most 1000 candidate shifts per segment.
//!
//! The edit distance keeps sacreBLEU's cost matrix, tie-breaking and trie of
//! already computed rows keyed by hypothesis prefix. Unlike sacreBLEU, a row
//! stores only its beam (cells outside it are infinite either way), so a
//! very long segment needs memory proportional to its length, not its
//! length squared.

use std::collections::HashMap;

use crate::metrics::{pystr, Metric, Score, Stats, SACREBLEU_VERSION};

const COST_INS: i64 = 1;
const COST_DEL: i64 = 1;
const COST_SUB: i64 = 1;

const MAX_SHIFT_SIZE: usize = 10;
const MAX_SHIFT_DIST: usize = 50;
const BEAM_WIDTH: usize = 25;

const MAX_CACHE_SIZE: usize = 10_000;
const MAX_SHIFT_CANDIDATES: usize = 1000;
/// sacreBLEU's `int(1e16)`: an unreachable cell.
const INF: i64 = 10_000_000_000_000_000;

/// Edit operations, named for rewriting the hypothesis into the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Nop,
    Sub,
    Ins,
    Del,
    Undef,
}

type Cell = (i64, Op);

/// Total edits (shifts included) and reference words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerStats {
    pub edits: u64,
    pub ref_len: u64,
}

impl Stats for TerStats {
    fn add(&mut self, other: &Self) {
        self.edits += other.edits;
        self.ref_len += other.ref_len;
    }
}

/// A TER score: 100 × edits / reference words (lower is better).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TerScore {
    pub score: f64,
    pub num_edits: u64,
    pub ref_length: u64,
}

impl Score for TerScore {
    fn value(&self) -> f64 {
        self.score
    }
}

/// TER with sacreBLEU's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ter;

impl Metric for Ter {
    type Stats = TerStats;
    type Score = TerScore;

    fn name(&self) -> &'static str {
        "TER"
    }

    fn signature(&self) -> String {
        format!("nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:{SACREBLEU_VERSION}")
    }

    fn segment_stats(&self, hyp: &str, reference: &str) -> TerStats {
        let hyp = pystr::lower(pystr::rstrip(hyp));
        let reference = pystr::lower(pystr::rstrip(reference));
        let hyp: Vec<&str> = pystr::split(&hyp).collect();
        let reference: Vec<&str> = pystr::split(&reference).collect();
        let (edits, ref_len) = translation_edit_rate(&hyp, &reference);
        TerStats { edits, ref_len }
    }

    fn compute(&self, stats: &TerStats) -> TerScore {
        let score = if stats.ref_len > 0 {
            stats.edits as f64 / stats.ref_len as f64
        } else if stats.edits > 0 {
            1.0
        } else {
            0.0
        };
        TerScore {
            score: 100.0 * score,
            num_edits: stats.edits,
            ref_length: stats.ref_len,
        }
    }
}

/// Edits (shifts plus insertions, deletions and substitutions) that turn
/// `hyp` into `reference`, and the reference length.
pub fn translation_edit_rate(hyp: &[&str], reference: &[&str]) -> (u64, u64) {
    if reference.is_empty() {
        return (hyp.len() as u64, 0);
    }
    let mut ed = BeamEditDistance::new(reference);
    let mut shifts = 0;
    let mut words = hyp.to_vec();
    let mut checked = 0;
    loop {
        let (delta, shifted) = best_shift(&words, reference, &mut ed, &mut checked);
        // sacreBLEU stops before applying a shift found at the limit.
        if checked >= MAX_SHIFT_CANDIDATES || delta <= 0 {
            break;
        }
        shifts += 1;
        words = shifted;
    }
    let (distance, _) = ed.distance(&words);
    ((shifts + distance) as u64, reference.len() as u64)
}

/// Tercom's order of candidate shifts, largest first: gain in edit
/// distance, block length, then earlier start (negated), then earlier target
/// (negated).
type ShiftRank = (i64, usize, i64, i64);

/// `_shift`: the shift that lowers the edit distance most, by Tercom's
/// ranking (gain, then longer, then earlier in the hypothesis, then earlier
/// target), with its gain; `(0, words)` when nothing qualifies.
fn best_shift<'r, 'a: 'r>(
    words_h: &[&'a str],
    words_r: &[&str],
    ed: &mut BeamEditDistance<'r>,
    checked: &mut usize,
) -> (i64, Vec<&'a str>) {
    let (pre_score, inv_trace) = ed.distance(words_h);
    // The trace rewrites the hypothesis into the reference; the alignment
    // wants the reverse, which swaps insertions and deletions.
    let trace: Vec<Op> = inv_trace
        .into_iter()
        .map(|op| match op {
            Op::Ins => Op::Del,
            Op::Del => Op::Ins,
            other => other,
        })
        .collect();
    let (align, ref_err, hyp_err) = trace_to_alignment(&trace, words_r.len());

    let (n_h, n_r) = (words_h.len(), words_r.len());
    let mut best: Option<(ShiftRank, Vec<&'a str>)> = None;
    'pairs: for start_h in 0..n_h {
        let lo = start_h.saturating_sub(MAX_SHIFT_DIST);
        let hi = (start_h + MAX_SHIFT_DIST + 1).min(n_r);
        for start_r in lo..hi {
            let mut length = 0;
            while words_h[start_h + length] == words_r[start_r + length] && length < MAX_SHIFT_SIZE
            {
                length += 1;
                'candidate: {
                    // Only shift words that are wrong to a place that is wrong.
                    if err_sum(&hyp_err, start_h, length) == 0
                        || err_sum(&ref_err, start_r, length) == 0
                    {
                        break 'candidate;
                    }
                    // Not within the block itself.
                    let Some(target) = align.get(start_r).copied().flatten() else {
                        break 'candidate;
                    };
                    if start_h as i64 <= target && target < (start_h + length) as i64 {
                        break 'candidate;
                    }
                    let mut prev_idx = -1;
                    for offset in -1..length as i64 {
                        let k = start_r as i64 + offset;
                        // sacreBLEU inserts before the index (Tercom after).
                        let idx = if k == -1 {
                            0
                        } else if let Some(Some(a)) =
                            usize::try_from(k).ok().and_then(|k| align.get(k))
                        {
                            a + 1
                        } else {
                            break;
                        };
                        if idx == prev_idx {
                            continue;
                        }
                        prev_idx = idx;
                        let shifted = perform_shift(words_h, start_h, length, idx as usize);
                        let key = (
                            pre_score - ed.distance(&shifted).0,
                            length,
                            -(start_h as i64),
                            -idx,
                        );
                        *checked += 1;
                        if best.as_ref().is_none_or(|(b, _)| key > *b) {
                            best = Some((key, shifted));
                        }
                    }
                    if *checked >= MAX_SHIFT_CANDIDATES {
                        break 'pairs;
                    }
                }
                if n_h == start_h + length || n_r == start_r + length {
                    break;
                }
            }
        }
    }
    match best {
        Some(((gain, ..), shifted)) => (gain, shifted),
        None => (0, words_h.to_vec()),
    }
}

/// Errors in `err[start..start + len]`, clipped to the slice like Python's.
fn err_sum(err: &[u8], start: usize, len: usize) -> u32 {
    let end = (start + len).min(err.len());
    err.get(start.min(end)..end)
        .map_or(0, |s| s.iter().map(|&e| u32::from(e)).sum())
}

/// `_perform_shift` with Python's clipping slices.
fn perform_shift<'a>(
    words: &[&'a str],
    start: usize,
    length: usize,
    target: usize,
) -> Vec<&'a str> {
    let n = words.len();
    let sl = |a: usize, b: usize| -> &[&'a str] {
        let (a, b) = (a.min(n), b.min(n));
        if a < b {
            &words[a..b]
        } else {
            &[]
        }
    };
    let parts: [&[&'a str]; 4] = if target < start {
        [
            sl(0, target),
            sl(start, start + length),
            sl(target, start),
            sl(start + length, n),
        ]
    } else if target > start + length {
        [
            sl(0, start),
            sl(start + length, target),
            sl(start, start + length),
            sl(target, n),
        ]
    } else {
        [
            sl(0, start),
            sl(start + length, length + target),
            sl(start, start + length),
            sl(length + target, n),
        ]
    };
    parts.concat()
}

/// `trace_to_alignment`: for each reference position the hypothesis
/// position it aligns to (-1 before the first), and which reference and
/// hypothesis words are errors.
fn trace_to_alignment(trace: &[Op], n_ref: usize) -> (Vec<Option<i64>>, Vec<u8>, Vec<u8>) {
    let (mut pos_hyp, mut pos_ref) = (-1i64, -1i64);
    let mut align = vec![None; n_ref];
    let (mut ref_err, mut hyp_err) = (Vec::new(), Vec::new());
    let set = |align: &mut Vec<Option<i64>>, r: i64, h: i64| {
        if let Some(slot) = usize::try_from(r).ok().and_then(|r| align.get_mut(r)) {
            *slot = Some(h);
        }
    };
    for &op in trace {
        match op {
            Op::Nop | Op::Sub => {
                pos_hyp += 1;
                pos_ref += 1;
                set(&mut align, pos_ref, pos_hyp);
                let e = u8::from(op == Op::Sub);
                hyp_err.push(e);
                ref_err.push(e);
            }
            Op::Ins => {
                pos_hyp += 1;
                hyp_err.push(1);
            }
            Op::Del => {
                pos_ref += 1;
                set(&mut align, pos_ref, pos_hyp);
                ref_err.push(1);
            }
            Op::Undef => {}
        }
    }
    (align, ref_err, hyp_err)
}

/// One row of the edit distance matrix: the cells of columns
/// `start..start + cells.len()`; every other cell is unreachable.
#[derive(Debug, Clone)]
struct Row {
    start: usize,
    cells: Vec<Cell>,
}

impl Row {
    fn get(&self, j: usize) -> Cell {
        j.checked_sub(self.start)
            .and_then(|k| self.cells.get(k))
            .copied()
            .unwrap_or((INF, Op::Undef))
    }
}

/// A node of the row cache: the row after this hypothesis prefix, and the
/// nodes for its one-word extensions.
struct CacheNode<'w> {
    row: Row,
    children: HashMap<&'w str, usize>,
}

/// sacreBLEU's `BeamEditDistance` for one reference: Levenshtein distance
/// over words restricted to a beam around the (length-ratio) diagonal, with
/// the trace of operations, and rows cached by hypothesis prefix. All
/// hypotheses it sees are shifts of one another (same length), so a cached
/// row is exactly the row a fresh computation would give.
struct BeamEditDistance<'r> {
    words_ref: &'r [&'r str],
    /// Node 0 is the empty prefix (the all-insertions row).
    nodes: Vec<CacheNode<'r>>,
}

impl<'r> BeamEditDistance<'r> {
    fn new(words_ref: &'r [&'r str]) -> Self {
        let initial = Row {
            start: 0,
            cells: (0..=words_ref.len() as i64)
                .map(|i| (i * COST_INS, Op::Ins))
                .collect(),
        };
        BeamEditDistance {
            words_ref,
            nodes: vec![CacheNode {
                row: initial,
                children: HashMap::new(),
            }],
        }
    }

    /// The edit distance from `words_h` to the reference, and the trace.
    fn distance<'h>(&mut self, words_h: &[&'h str]) -> (i64, Vec<Op>)
    where
        'h: 'r,
    {
        // The longest cached prefix.
        let mut node = 0;
        let mut rows: Vec<Row> = vec![self.nodes[0].row.clone()];
        for w in words_h {
            match self.nodes[node].children.get(w) {
                Some(&child) => {
                    node = child;
                    rows.push(self.nodes[child].row.clone());
                }
                None => break,
            }
        }
        let start_h = rows.len() - 1;
        self.fill(words_h, &mut rows);
        let trace = self.trace(&rows, words_h.len());
        let distance = rows[words_h.len()].get(self.words_ref.len()).0;

        // Cache the new rows; like sacreBLEU, the size limit is checked once
        // per call (node 0 is the root, not a cached row).
        if self.nodes.len() > MAX_CACHE_SIZE {
            return (distance, trace);
        }
        for (i, row) in rows.into_iter().enumerate().skip(start_h + 1) {
            let w = words_h[i - 1];
            let child = self.nodes.len();
            self.nodes.push(CacheNode {
                row,
                children: HashMap::new(),
            });
            self.nodes[node].children.insert(w, child);
            node = child;
        }
        (distance, trace)
    }

    /// Computes the rows after the cached ones (`_edit_distance`).
    fn fill(&self, words_h: &[&str], rows: &mut Vec<Row>) {
        let n_h = words_h.len();
        let n_r = self.words_ref.len();
        let length_ratio = if n_h > 0 {
            n_r as f64 / n_h as f64
        } else {
            1.0
        };
        // Very different lengths could leave no overlap between rows.
        let beam_width = if (BEAM_WIDTH as f64) < length_ratio / 2.0 {
            (length_ratio / 2.0 + BEAM_WIDTH as f64).ceil() as usize
        } else {
            BEAM_WIDTH
        };
        for i in rows.len()..=n_h {
            let pseudo_diag = (i as f64 * length_ratio).floor() as usize;
            let min_j = pseudo_diag.saturating_sub(beam_width);
            let max_j = if i == n_h {
                n_r + 1
            } else {
                (n_r + 1).min(pseudo_diag + beam_width)
            };
            let prev = &rows[i - 1];
            let mut row = Row {
                start: min_j,
                cells: Vec::with_capacity(max_j.saturating_sub(min_j)),
            };
            for j in min_j..max_j {
                let cell = if j == 0 {
                    (prev.get(0).0 + COST_DEL, Op::Del)
                } else {
                    let (cost_sub, op_sub) = if words_h[i - 1] == self.words_ref[j - 1] {
                        (0, Op::Nop)
                    } else {
                        (COST_SUB, Op::Sub)
                    };
                    let left = row.cells.last().filter(|_| j > min_j).map_or(INF, |c| c.0);
                    // Tercom prefers substitution/match, then (as the trace
                    // is flipped later) deletion, then insertion; a later
                    // option must be strictly cheaper.
                    let mut cell = (INF, Op::Undef);
                    for (cost, op) in [
                        (prev.get(j - 1).0 + cost_sub, op_sub),
                        (prev.get(j).0 + COST_DEL, Op::Del),
                        (left + COST_INS, Op::Ins),
                    ] {
                        if cell.0 > cost {
                            cell = (cost, op);
                        }
                    }
                    cell
                };
                row.cells.push(cell);
            }
            rows.push(row);
        }
    }

    /// The operations along the chosen path, from the start.
    fn trace(&self, rows: &[Row], n_h: usize) -> Vec<Op> {
        let mut ops = Vec::new();
        let (mut i, mut j) = (n_h, self.words_ref.len());
        while i > 0 || j > 0 {
            let op = rows[i].get(j).1;
            ops.push(op);
            match op {
                Op::Nop | Op::Sub if i > 0 && j > 0 => {
                    i -= 1;
                    j -= 1;
                }
                Op::Ins if j > 0 => j -= 1,
                Op::Del if i > 0 => i -= 1,
                // An unreachable cell on the path: sacreBLEU raises here;
                // it cannot happen with a beam that covers the diagonal.
                _ => break,
            }
        }
        ops.reverse();
        ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ter(hyp: &str, reference: &str) -> (u64, u64) {
        let s = Ter.segment_stats(hyp, reference);
        (s.edits, s.ref_len)
    }

    #[test]
    fn plain_edits() {
        assert_eq!(ter("a b c", "a b c"), (0, 3));
        assert_eq!(ter("a x c", "a b c"), (1, 3));
        assert_eq!(ter("a b", "a b c d"), (2, 4));
        assert_eq!(ter("a b c d e", "a c"), (3, 2));
        assert_eq!(ter("", "a b"), (2, 2));
        assert_eq!(ter("a b", ""), (2, 0));
        assert_eq!(ter("", ""), (0, 0));
        // Lowercased before comparing.
        assert_eq!(ter("The CAT", "the cat"), (0, 2));
    }

    #[test]
    fn a_block_shift_counts_as_one_edit() {
        // Moving "in the morning" to the end is one shift; without shifts it
        // would cost 6 (3 deletions + 3 insertions).
        assert_eq!(
            ter(
                "in the morning he reads the news",
                "he reads the news in the morning"
            ),
            (1, 7)
        );
        // Two swapped words: one shift of one word.
        assert_eq!(ter("b a c d", "a b c d"), (1, 4));
        // A shift and a substitution.
        assert_eq!(ter("d a b c x", "a b c d e"), (2, 5));
    }

    #[test]
    fn shift_slices_clip_like_python() {
        let w = ["a", "b", "c", "d", "e"];
        assert_eq!(perform_shift(&w, 3, 2, 0), ["d", "e", "a", "b", "c"]);
        assert_eq!(perform_shift(&w, 0, 2, 4), ["c", "d", "a", "b", "e"]);
        // A target inside the block's reach moves it past `target - start`
        // following words (values from sacreBLEU's `_perform_shift`).
        assert_eq!(perform_shift(&w, 1, 2, 2), ["a", "d", "b", "c", "e"]);
        assert_eq!(perform_shift(&w, 1, 2, 3), ["a", "d", "e", "b", "c"]);
        assert_eq!(perform_shift(&w, 3, 2, 4), w);
        assert_eq!(perform_shift(&w, 3, 2, 5), ["a", "b", "c", "d", "e"]);
        assert_eq!(perform_shift(&w, 2, 1, 2), w);
    }

    #[test]
    fn corpus_score_is_edits_over_reference_words() {
        let t = Ter
            .corpus_score(&["a x c", "b a c d", ""], &["a b c", "a b c d", "e f"])
            .unwrap();
        assert_eq!((t.num_edits, t.ref_length), (4, 9));
        assert!((t.score - 100.0 * 4.0 / 9.0).abs() < 1e-12);
        assert_eq!(Ter.corpus_score(&["a"], &[""]).unwrap().score, 100.0);
        assert_eq!(Ter.corpus_score(&[""], &[""]).unwrap().score, 0.0);
    }

    #[test]
    fn long_segments_finish() {
        let hyp: Vec<String> = (0..3000).map(|i| format!("w{}", (i * 7) % 101)).collect();
        let reference: Vec<String> = (0..2000).map(|i| format!("w{}", i % 101)).collect();
        let (edits, len) = ter(&hyp.join(" "), &reference.join(" "));
        assert_eq!(len, 2000);
        assert!((1000..=5000).contains(&edits), "{edits}");
    }
}
