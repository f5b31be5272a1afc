//! A bound on what a pickle can make candle's unpickler build, checked
//! before it runs (`pytorch_model.bin` is outside data: see
//! [`checkpoint`](super::checkpoint)).

use std::collections::HashMap;

/// The most a pickle may build, in objects plus string bytes, copies made
/// by memo references included (real state dicts: well under 10^6).
const MAX_PICKLE_WEIGHT: u64 = 1 << 22;
/// The deepest nesting of pickled objects (real state dicts: under 10).
const MAX_PICKLE_DEPTH: usize = 256;

/// Walks a pickle's opcodes as candle's unpickler runs them, weighing what
/// it would build, so that a small file cannot make it allocate without
/// bound: a string longer than the pickle, memo references copied over and
/// over (each copy is a deep clone), nesting deep enough to overflow the
/// stack, or a LONG1 wider than 8 bytes. Whatever candle rejects itself (an
/// unknown opcode, an empty stack, a missing memo entry, a truncated
/// argument) ends the walk with `Ok`: the unpickler then says what is wrong.
pub(crate) fn check_pickle(p: &[u8]) -> Result<(), String> {
    let mut weights = Weights::default();
    let mut pos = 0usize;
    loop {
        let at = pos;
        let Some((effect, next)) = opcode(p, pos)? else {
            return Ok(());
        };
        if next > p.len() {
            return Ok(());
        }
        pos = next;
        if !weights.apply(effect, at)? {
            return Ok(());
        }
    }
}

/// What the unpickler would hold for one stack entry: the objects and
/// string bytes it is made of, how deep it nests, and whether it is a MARK.
#[derive(Clone, Copy)]
struct Item {
    weight: u64,
    depth: usize,
    mark: bool,
}

impl Item {
    fn leaf(weight: u64) -> Self {
        Item {
            weight,
            depth: 1,
            mark: false,
        }
    }
}

/// What one opcode does to the stack. `None` counts: pop down to the mark.
enum Effect {
    Push(Item),
    /// Pop items and push one object made of them (tuples, calls).
    Combine(Option<usize>),
    /// Pop items into the object below them (appends, set items).
    Merge(Option<usize>),
    MemoPut(u32),
    MemoGet(u32),
    Nothing,
}

/// Decodes the opcode at `pos`: its effect and where the next one starts
/// (possibly past the end: the unpickler reports the truncation). `None`
/// for STOP, the end, or what candle does not know.
fn opcode(p: &[u8], mut pos: usize) -> Result<Option<(Effect, usize)>, String> {
    let at = pos;
    let u32_at = |pos: usize| {
        p.get(pos..pos + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let Some(&op) = p.get(pos) else {
        return Ok(None);
    };
    pos += 1;
    let effect = match op {
        0x80 => {
            pos += 1;
            Effect::Nothing
        }
        b'c' => {
            // GLOBAL: module and name, each ending at a newline.
            let mut weight = 1;
            for _ in 0..2 {
                let rest = p.get(pos..).unwrap_or(&[]);
                let n = rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(rest.len(), |n| n + 1);
                weight += n as u64;
                pos += n;
            }
            Effect::Push(Item::leaf(weight))
        }
        b'X' => {
            let Some(len) = u32_at(pos) else {
                return Ok(None);
            };
            pos += 4;
            let left = p.len() - pos;
            if len as usize > left {
                return Err(format!(
                    "a string of {len} bytes at byte {at} runs past the end of the pickle ({left} bytes left)"
                ));
            }
            pos += len as usize;
            Effect::Push(Item::leaf(1 + u64::from(len)))
        }
        b'J' | b'K' | b'M' | b'G' => {
            pos += match op {
                b'J' => 4,
                b'K' => 1,
                b'M' => 2,
                _ => 8,
            };
            Effect::Push(Item::leaf(1))
        }
        0x8a => {
            let Some(&n) = p.get(pos) else {
                return Ok(None);
            };
            if n > 8 {
                return Err(format!(
                    "an integer of {n} bytes at byte {at} (at most 8 are supported)"
                ));
            }
            pos += 1 + n as usize;
            Effect::Push(Item::leaf(1))
        }
        b')' | b'}' | b']' | b'N' | 0x88 | 0x89 => Effect::Push(Item::leaf(1)),
        b'(' => Effect::Push(Item {
            mark: true,
            ..Item::leaf(1)
        }),
        b't' | b'd' => Effect::Combine(None),
        0x85..=0x87 => Effect::Combine(Some(usize::from(op - 0x84))),
        b'R' | b'b' | 0x81 => Effect::Combine(Some(2)),
        b'Q' => Effect::Combine(Some(1)),
        b'a' => Effect::Merge(Some(1)),
        b's' => Effect::Merge(Some(2)),
        b'e' | b'u' => Effect::Merge(None),
        b'q' | b'h' | b'r' | b'j' => {
            let id = if matches!(op, b'q' | b'h') {
                p.get(pos).map(|&id| u32::from(id))
            } else {
                u32_at(pos)
            };
            let Some(id) = id else {
                return Ok(None);
            };
            pos += if matches!(op, b'q' | b'h') { 1 } else { 4 };
            if matches!(op, b'q' | b'r') {
                Effect::MemoPut(id)
            } else {
                Effect::MemoGet(id)
            }
        }
        // STOP, or an opcode candle does not know.
        _ => return Ok(None),
    };
    Ok(Some((effect, pos)))
}

/// The unpickler's stack and memo, weighed rather than built.
#[derive(Default)]
struct Weights {
    stack: Vec<Item>,
    memo: HashMap<u32, Item>,
    total: u64,
}

impl Weights {
    /// Applies one opcode's effect (`at`: its byte offset, for messages).
    /// `Ok(false)` where candle's unpickler would fail on its own.
    fn apply(&mut self, effect: Effect, at: usize) -> Result<bool, String> {
        let new = match effect {
            Effect::Nothing => return Ok(true),
            Effect::Push(item) => {
                self.total = self.total.saturating_add(item.weight);
                item
            }
            Effect::Combine(n) => {
                let Some((weight, depth)) = self.pop(n) else {
                    return Ok(false);
                };
                self.total = self.total.saturating_add(1);
                Item {
                    weight: weight.saturating_add(1),
                    depth: depth + 1,
                    mark: false,
                }
            }
            Effect::Merge(n) => {
                let Some((weight, depth)) = self.pop(n) else {
                    return Ok(false);
                };
                let Some(mut top) = self.stack.pop() else {
                    return Ok(false);
                };
                top.weight = top.weight.saturating_add(weight);
                top.depth = top.depth.max(depth + 1);
                top
            }
            Effect::MemoPut(id) => {
                let Some(&top) = self.stack.last() else {
                    return Ok(false);
                };
                self.total = self.total.saturating_add(top.weight);
                self.memo.insert(id, top);
                return Ok(true);
            }
            Effect::MemoGet(id) => {
                let Some(&item) = self.memo.get(&id) else {
                    return Ok(false);
                };
                self.total = self.total.saturating_add(item.weight);
                item
            }
        };
        if new.depth > MAX_PICKLE_DEPTH {
            return Err(format!(
                "objects nested more than {MAX_PICKLE_DEPTH} deep (at byte {at})"
            ));
        }
        if self.total > MAX_PICKLE_WEIGHT {
            return Err(format!(
                "it would build more than {MAX_PICKLE_WEIGHT} objects (at byte {at}; memo references copy what they point at)"
            ));
        }
        self.stack.push(new);
        Ok(true)
    }

    /// Pops `n` items (`None`: down to the mark, which goes too) and
    /// returns their summed weight and greatest depth; `None` if there are
    /// not that many (or no mark).
    fn pop(&mut self, n: Option<usize>) -> Option<(u64, usize)> {
        let from = match n {
            Some(n) => self.stack.len().checked_sub(n)?,
            None => {
                let mark = self.stack.iter().rposition(|i| i.mark)?;
                self.stack.remove(mark);
                mark
            }
        };
        let items = self.stack.split_off(from);
        Some(items.iter().fold((0u64, 0usize), |(w, d), i| {
            (w.saturating_add(i.weight), d.max(i.depth))
        }))
    }
}
