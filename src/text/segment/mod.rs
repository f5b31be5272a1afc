//! Paragraph and sentence segmentation of Vietnamese and English news text,
//! with byte spans into the original input and a kind per segment (sentence,
//! heading, caption, byline).
//!
//! The rules are hand-written rather than learned because every output
//! sentence must point back at its exact source bytes, and because news copy
//! in both languages follows a small set of conventions (bylines, titles such
//! as `PGS.TS.` or `Mr.`, quoted multi-sentence passages, one paragraph per
//! line on web pages) that a few rules cover well. `tests/segment_real.rs`
//! measures the boundaries against the VLSP 2013 news sentences.
//!
//! In short:
//! - Paragraphs: blank lines separate them, and so does a single line break
//!   unless it is a soft wrap (the line does not end a sentence and the next
//!   starts in lowercase).
//! - Sentences end after `.` `!` `?` `…` runs plus closing quotes/brackets,
//!   when whitespace and a plausible sentence start follow. Titles (`TS.`,
//!   `TP.`, `Mr.`) never end one; other abbreviations (`U.S.`, `etc.`,
//!   `Inc.`) only before a word from [`SENTENCE_STARTERS`]; list numbers,
//!   elision ellipses and bracketed citations stay inside the sentence.
//! - Kinds: a leading `HÀ NỘI (Reuters) -` is a byline; a one-segment
//!   paragraph without final punctuation of at most 15 words is a heading;
//!   photo credits and long unpunctuated closing text are captions.
//!
//! Nothing is normalized before segmenting: the input may be NFD, contain a
//! BOM, `\r\n`, NBSP or tabs, and spans still index its bytes. The model-side
//! copy of a segment comes from [`crate::text::model_text`].

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::normalize::is_blank;
use crate::types::{Segment, SegmentKind};

/// Headings longer than this many words are not headings but unpunctuated
/// text (a caption or a sentence).
const MAX_HEADING_WORDS: usize = 15;

/// Characters that end a sentence; `...` is a run of `.`.
fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

/// Closing quotes and brackets that belong to the sentence they follow.
fn is_closer(c: char) -> bool {
    matches!(c, '"' | '”' | '’' | '\'' | ')' | ']' | '}' | '»' | '›')
}

/// Opening quotes and brackets that belong to the sentence they start.
fn is_opener(c: char) -> bool {
    matches!(
        c,
        '“' | '"' | '‘' | '\'' | '(' | '[' | '{' | '«' | '‹' | '„'
    )
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '–' | '—' | '−' | '‒')
}

fn is_bullet(c: char) -> bool {
    matches!(c, '•' | '*' | '·' | '●' | '▪' | '►')
}

/// A line ending in one of these is a finished line, so a lowercase line
/// after it is still a new paragraph rather than a soft wrap.
fn ends_line(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | ':' | '”' | '"' | '’')
}

/// Line breaks: `\n` (also in `\r\n`), a lone `\r` (old Mac files) and the
/// Unicode ones that web copy and word processors produce.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// Titles and honorifics: a name always follows, so their dot never ends a
/// sentence. Compound titles (`PGS.TS.`, `GS.TSKH.`) are sequences of these.
#[rustfmt::skip]
const TITLES: &[&str] = &[
    // Vietnamese academic, professional and artistic titles.
    "TS", "Ts", "PGS", "GS", "ThS", "Ths", "Th.S", "TSKH", "BS", "Bs", "BSCKII", "BSCKI", "KS",
    "CN", "NSƯT", "NSND", "NGƯT", "NGND", "LS", "ĐD",
    // Vietnamese place abbreviations: thành phố, quận, phường, thị trấn.
    "TP", "Tp", "Q", "P", "TT",
    // English.
    "Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "Sen", "Rep", "Gen", "Gov", "Lt", "Col", "Capt", "Sgt",
    "Cmdr", "Adm", "Maj", "Rev", "Hon", "Pres", "Supt", "Messrs", "Mmes", "Mme",
];

/// Abbreviations that only ever sit inside a sentence, before what they
/// introduce: `vs.`, `e.g.`, `i.e.`, `v.` (law cases), page references.
#[rustfmt::skip]
const CONNECTORS: &[&str] = &[
    "vs", "v", "e.g", "i.e", "cf", "viz", "p", "pp", "tr", "Vol", "vol", "ed", "eds", "approx",
    "ca", "Fig", "fig", "Ref", "ref", "Art", "Sec", "Ch",
];

/// Abbreviations that may end a sentence. They only do when a word that
/// typically opens a sentence ([`SENTENCE_STARTERS`]) follows. Dotted
/// acronyms (`U.S.`, `a.m.`, `v.v.`) and single capitals (`J.`) behave the same.
#[rustfmt::skip]
const ABBREVIATIONS: &[&str] = &[
    "etc", "Inc", "Ltd", "Co", "Corp", "Cos", "Bros", "Jr", "Sr", "St", "Ave", "Blvd", "Rd", "Mt",
    "No", "Nos", "Dept", "Univ", "Assn", "est", "al",
    "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
    "Mon", "Tue", "Tues", "Wed", "Thu", "Thur", "Thurs", "Fri", "Sat", "Sun",
];

/// Words that commonly open a sentence in news copy. After an abbreviation
/// that can also end a sentence (`etc.`, `U.S.`, `Inc.`, `a.m.`), one of these
/// means the sentence did end: "in the U.S. The president said" splits,
/// "the U.S. Navy" does not. Compared after NFC.
#[rustfmt::skip]
pub const SENTENCE_STARTERS: &[&str] = &[
    // English.
    "The", "A", "An", "He", "She", "It", "They", "We", "I", "You", "In", "On", "At", "But",
    "And", "Or", "So", "Yet", "This", "That", "These", "Those", "There", "Here", "His", "Her",
    "Its", "Their", "Our", "My", "Your", "However", "Meanwhile", "Moreover", "Furthermore",
    "Also", "Still", "Then", "Now", "Today", "Yesterday", "Earlier", "Later", "Last", "Next",
    "After", "Before", "When", "While", "If", "As", "Although", "Though", "Because", "Since",
    "For", "According", "Despite", "During", "Under", "With", "Without", "Many", "Most", "Some",
    "Several", "Both", "Each", "Every", "All", "No", "Other", "Another", "What", "Why", "How",
    "Who", "Where", "Which", "One", "Two", "Three", "Officials", "Analysts", "Police",
    // Vietnamese.
    "Ông", "Bà", "Anh", "Chị", "Em", "Cô", "Tôi", "Chúng", "Họ", "Theo", "Trong", "Khi", "Đây",
    "Đó", "Điều", "Việc", "Những", "Các", "Một", "Hai", "Ba", "Tuy", "Nhưng", "Song", "Ngoài",
    "Sau", "Trước", "Vì", "Do", "Nếu", "Để", "Với", "Tại", "Từ", "Ngày", "Hôm", "Năm", "Tháng",
    "Sáng", "Chiều", "Tối", "Đêm", "Trưa", "Hiện", "Cùng", "Bên", "Còn", "Cũng", "Mặc", "Dù",
    "Thế", "Vậy", "Như", "Nhiều", "Riêng", "Đồng", "Qua", "Về", "Lúc", "Có", "Không", "Được",
    "Đặc", "Nhằm", "Bởi", "Trên", "Dưới", "Giữa", "Thậm", "Đến", "Tiếp", "Mỗi", "Hầu",
];

/// Cuts `input` into paragraphs, then sentences, headings, captions and
/// bylines, each with its byte span into `input`.
///
/// Infallible: any &str in, segments out; never panics (no slicing inside a UTF-8 char).
/// Every non-whitespace character (the BOM counts as whitespace) lands in
/// exactly one segment, in order; segments never start or end with whitespace.
pub fn segment(input: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut paragraph = 0;
    for (start, end) in paragraphs(input) {
        let before = out.len();
        segment_paragraph(input, start, end, paragraph, &mut out);
        if out.len() > before {
            paragraph += 1;
        }
    }
    for (id, seg) in out.iter_mut().enumerate() {
        seg.id = id;
    }
    out
}

/// The trimmed byte span of `input[start..end]`, or `None` when it is blank.
fn trim_span(input: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let text = input.get(start..end)?;
    let after_lead = text.trim_start_matches(is_blank);
    let lead = text.len() - after_lead.len();
    let trimmed = after_lead.trim_end_matches(is_blank);
    if trimmed.is_empty() {
        None
    } else {
        Some((start + lead, start + lead + trimmed.len()))
    }
}

/// Paragraph spans, trimmed. A blank line always separates paragraphs; a
/// single line break does too (web pages put each paragraph on one line)
/// unless the break looks like a soft wrap of hard-wrapped text.
fn paragraphs(input: &str) -> Vec<(usize, usize)> {
    let mut lines = Vec::new();
    let mut line_start = 0;
    let mut chars = input.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !is_line_break(c) {
            continue;
        }
        // In `\r\n` the `\n` ends the line; the `\r` is trimmed as whitespace.
        if c == '\r' && matches!(chars.peek(), Some((_, '\n'))) {
            continue;
        }
        lines.push((line_start, i));
        line_start = i + c.len_utf8();
    }
    lines.push((line_start, input.len()));

    let mut paras = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for (ls, le) in lines {
        match (trim_span(input, ls, le), current) {
            (None, Some(p)) => {
                paras.push(p);
                current = None;
            }
            (None, None) => {}
            (Some((s, e)), Some((ps, pe))) => {
                if is_soft_wrap(&input[ps..pe], &input[s..e]) {
                    current = Some((ps, e));
                } else {
                    paras.push((ps, pe));
                    current = Some((s, e));
                }
            }
            (Some(line), None) => current = Some(line),
        }
    }
    if let Some(p) = current {
        paras.push(p);
    }
    paras
}

/// Hard-wrapped text breaks lines mid-sentence: the line before does not end
/// a sentence and the next one continues in lowercase.
fn is_soft_wrap(before: &str, next: &str) -> bool {
    let finished = before.chars().next_back().is_some_and(ends_line);
    let continues = next.chars().next().is_some_and(char::is_lowercase);
    !finished && continues
}

fn segment_paragraph(
    input: &str,
    start: usize,
    end: usize,
    paragraph: usize,
    out: &mut Vec<Segment>,
) {
    let Some(text) = input.get(start..end) else {
        return;
    };
    let mut push = |kind, s: usize, e: usize| {
        out.push(Segment {
            id: 0,
            paragraph,
            kind,
            start: start + s,
            end: start + e,
        })
    };

    let mut body_start = 0;
    let has_byline = match byline_len(text) {
        Some(len) => {
            push(SegmentKind::Byline, 0, len);
            body_start = text.len() - text[len..].trim_start_matches(is_blank).len();
            true
        }
        None => false,
    };
    let body = &text[body_start..];
    if body.is_empty() {
        return;
    }
    let spans = split_sentences(body);
    let sole = !has_byline && spans.len() == 1;
    for (idx, &(s, e)) in spans.iter().enumerate() {
        let last = idx + 1 == spans.len();
        let kind = classify(&body[s..e], sole, last);
        push(kind, body_start + s, body_start + e);
    }
}

/// A news byline at the start of a paragraph: an optional short ALL-CAPS
/// place, a parenthesized source, then a dash: `(VTC News) -`,
/// `HÀ NỘI (Reuters) -`. Returns the byte length up to and including the dash.
fn byline_len(text: &str) -> Option<usize> {
    let open = text.find('(')?;
    let place = text[..open].trim_end_matches(is_blank);
    if !place.is_empty() {
        let place_ok = place.len() <= 40
            && place.chars().any(char::is_uppercase)
            && place.chars().all(|c| {
                (c.is_alphabetic() && !c.is_lowercase())
                    || is_combining_mark(c)
                    || (is_blank(c) && !is_line_break(c))
                    || matches!(c, '.' | ',' | '-' | '\'' | '’')
            });
        if !place_ok {
            return None;
        }
    }
    let inner_start = open + 1;
    let close = inner_start + text[inner_start..].find(')')?;
    let source = &text[inner_start..close];
    if source.chars().count() > 40
        || !source.chars().any(char::is_alphabetic)
        || source.chars().any(|c| c == '(' || is_line_break(c))
    {
        return None;
    }
    let after = &text[close + 1..];
    let gap = after.len()
        - after
            .trim_start_matches(|c| is_blank(c) && !is_line_break(c))
            .len();
    let dash_at = close + 1 + gap;
    let dash = text[dash_at..].chars().next().filter(|&c| is_dash(c))?;
    let end = dash_at + dash.len_utf8();
    match text[end..].chars().next() {
        None => Some(end),
        Some(c) if is_blank(c) => Some(end),
        Some(_) => None,
    }
}

/// Sentence spans (byte offsets into `text`, which is trimmed and non-empty).
fn split_sentences(text: &str) -> Vec<(usize, usize)> {
    let cs: Vec<(usize, char)> = text.char_indices().collect();
    let n = cs.len();
    let byte_at = |i: usize| cs.get(i).map_or(text.len(), |&(b, _)| b);
    let mut spans = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < n {
        if !is_terminator(cs[i].1) {
            i += 1;
            continue;
        }
        let run_start = i;
        let mut j = i;
        while j < n && is_terminator(cs[j].1) {
            j += 1;
        }
        let mut k = j;
        while k < n && is_closer(cs[k].1) {
            k += 1;
        }
        i = k;
        // No whitespace after the terminator: decimals, dates, URLs, e-mails,
        // `TP.HCM`, or a closing quote followed by `, ông nói`.
        if k >= n || !is_blank(cs[k].1) {
            continue;
        }
        let mut m = k;
        while m < n && is_blank(cs[m].1) {
            m += 1;
        }
        if m >= n || !starts_sentence(&cs, m) {
            continue;
        }
        let cut = Cut {
            text,
            cs: &cs,
            start,
            run_start,
            run_end: j,
            closed_at: k,
            next: m,
        };
        if cut.continues() {
            continue;
        }
        spans.push((byte_at(start), byte_at(k)));
        start = m;
        i = m;
    }
    if start < n {
        spans.push((byte_at(start), text.len()));
    }
    spans
}

/// Whether the character at `m` can open a sentence: an uppercase letter
/// (Đ, Ô, Ư included), a digit, an opening quote or bracket, a dash or
/// bullet, a list marker such as `a)` / `b.`, or a brand like `iPhone`.
fn starts_sentence(cs: &[(usize, char)], m: usize) -> bool {
    let Some(&(_, c)) = cs.get(m) else {
        return false;
    };
    if is_opener(c) {
        // A quoted term that goes on in lowercase (`“cố ý làm trái...”
        // “gây hậu quả”`) is still the same sentence.
        let mut q = m;
        while cs.get(q).is_some_and(|&(_, c)| is_opener(c)) {
            q += 1;
        }
        return !cs.get(q).is_some_and(|&(_, c)| c.is_lowercase()) || starts_sentence(cs, q);
    }
    if c.is_uppercase() || c.is_numeric() || is_dash(c) || is_bullet(c) {
        return true;
    }
    if !c.is_lowercase() {
        return false;
    }
    let word: Vec<char> = cs[m..]
        .iter()
        .map(|&(_, c)| c)
        .take_while(|&c| is_word_char(c))
        .take(8)
        .collect();
    let after = |d: usize| cs.get(m + d).map(|&(_, c)| c);
    // List markers: `a)`, `(ii)`, `b. `.
    let marker = match after(word.len()) {
        Some(')') => word.len() <= 4,
        Some('.') => word.len() == 1 && after(2).is_some_and(is_blank),
        _ => false,
    };
    marker || word.iter().any(|c| c.is_uppercase())
}

/// A candidate sentence boundary: a terminator run followed by whitespace
/// and a plausible sentence start. Indices are into the char vector `cs`.
struct Cut<'a> {
    text: &'a str,
    cs: &'a [(usize, char)],
    /// First char of the sentence being built.
    start: usize,
    run_start: usize,
    run_end: usize,
    /// After the closing quotes/brackets that follow the run.
    closed_at: usize,
    /// First char after the whitespace.
    next: usize,
}

/// Longest word that is looked at as a possible abbreviation; longer tokens
/// (URLs, long numbers) never are one, and the cap keeps scanning linear.
const MAX_ABBREV_CHARS: usize = 24;

/// Longest bracketed citation (`(Điều 2 Hiến pháp năm 1992)`) that is kept
/// with the sentence before it.
const MAX_CITATION_CHARS: usize = 80;

enum Abbrev {
    /// Never ends a sentence.
    Title,
    /// Ends one only before a sentence-starting word.
    MayEnd,
}

impl Cut<'_> {
    fn byte_at(&self, i: usize) -> usize {
        self.cs.get(i).map_or(self.text.len(), |&(b, _)| b)
    }

    /// True when the sentence goes on past this terminator.
    fn continues(&self) -> bool {
        let is_dot = |i: usize| self.cs.get(i).is_some_and(|&(_, c)| c == '.');
        let single_dot = self.run_end - self.run_start == 1 && is_dot(self.run_start);
        let ellipsis = self.cs[self.run_start..self.run_end]
            .iter()
            .all(|&(_, c)| c == '.' || c == '…')
            && !single_dot;
        if ellipsis && self.ellipsis_is_elision() {
            return true;
        }
        if self.cites_source() {
            return true;
        }
        // `?`, `!`, ellipses and anything already closed by a quote or
        // bracket end the sentence; only a bare `.` can be an abbreviation.
        if !single_dot || self.closed_at != self.run_end {
            return false;
        }
        let mut w = self.run_start;
        while w > self.start {
            let c = self.cs[w - 1].1;
            if is_blank(c) || is_opener(c) {
                break;
            }
            if self.run_start - w >= MAX_ABBREV_CHARS {
                return false;
            }
            w -= 1;
        }
        let raw = &self.text[self.byte_at(w)..self.byte_at(self.run_start)];
        if raw.is_empty() {
            return false;
        }
        let word: String = raw.nfc().collect();
        if is_list_marker(&word) && self.introduces_item(w) {
            return true;
        }
        match abbreviation(&word) {
            None => false,
            Some(Abbrev::Title) => true,
            Some(Abbrev::MayEnd) => !self.next_opens_sentence(),
        }
    }

    /// The last non-blank, non-opener char of the sentence before index `i`.
    fn before(&self, i: usize) -> Option<char> {
        self.cs[self.start..i]
            .iter()
            .rev()
            .map(|&(_, c)| c)
            .find(|&c| !is_blank(c) && !is_opener(c))
    }

    /// An ellipsis that marks omitted text rather than a trailing-off
    /// sentence: at the start of the sentence or of a quote or bracket
    /// (`“... Làng có`, `(…)`), or after a comma or colon, where it reads
    /// "and so on" (`(Bộ Tài nguyên),... 100% UBND`) unless a capitalized
    /// word follows.
    fn ellipsis_is_elision(&self) -> bool {
        let prev = self.run_start.checked_sub(1).map(|i| self.cs[i].1);
        if prev.is_some_and(is_opener) {
            return true;
        }
        match self.before(self.run_start) {
            None => true,
            // After a list, a capitalized word still starts a new sentence
            // (`xa rời quần chúng,... Trải qua`).
            Some(',' | ';' | ':') => !self.cs[self.next].1.is_uppercase(),
            Some(_) => false,
        }
    }

    /// `1.`, `a.` opening a sentence or following a colon or semicolon
    /// (`gồm: 1. Tổng ân xá...; 2. Cải cách...`) number an item whose text
    /// follows in the same sentence.
    fn introduces_item(&self, word_start: usize) -> bool {
        matches!(self.before(word_start), None | Some(':' | ';'))
    }

    /// A bracketed source right after a sentence or quote belongs to it:
    /// `“...không được phép can thiệp.” (Điều 69).`
    fn cites_source(&self) -> bool {
        if self.cs[self.next].1 != '(' {
            return false;
        }
        let inner = self.cs[self.next + 1..]
            .iter()
            .take(MAX_CITATION_CHARS)
            .position(|&(_, c)| c == ')' || c == '(' || is_terminator(c) || is_line_break(c));
        let Some(close) = inner.map(|p| self.next + 1 + p) else {
            return false;
        };
        self.cs[close].1 == ')'
            && self
                .cs
                .get(close + 1)
                .is_some_and(|&(_, c)| is_terminator(c))
            && self.cs.get(close + 2).is_none_or(|&(_, c)| is_blank(c))
    }

    /// After an abbreviation that may end a sentence: does what follows look
    /// like a new sentence rather than the rest of a name (`U.S. Navy`)?
    fn next_opens_sentence(&self) -> bool {
        let c = self.cs[self.next].1;
        if (is_opener(c) && !matches!(c, '(' | '[' | '{')) || is_dash(c) {
            return true;
        }
        let mut e = self.next;
        while e < self.cs.len() && is_word_char(self.cs[e].1) {
            e += 1;
        }
        let word: String = self.text[self.byte_at(self.next)..self.byte_at(e)]
            .nfc()
            .collect();
        SENTENCE_STARTERS.contains(&word.as_str())
    }
}

/// `1.`, `1.2.`, `IV.`, `a.`: what numbers a list item or section.
fn is_list_marker(word: &str) -> bool {
    let numeric = word
        .split('.')
        .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    let roman = word.len() <= 6
        && word
            .chars()
            .all(|c| matches!(c, 'I' | 'V' | 'X' | 'L' | 'C'));
    let letter = word.chars().count() == 1 && word.chars().all(char::is_alphabetic);
    numeric || roman || letter
}

fn abbreviation(word: &str) -> Option<Abbrev> {
    if CONNECTORS.contains(&word) || TITLES.contains(&word) {
        return Some(Abbrev::Title);
    }
    let parts: Vec<&str> = word.split('.').collect();
    if parts.len() > 1 && parts.iter().all(|p| TITLES.contains(p)) {
        return Some(Abbrev::Title);
    }
    if ABBREVIATIONS.contains(&word) {
        return Some(Abbrev::MayEnd);
    }
    let single_letter = |p: &str| {
        let mut chars = p.chars();
        matches!((chars.next(), chars.next()), (Some(c), None) if c.is_alphabetic())
    };
    if parts.len() > 1 && parts.iter().all(|p| single_letter(p)) {
        return Some(Abbrev::MayEnd);
    }
    if single_letter(word) && word.chars().all(char::is_uppercase) {
        return Some(Abbrev::MayEnd);
    }
    None
}

fn classify(text: &str, sole: bool, last: bool) -> SegmentKind {
    let nfc: String = text.nfc().collect();
    if has_photo_credit(&nfc) {
        return SegmentKind::Caption;
    }
    if !ends_with_final_punct(&nfc) {
        let words = nfc.split(is_blank).filter(|w| !w.is_empty()).count();
        if sole && words <= MAX_HEADING_WORDS {
            return SegmentKind::Heading;
        }
        if last && words > MAX_HEADING_WORDS {
            return SegmentKind::Caption;
        }
    }
    SegmentKind::Sentence
}

fn ends_with_final_punct(text: &str) -> bool {
    text.trim_end_matches(is_closer)
        .chars()
        .next_back()
        .is_some_and(|c| is_terminator(c) || matches!(c, ':' | ';'))
}

/// Photo credits mark a caption wherever they sit in the segment.
fn has_photo_credit(nfc: &str) -> bool {
    const MARKERS: &[&str] = &[
        "Ảnh:",
        "Ảnh :",
        "ẢNH:",
        "Ảnh minh họa",
        "Ảnh minh hoạ",
        "ảnh minh họa",
        "ảnh minh hoạ",
        "Photo:",
        "PHOTO:",
        "Photo by",
        "Photos:",
    ];
    if MARKERS.iter().any(|m| nfc.contains(m)) {
        return true;
    }
    // `(Ảnh TTXVN)`, `(Photo Reuters)`: a credit in brackets without a colon.
    ["(Ảnh ", "(Photo "].iter().any(|m| {
        nfc.match_indices(m).any(|(i, _)| {
            nfc[i + m.len()..]
                .chars()
                .next()
                .is_some_and(char::is_uppercase)
        })
    })
}

#[cfg(test)]
mod tests;
