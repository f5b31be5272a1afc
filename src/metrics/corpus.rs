//! Line-aligned test sets read the way sacreBLEU's command line reads them:
//! lines end at `\n` only, each line loses its trailing whitespace, nothing
//! is normalized (no NFC, a byte-order mark stays part of the first line).

use crate::input::Input;
use crate::metrics::pystr;

/// Why a test set cannot be scored.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{hyp} has {hyp_lines} lines but {reference} has {ref_lines}: hypotheses and references must be line-aligned")]
    LineCount {
        hyp: String,
        hyp_lines: usize,
        reference: String,
        ref_lines: usize,
    },

    #[error("{hyps} hypotheses but {refs} references: they must be line-aligned")]
    LengthMismatch { hyps: usize, refs: usize },
}

/// Splits a file's text into segments as sacreBLEU's command line does
/// (`open(..., newline="\n")`, then `line.rstrip()` per line): a final `\n`
/// ends the last line rather than starting an empty one, and a `\r` before
/// `\n` goes with the trailing whitespace.
pub fn lines(text: &str) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n').map(pystr::rstrip).collect()
}

/// A reference and one or more systems' outputs, line by line. Empty lines
/// are kept: sacreBLEU 2.x scores an empty reference as one with no words.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSet {
    pub refs: Vec<String>,
    /// One entry per system, each as long as `refs`.
    pub systems: Vec<Vec<String>>,
}

impl TestSet {
    /// Reads `reference` and `systems` into lines; every system must have as
    /// many lines as the reference.
    pub fn from_inputs(reference: &Input, systems: &[&Input]) -> Result<TestSet, EvalError> {
        let owned = |l: Vec<&str>| -> Vec<String> { l.into_iter().map(str::to_string).collect() };
        let refs = lines(&reference.text);
        let mut sys_lines = Vec::with_capacity(systems.len());
        for system in systems {
            let l = lines(&system.text);
            if l.len() != refs.len() {
                return Err(EvalError::LineCount {
                    hyp: system.name.clone(),
                    hyp_lines: l.len(),
                    reference: reference.name.clone(),
                    ref_lines: refs.len(),
                });
            }
            sys_lines.push(owned(l));
        }
        Ok(TestSet {
            refs: owned(refs),
            systems: sys_lines,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, text: &str) -> Input {
        Input {
            name: name.into(),
            text: text.into(),
        }
    }

    #[test]
    fn lines_follow_python_file_iteration() {
        assert_eq!(lines("a\nb\n"), ["a", "b"]);
        assert_eq!(lines("a\nb"), ["a", "b"]);
        assert_eq!(lines("a \r\n\n b\t\n"), ["a", "", " b"]);
        // A lone \r is not a line break for sacreBLEU (newline="\n").
        assert_eq!(lines("a\rb\n"), ["a\rb"]);
        assert_eq!(lines("\n"), [""]);
        assert!(lines("").is_empty());
        assert_eq!(lines("\u{feff}x\n"), ["\u{feff}x"]);
    }

    #[test]
    fn mismatched_line_counts_name_both_files() {
        let e = TestSet::from_inputs(&input("ref.txt", "a\nb\n"), &[&input("hyp.txt", "a\n")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("hyp.txt has 1 lines but ref.txt has 2"),
            "{e}"
        );
        let e = TestSet::from_inputs(
            &input("ref.txt", "a\nb\n"),
            &[&input("a.txt", "a\nb\n"), &input("b.txt", "a\nb\nc\n")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("b.txt has 3 lines but ref.txt has 2"), "{e}");
    }

    #[test]
    fn empty_lines_are_kept() {
        let set = TestSet::from_inputs(
            &input("ref.txt", "a\n \nb\n\n"),
            &[&input("hyp.txt", "x\n\ny\nz\n")],
        )
        .unwrap();
        assert_eq!(set.refs, ["a", "", "b", ""]);
        assert_eq!(set.systems, [["x", "", "y", "z"]]);
    }
}
