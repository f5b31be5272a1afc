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

use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::normalize::is_blank;

/// What a segment is within the article, so later steps can treat a byline
/// or a heading differently from running text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentKind {
    Sentence,
    Heading,
    Caption,
    Byline,
}

impl SegmentKind {
    /// The same lowercase name serde uses.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentKind::Sentence => "sentence",
            SegmentKind::Heading => "heading",
            SegmentKind::Caption => "caption",
            SegmentKind::Byline => "byline",
        }
    }
}

/// One unit of translation: a sentence, heading, caption or byline, located
/// by its byte span in the original input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// 0-based ordinal over the whole document.
    pub id: usize,
    /// 0-based paragraph ordinal.
    pub paragraph: usize,
    pub kind: SegmentKind,
    /// Byte offset into the original input (inclusive).
    pub start: usize,
    /// Byte offset into the original input (exclusive).
    pub end: usize,
}

impl Segment {
    /// The source text of this segment. `input` must be the string that was
    /// segmented; for any other string this returns `""` rather than
    /// panicking on a span that does not fit it.
    pub fn text<'a>(&self, input: &'a str) -> &'a str {
        input.get(self.start..self.end).unwrap_or("")
    }
}

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
mod tests {
    use super::*;
    use SegmentKind::{Byline, Caption, Heading, Sentence};

    const VI_SEED: &str = include_str!("../../seeds/vi-vtc-hanoi-convention-signing.txt");
    const EN_SEED: &str = include_str!("../../seeds/en-sggp-global-shield.txt");

    /// The hard invariants, checked on every input the tests use.
    fn check(input: &str) -> Vec<Segment> {
        let segs = segment(input);
        let mut covered = 0;
        let mut last_paragraph = None;
        for (i, s) in segs.iter().enumerate() {
            assert_eq!(s.id, i, "ids are ordinals");
            assert!(s.start < s.end, "empty segment {s:?}");
            assert!(
                s.start >= covered,
                "segments overlap or are out of order: {s:?}"
            );
            let text = input.get(s.start..s.end).expect("span on char boundaries");
            assert_eq!(s.text(input), text);
            assert!(
                !text.starts_with(is_blank) && !text.ends_with(is_blank),
                "untrimmed {text:?}"
            );
            let gap = &input[covered..s.start];
            assert!(gap.chars().all(is_blank), "dropped {gap:?} before {text:?}");
            match last_paragraph {
                None => assert_eq!(s.paragraph, 0),
                Some(p) => assert!(
                    s.paragraph == p || s.paragraph == p + 1,
                    "paragraph jump at {s:?}"
                ),
            }
            last_paragraph = Some(s.paragraph);
            covered = s.end;
        }
        let tail = &input[covered..];
        assert!(tail.chars().all(is_blank), "dropped tail {tail:?}");
        segs
    }

    fn texts(input: &str) -> Vec<&str> {
        check(input).iter().map(|s| s.text(input)).collect()
    }

    fn kinds(input: &str) -> Vec<(SegmentKind, &str)> {
        check(input)
            .iter()
            .map(|s| (s.kind, s.text(input)))
            .collect()
    }

    fn layout(input: &str) -> Vec<(usize, SegmentKind, &str)> {
        check(input)
            .iter()
            .map(|s| (s.paragraph, s.kind, s.text(input)))
            .collect()
    }

    // ---- seeds -------------------------------------------------------

    /// Every boundary below was decided by reading the article, not by
    /// printing what the segmenter does.
    #[test]
    fn vi_seed_full_segmentation() {
        let expected: Vec<(usize, SegmentKind, &str)> = vec![
        (0, Byline, "(VTC News) -"),
        (1, Sentence, "Sáng 25/10, Lễ mở ký Công ước Liên hợp quốc về phòng chống tội phạm mạng (Công ước Hà Nội) diễn ra với sự tham gia kí của gần 70 nước, với sự có mặt của hàng trăm đại biểu trong nước và quốc tế."),
        (2, Sentence, "Sự kiện do Việt Nam đăng cai tổ chức tại Trung tâm Hội nghị Quốc gia Hà Nội."),
        (2, Sentence, "Việc ký kết tại Hà Nội được đánh giá là dấu mốc đặc biệt, nhấn mạnh vị thế quốc tế của Việt Nam, thể hiện vai trò chủ động của Việt Nam trong hợp tác đa phương, đồng thời phản ánh sự ghi nhận của cộng đồng quốc tế với quá trình đóng góp của Việt Nam khi xây dựng Công ước."),
        (3, Heading, "Tiềm năng to lớn"),
        (4, Sentence, "Đại sứ Anh Iain Frew nhấn mạnh sự cần thiết của việc cùng nhau hành động, chia sẻ thông tin, hợp tác điều tra và phối hợp giữa các quốc gia thông qua công ước mới về phòng, chống tội phạm mạng."),
        (5, Sentence, "“Điều đặc biệt ý nghĩa tại lễ ký kết hôm nay ở Hà Nội là không chỉ có đại diện chính phủ, mà còn có sự tham gia của khu vực tư nhân, các tổ chức liên quan khác bởi chỉ khi tất cả cùng đồng hành, chúng ta mới có thể đạt được tiến bộ thực sự”, ông nói."),
        (6, Sentence, "Đại sứ Anh Iain Frew đại diện Vương quốc Anh tham gia ký kết."),
        (7, Sentence, "Theo ông Iain Frew, khi không gian mạng và công nghệ số phát triển với tốc độ chóng mặt, đặc biệt là với AI và các công nghệ mới nổi, vấn đề an ninh mạng ngày càng trở nên phức tạp."),
        (7, Sentence, "Ông cho rằng Việt Nam đã thể hiện cam kết mạnh mẽ trong việc định hình và quản lý các công nghệ mới, đảm bảo rằng việc triển khai luôn gắn liền với các nguyên tắc và cam kết của Công ước quốc tế."),
        (8, Sentence, "“Tôi nhận thấy tiềm năng to lớn ở Việt Nam, khi ngành công nghệ và dịch vụ tài chính đang phát triển nhanh chóng."),
        (8, Sentence, "Chúng tôi, phía Anh, đang hợp tác chặt chẽ với Việt Nam trong những lĩnh vực này, đặc biệt là trong việc bảo vệ dữ liệu cá nhân và phòng chống tội phạm tài chính - vốn là một phần quan trọng của tội phạm mạng”."),
        (9, Sentence, "Ông cho biết, hàng năm, Vương quốc Anh tổ chức các chương trình quy tụ doanh nghiệp công nghệ và an ninh mạng, giúp các công ty vừa tự bảo vệ mình, vừa hợp tác với chính phủ."),
        (9, Sentence, "Nhiều doanh nghiệp Anh đến Việt Nam lần này và thấy những cơ hội hợp tác đầy hứa hẹn, đặc biệt trong lĩnh vực công nghệ tài chính."),
        (10, Heading, "Thời khắc bước ngoặt"),
        (11, Sentence, "Trả lời báo chí bên lề sự kiện, đồng Bộ trưởng về Ngoại giao và Thương mại Australia Matt Thistlethwaite bình luận, đây là thời điểm quan trọng để Việt Nam và thế giới cùng chung tay giải quyết thách thức an ninh mạng ngày càng lớn, nhằm bảo đảm cho người dân và cộng đồng được an toàn, bảo mật."),
        (12, Sentence, "Đồng bộ trưởng về Ngoại giao và Thương mại Australia Matt Thistlethwaite đại diện Australia tham gia ký kết Công ước Liên hợp quốc về phòng chống tội phạm mạng."),
        (13, Sentence, "Ông cho biết khi cùng vợ mình du lịch “bụi” đến Việt Nam 20 năm trước, ông đã luôn trân trọng con người Việt Nam thân thiện và vẻ đẹp thiên nhiên, đồng thời thực sự ấn tượng với sự phát triển vượt bậc của Việt Nam trong hai thập kỷ qua - đặc biệt là tại Hà Nội."),
        (14, Sentence, "\"Chính vì vậy, việc Việt Nam được chọn làm nơi tổ chức lễ ký kết quan trọng này là minh chứng rõ ràng cho cam kết mạnh mẽ của các bạn trong việc đối phó với các thách thức an ninh mạng - không chỉ trong khu vực mà còn trên phạm vi toàn cầu - cũng như thể hiện tinh thần hợp tác đa phương của Việt Nam\"."),
        (15, Sentence, "Ông cho rằng đây cũng là một biểu tượng tuyệt vời cho sự phát triển kinh tế và xã hội của Việt Nam."),
        (16, Sentence, "Theo nhà ngoại giao Australia, đây là thời khắc có tính bước ngoặt, khi lần đầu tiên cộng đồng quốc tế có một công ước toàn cầu chuyên biệt nhằm ngăn chặn, điều tra và truy tố các tội phạm liên quan đến an ninh mạng."),
        (16, Sentence, "Công ước cũng quy định rõ cách thức chia sẻ và bảo vệ chứng cứ để bảo đảm tính toàn vẹn, giúp các quy trình pháp lý ở từng quốc gia được thực thi hiệu quả."),
        (17, Sentence, "\"Việt Nam đang đóng vai trò tiên phong trong nỗ lực toàn cầu này, và đó là điều mà các bạn hoàn toàn có thể tự hào\"."),
        (18, Sentence, "Ông chia sẻ thêm, Australia đang thúc đẩy hợp tác khu vực thông qua chương trình chính sách An ninh mạng khu vực Đông Nam Á và Thái Bình Dương (SEA-PAC Cyber), với ngân sách lên đến hàng chục triệu USD nhằm nâng cao năng lực ứng phó với tội phạm mạng cho các đối tác trong khu vực, trong đó có Việt Nam."),
        (18, Sentence, "Mục tiêu là cùng nhau bảo vệ người dân, doanh nghiệp và nền kinh tế khỏi các nguy cơ an ninh mạng."),
        (19, Sentence, "\"Chúng tôi rất vui mừng khi các tổ chức của Australia đang hoạt động tại Việt Nam có mối quan hệ hợp tác chặt chẽ với các đối tác Việt Nam - cùng chia sẻ kinh nghiệm, nâng cao kỹ năng và năng lực, qua đó góp phần đấu tranh chống tội phạm mạng và bảo đảm an toàn cho mọi người\"."),
        (20, Sentence, "Đại sứ Thụy Điển Johan Ndisi đại diện Thụy Điển tham gia ký kết."),
        (21, Sentence, "Đại sứ Thụy Điển Johan Ndisi cho biết, đối với Thụy Điển, việc thông qua Công ước Hà Nội là một bước tiến tích cực."),
        (21, Sentence, "Tội phạm mạng hiện là một trong những mối đe dọa phát triển nhanh nhất đối với xã hội, nền kinh tế và hệ thống quản trị trên toàn thế giới."),
        (22, Sentence, "Từ các cuộc tấn công ransomware vào bệnh viện và thành phố đến sự lây lan của gian lận và khai thác trực tuyến, không quốc gia nào là miễn nhiễm."),
        (22, Sentence, "Các mạng lưới tội phạm hoạt động không phân biệt biên giới, và hợp tác pháp lý của chúng ta cũng phải linh hoạt và toàn diện như vậy."),
        (23, Sentence, "\"Khi chúng ta tiến tới giai đoạn triển khai, Thụy Điển mong muốn nỗ lực thúc đẩy môi trường số an toàn, cởi mở và linh hoạt."),
        (23, Sentence, "Cùng nhau, chúng ta có thể đảm bảo rằng không gian mạng vẫn là động lực cho sự tiến bộ, chứ không phải là công cụ cho sự bóc lột."),
        (23, Sentence, "Một không gian mạng an toàn cũng phải là không gian mạng tôn trọng quyền con người\", Đại sứ chia sẻ."),
        ];
        let got = layout(VI_SEED);
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g, e, "segment {i}");
        }
        assert_eq!(got.len(), expected.len());
    }

    #[test]
    fn vi_seed_quoted_passages_keep_their_quotes_at_the_ends() {
        let t = texts(VI_SEED);
        let opening: Vec<&&str> = t.iter().filter(|s| s.starts_with(['“', '"'])).collect();
        let closing: Vec<&&str> = t
            .iter()
            .filter(|s| !s.starts_with(['“', '"']) && !s.contains('“') && s.contains(['”', '"']))
            .collect();
        // Six quotations; two of them span several sentences, and their
        // inner sentences carry no quote mark at all.
        assert_eq!(opening.len(), 6, "{opening:#?}");
        assert_eq!(closing.len(), 2, "{closing:#?}");
        assert!(closing[0].ends_with("tội phạm mạng”."));
        assert!(closing[1].ends_with("quyền con người\", Đại sứ chia sẻ."));
        assert!(t.contains(&"Cùng nhau, chúng ta có thể đảm bảo rằng không gian mạng vẫn là động lực cho sự tiến bộ, chứ không phải là công cụ cho sự bóc lột."));
    }

    #[test]
    fn en_seed() {
        let segs = layout(EN_SEED);
        // Web text: every non-empty line is its own paragraph.
        let lines = EN_SEED.lines().filter(|l| !l.trim().is_empty()).count();
        assert_eq!(segs.last().map(|s| s.0 + 1), Some(lines));
        assert_eq!(segs.len(), 18);
        assert_eq!(
            segs[0].2.len(),
            EN_SEED.lines().nth(1).map_or(0, str::len),
            "first paragraph is one sentence"
        );
        assert_eq!(
            segs[16],
            (
                7,
                Heading,
                "Source: https://www.sggp.org.vn/xac-lap-la-chan-toan-cau-post819974.html"
            )
        );
        assert_eq!(segs[17], (8, Heading, "Comment (0)"));
        assert!(segs[..16].iter().all(|s| s.1 == Sentence));
        // A closing quote after a comma or a period inside a quote.
        assert!(segs.iter().any(|s| s.2.starts_with("These actions are often justified under the guise of \"protecting national interests,\" but in reality")));
        assert!(segs.iter().any(|s| s
            .2
            .ends_with("falling into mistrust or a \"digital arms race.\"")));
        assert_eq!(segs.iter().filter(|s| s.0 == 5).count(), 4);
    }

    // ---- invariants and robustness ----------------------------------

    #[test]
    fn tricky_strings_never_panic() {
        let long_word = "a".repeat(100_000);
        let long_line = "Câu dài. ".repeat(20_000);
        let dots = ".".repeat(10_000);
        let long_abbrev = format!("{}. Theo", "x.".repeat(5_000));
        let cases: Vec<&str> = vec![
            "",
            " ",
            "\n",
            "\n\n\n",
            " \t\u{a0}\r\n \u{2028}",
            "\u{FEFF}",
            "\u{FEFF}\u{FEFF} ",
            ".",
            "...",
            "…",
            "?!",
            "!!! ???",
            "(",
            ")",
            "(()",
            "(VTC News)",
            "(VTC News) -",
            "(VTC News)-x",
            "( ) -",
            "HÀ NỘI (",
            "“",
            "”",
            "\"",
            "'",
            "“ ”",
            "‘’",
            "\" \" \"",
            "- ",
            "– — -",
            "😀",
            "😀. 😀! 👍🏽?",
            "́",
            "e\u{301}\u{302}\u{303}. \u{301}A",
            "a\u{0}b. C",
            "\r",
            "\r\r\n\n\r",
            "1.",
            "1. ",
            "a.",
            "TP.",
            "TP. ",
            "U.S.",
            "U.S. The",
            ". . .",
            ". A",
            "A .",
            "(.)",
            "“.” “.”",
            "x… Y",
            "Mr.",
            "Ảnh:",
            "(Ảnh",
            "(Photo ",
            &long_word,
            &long_line,
            &dots,
            &long_abbrev,
        ];
        for c in cases {
            let _ = check(c);
        }
        assert!(segment("").is_empty());
        assert!(segment(" \n\t\u{a0}\u{FEFF}\r\n").is_empty());
        assert_eq!(texts("..."), vec!["..."]);
        assert_eq!(texts(&long_line).len(), 20_000);
    }

    #[test]
    fn every_char_boundary_of_the_seeds_is_safe() {
        // Cutting the seeds at every char boundary exercises truncated
        // quotes, bylines and terminators.
        for seed in [VI_SEED, EN_SEED] {
            for (i, _) in seed.char_indices().step_by(7) {
                let _ = check(&seed[..i]);
                let _ = check(&seed[i..]);
            }
        }
    }

    #[test]
    fn bom_crlf_nbsp_and_tabs() {
        let input = "\u{FEFF}(Dân trí) -\u{a0}Sáng 25/10, Lễ mở ký Công ước diễn ra tại Hà Nội.\tViệc ký kết được đánh giá là dấu mốc đặc biệt.\r\n\r\nTiềm năng to lớn\r\n";
        assert_eq!(
            layout(input),
            vec![
                (0, Byline, "(Dân trí) -"),
                (
                    0,
                    Sentence,
                    "Sáng 25/10, Lễ mở ký Công ước diễn ra tại Hà Nội."
                ),
                (
                    0,
                    Sentence,
                    "Việc ký kết được đánh giá là dấu mốc đặc biệt."
                ),
                (1, Heading, "Tiềm năng to lớn"),
            ]
        );
        assert_eq!(segment(input)[0].start, 3, "BOM skipped");
    }

    #[test]
    fn nfd_input_keeps_original_spans_and_model_text_is_nfc() {
        let nfd: String = VI_SEED.nfd().collect();
        assert_ne!(nfd, VI_SEED);
        let nfc_layout = layout(VI_SEED);
        let segs = check(&nfd);
        assert_eq!(segs.len(), nfc_layout.len());
        for (s, (p, k, t)) in segs.iter().zip(&nfc_layout) {
            assert_eq!((s.paragraph, s.kind), (*p, *k));
            let source = s.text(&nfd);
            assert_eq!(
                source,
                t.nfd().collect::<String>(),
                "span is into the NFD bytes"
            );
            assert_eq!(crate::text::model_text(source), *t);
        }
        // Titles and starters are recognized in NFD too.
        let nfd = "Ông nói với NSƯT. Lan rằng sẽ về muộn. Ông đi."
            .nfd()
            .collect::<String>();
        assert_eq!(texts(&nfd).len(), 2);
    }

    #[test]
    fn segment_kind_serializes_lowercase_and_text_tolerates_other_input() {
        assert_eq!(
            serde_json::to_string(&Byline).ok().as_deref(),
            Some("\"byline\"")
        );
        assert_eq!(
            serde_json::from_str::<SegmentKind>("\"caption\"").ok(),
            Some(Caption)
        );
        assert_eq!(Heading.as_str(), "heading");
        let seg = Segment {
            id: 0,
            paragraph: 0,
            kind: Sentence,
            start: 1,
            end: 3,
        };
        assert_eq!(
            seg.text("Ông"),
            "",
            "1..3 is inside `Ô` in a different string"
        );
        assert_eq!(seg.text("abcd"), "bc");
    }

    // ---- paragraphs -------------------------------------------------

    #[test]
    fn blank_lines_and_single_newlines_separate_paragraphs() {
        let input = "Cyberspace is also becoming fertile ground for transnational criminal forces.\nMore dangerously, many forms of cybercrime are supported by certain forces.\n \nThe reality has proven that no single nation can fight cybercrime alone.";
        let l = layout(input);
        assert_eq!(l.iter().map(|s| s.0).collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn soft_wrapped_lines_stay_in_one_paragraph() {
        let input = "Theo ông Iain Frew, khi không gian mạng và công nghệ số phát triển với tốc độ\nchóng mặt, vấn đề an ninh mạng ngày càng trở nên phức tạp. Ông cho rằng Việt\nNam đã thể hiện cam kết mạnh mẽ trong việc định hình và quản lý các công nghệ\nmới.\nTiềm năng to lớn\nđược nhắc lại nhiều lần.";
        let l = layout(input);
        assert_eq!(
            l,
            vec![
                (0, Sentence, "Theo ông Iain Frew, khi không gian mạng và công nghệ số phát triển với tốc độ\nchóng mặt, vấn đề an ninh mạng ngày càng trở nên phức tạp."),
                // `Việt` + `Nam` breaks before an uppercase line: a new
                // paragraph by the rule, the price of one-line web paragraphs.
                (0, Sentence, "Ông cho rằng Việt"),
                (1, Sentence, "Nam đã thể hiện cam kết mạnh mẽ trong việc định hình và quản lý các công nghệ\nmới."),
                (2, Sentence, "Tiềm năng to lớn\nđược nhắc lại nhiều lần."),
            ]
        );
        assert_eq!(
            crate::text::model_text(l[0].2),
            "Theo ông Iain Frew, khi không gian mạng và công nghệ số phát triển với tốc độ chóng mặt, vấn đề an ninh mạng ngày càng trở nên phức tạp."
        );
        // A finished line is never continued, even by a lowercase line.
        let l = layout("Sự kiện diễn ra tại Hà Nội.\nvà thu hút nhiều đại biểu.");
        assert_eq!(l.iter().map(|s| s.0).collect::<Vec<_>>(), vec![0, 1]);
    }

    // ---- sentence boundaries ----------------------------------------

    #[test]
    fn terminators_and_closing_marks() {
        assert_eq!(
            texts("Liệu Việt Nam có đạt mục tiêu tăng trưởng 8%? Các chuyên gia tin là có! Thật bất ngờ?! \"Đó là điều chúng ta phải làm.\" Ông nói vậy… Rồi ông rời đi."),
            vec![
                "Liệu Việt Nam có đạt mục tiêu tăng trưởng 8%?",
                "Các chuyên gia tin là có!",
                "Thật bất ngờ?!",
                "\"Đó là điều chúng ta phải làm.\"",
                "Ông nói vậy…",
                "Rồi ông rời đi.",
            ]
        );
        assert_eq!(
            texts("The storm killed at least 12 people (officials said the toll could rise.) Rescue teams were deployed. [Reuters.] The next sentence."),
            vec![
                "The storm killed at least 12 people (officials said the toll could rise.)",
                "Rescue teams were deployed.",
                "[Reuters.]",
                "The next sentence.",
            ]
        );
    }

    #[test]
    fn plausible_sentence_starts() {
        // Digit, opening quote, dash, bracket, Vietnamese capitals.
        assert_eq!(
            texts("Gần 70 nước tham gia ký. 70 nước đã ký ngay trong ngày đầu. “Đây là dấu mốc”, ông nói. - Tăng cường hợp tác quốc tế. (Ảnh minh họa) Ông Frew phát biểu. Ưu tiên hàng đầu là an ninh mạng. Ở Hà Nội, trời mưa."),
            vec![
                "Gần 70 nước tham gia ký.",
                "70 nước đã ký ngay trong ngày đầu.",
                "“Đây là dấu mốc”, ông nói.",
                "- Tăng cường hợp tác quốc tế.",
                "(Ảnh minh họa) Ông Frew phát biểu.",
                "Ưu tiên hàng đầu là an ninh mạng.",
                "Ở Hà Nội, trời mưa.",
            ]
        );
        // Lowercase after a period is not a new sentence (nor is a quoted
        // lowercase term); a brand like iPhone is.
        assert_eq!(texts("Giá tăng 5%. so với năm ngoái.").len(), 1);
        assert_eq!(
            texts("hành vi “cố ý làm trái...” “gây hậu quả nghiêm trọng” bị xử lý.").len(),
            1
        );
        assert_eq!(
            texts("Apple ra mắt sản phẩm mới. iPhone 17 có giá từ 25 triệu đồng.").len(),
            2
        );
    }

    #[test]
    fn vietnamese_titles_never_end_a_sentence() {
        for s in [
            "Theo PGS.TS. Nguyễn Văn Minh, Trường Đại học Kinh tế Quốc dân, lạm phát sẽ được kiểm soát.",
            "Hội nghị diễn ra tại TP. Hồ Chí Minh sáng 25/10.",
            "ThS. Lê Thị Hoa và BS. Trần Văn Nam đã có mặt tại bệnh viện.",
            "Ông là TS. Phạm Quang Huy, giảng viên Đại học Bách khoa.",
            "Buổi biểu diễn có sự tham gia của NSƯT. Thanh Hòa và NSND. Thu Hiền.",
            "Cháy nhà dân trên đường Lê Lợi, P. Bến Thành, Q. 1 khiến hai người bị thương.",
            "GS. Ngô Bảo Châu và KS. Nguyễn Hữu An cùng dự lễ trao giải.",
            "Lễ tốt nghiệp có bài phát biểu của Th.S. Đỗ Minh Tuấn và CN. Lý Thu Trang.",
            "Vụ việc xảy ra ở TT. Phùng, huyện Đan Phượng vào tối qua.",
        ] {
            assert_eq!(texts(s), vec![s]);
        }
    }

    #[test]
    fn english_titles_never_end_a_sentence() {
        for s in [
            "Mr. Biden met Mrs. Harris and Dr. Fauci at the White House on Tuesday.",
            "Sen. Elizabeth Warren and Rep. Nancy Pelosi spoke after Gov. Gavin Newsom.",
            "Prof. Jane Smith said Gen. Mark Milley had been briefed.",
            "Ms. Nguyen told reporters the deal was done.",
        ] {
            assert_eq!(texts(s), vec![s]);
        }
    }

    #[test]
    fn abbreviations_end_sentences_only_before_a_sentence_starter() {
        assert_eq!(
            texts("The summit was held in the U.S. The president said it was a success."),
            vec![
                "The summit was held in the U.S.",
                "The president said it was a success."
            ]
        );
        assert_eq!(
            texts("Officials from the U.S. Navy joined the exercise.").len(),
            1
        );
        assert_eq!(
            texts("Shares of Apple Inc. rose 2%. The company is based in Cupertino."),
            vec![
                "Shares of Apple Inc. rose 2%.",
                "The company is based in Cupertino."
            ]
        );
        assert_eq!(
            texts("The company was founded by Acme Inc. In 2020 it went public."),
            vec![
                "The company was founded by Acme Inc.",
                "In 2020 it went public."
            ]
        );
        assert_eq!(
            texts("The meeting began at 9 a.m. He arrived late."),
            vec!["The meeting began at 9 a.m.", "He arrived late."]
        );
        assert_eq!(texts("The meeting began at 9 a.m. Eastern time.").len(), 1);
        assert_eq!(
            texts("They bought rice, fish, vegetables, etc. But prices kept rising."),
            vec![
                "They bought rice, fish, vegetables, etc.",
                "But prices kept rising."
            ]
        );
        assert_eq!(texts("The law takes effect on Jan. 1 next year.").len(), 1);
        assert_eq!(texts("It ranked No. 1 in the world.").len(), 1);
        assert_eq!(
            texts("Harry Potter author J. K. Rowling wrote a new book.").len(),
            1
        );
        assert_eq!(
            texts("The U.K. government and the U.N. Security Council agreed.").len(),
            1
        );
        assert_eq!(
            texts("Cities like Hanoi, e.g. The capital, are growing; i.e. Fast.").len(),
            1
        );
        // Vietnamese: `v.v.` and anonymized names like `Nguyễn Văn A.`.
        assert_eq!(
            texts("Anh đã mua gạo, cá, rau v.v. Sau đó giá tiếp tục tăng."),
            vec!["Anh đã mua gạo, cá, rau v.v.", "Sau đó giá tiếp tục tăng."]
        );
        assert_eq!(
            texts(
                "Người bị hại là anh Nguyễn Văn A. Theo cơ quan điều tra, vụ việc xảy ra lúc 22h."
            ),
            vec![
                "Người bị hại là anh Nguyễn Văn A.",
                "Theo cơ quan điều tra, vụ việc xảy ra lúc 22h."
            ]
        );
        assert_eq!(texts("Ông Nguyễn Văn A. Bình từ chối trả lời.").len(), 1);
    }

    #[test]
    fn sentence_starters_list_drives_the_decision() {
        for w in ["The", "However", "Ông", "Theo", "Trong", "Những"] {
            assert!(SENTENCE_STARTERS.contains(&w), "{w}");
            let input = format!("They moved to the U.S. {w} x.");
            assert_eq!(texts(&input).len(), 2, "{input}");
        }
        for w in ["Navy", "Army", "Congress", "Hà"] {
            assert!(!SENTENCE_STARTERS.contains(&w));
            assert_eq!(texts(&format!("They moved to the U.S. {w} x.")).len(), 1);
        }
    }

    #[test]
    fn numbers_dates_urls_and_emails_do_not_split() {
        for s in [
            "Sáng 25/10, Lễ mở ký Công ước diễn ra tại Hà Nội.",
            "GDP quý III tăng 5,66% so với cùng kỳ năm trước.",
            "Ngân sách lên đến 1.000.000 USD, gấp 3.5 lần năm trước.",
            "Phiên họp bắt đầu lúc 10:30 sáng nay.",
            "Source: https://www.sggp.org.vn/xac-lap-la-chan-toan-cau-post819974.html",
            "Mọi thắc mắc xin gửi về a.b@c.vn hoặc gọi 1900.1234.",
            "Trụ sở đặt tại TP.HCM và Q.1.",
        ] {
            assert_eq!(texts(s), vec![s]);
        }
        // A URL or number that ends a sentence still ends it.
        assert_eq!(
            texts("Chi tiết xem tại https://www.sggp.org.vn. Theo báo cáo, GDP tăng 7,09%. Con số này vượt kỳ vọng."),
            vec!["Chi tiết xem tại https://www.sggp.org.vn.", "Theo báo cáo, GDP tăng 7,09%.", "Con số này vượt kỳ vọng."]
        );
    }

    #[test]
    fn ellipsis() {
        assert_eq!(
            texts("Chúng tôi đã cố gắng và... cuối cùng đã thành công.").len(),
            1
        );
        assert_eq!(
            texts("Chúng tôi đã cố gắng rất nhiều... Cuối cùng đã thành công."),
            vec![
                "Chúng tôi đã cố gắng rất nhiều...",
                "Cuối cùng đã thành công."
            ]
        );
        assert_eq!(texts("Ông chờ đợi… Rồi tất cả im lặng.").len(), 2);
        // Elisions: at the start of a quote, in brackets, after a comma.
        assert_eq!(
            texts("Ông viết: “... Làng có luân lí, ăn ở cho phải đạo.”").len(),
            1
        );
        assert_eq!(
            texts("Mọi việc do Nghị viện quyết định (…) Chính phủ không được can thiệp vào.").len(),
            1
        );
        assert_eq!(
            texts("Các bộ đã nối mạng (Bộ Tư pháp, Bộ Tài chính),... 100% UBND cấp tỉnh cũng vậy.")
                .len(),
            1
        );
        assert_eq!(
            texts("Tình trạng quan liêu, xa rời quần chúng,... Trải qua các thời kỳ, bộ máy đã được cải thiện."),
            vec!["Tình trạng quan liêu, xa rời quần chúng,...", "Trải qua các thời kỳ, bộ máy đã được cải thiện."]
        );
    }

    #[test]
    fn list_numbers_are_not_sentences() {
        assert_eq!(
            texts("1. Quyền được thông tin là một quyền mang tính Hiến định của công dân."),
            vec!["1. Quyền được thông tin là một quyền mang tính Hiến định của công dân."]
        );
        assert_eq!(
            texts("Ông đề nghị: 1. Phân biệt quyền lập pháp và quyền hành chính; 2. Cải cách công lí ở Đông Dương. IV. Tự do báo chí."),
            vec!["Ông đề nghị: 1. Phân biệt quyền lập pháp và quyền hành chính; 2. Cải cách công lí ở Đông Dương.", "IV. Tự do báo chí."]
        );
        assert_eq!(
            texts("Đó là: a. Bộ máy chưa thật trong sạch. b. Quản lí nhà nước chưa ngang tầm. c) Tổ chức bộ máy còn nặng nề. (ii) Uỷ ban thẩm tra."),
            vec![
                "Đó là: a. Bộ máy chưa thật trong sạch.",
                "b. Quản lí nhà nước chưa ngang tầm.",
                "c) Tổ chức bộ máy còn nặng nề.",
                "(ii) Uỷ ban thẩm tra.",
            ]
        );
        // A number ending a sentence is not a list marker.
        assert_eq!(
            texts("Đội tuyển xếp thứ 2. Theo HLV, đó là thành công.").len(),
            2
        );
    }

    #[test]
    fn quotes() {
        assert_eq!(
            texts("“Câu một. Câu hai”, ông nói."),
            vec!["“Câu một.", "Câu hai”, ông nói."]
        );
        assert_eq!(
            texts(
                "“Điều đặc biệt ý nghĩa là chúng ta mới có thể đạt được tiến bộ thực sự”, ông nói."
            ),
            vec![
                "“Điều đặc biệt ý nghĩa là chúng ta mới có thể đạt được tiến bộ thực sự”, ông nói."
            ]
        );
        assert_eq!(texts("“Chúng tôi sẽ tiếp tục hợp tác!”, bà nói.").len(), 1);
        assert_eq!(texts("“Chúng tôi sẽ tiếp tục hợp tác!” bà nói.").len(), 1);
        assert_eq!(
            texts("\"We will keep working together. The convention is a milestone,\" the ambassador said. He left."),
            vec!["\"We will keep working together.", "The convention is a milestone,\" the ambassador said.", "He left."]
        );
        // A bracketed citation stays with the quotation it sources.
        assert_eq!(
            texts("“Nhà nước ta là Nhà nước của nhân dân, do nhân dân, vì nhân dân.” (Điều 2 Hiến pháp năm 1992). Đây là nguyên tắc cơ bản."),
            vec!["“Nhà nước ta là Nhà nước của nhân dân, do nhân dân, vì nhân dân.” (Điều 2 Hiến pháp năm 1992).", "Đây là nguyên tắc cơ bản."]
        );
    }

    // ---- kinds ------------------------------------------------------

    #[test]
    fn bylines() {
        assert_eq!(
            kinds("(Dân trí) - Sáng 25/10, Lễ mở ký Công ước diễn ra tại Hà Nội. Gần 70 nước tham gia."),
            vec![
                (Byline, "(Dân trí) -"),
                (Sentence, "Sáng 25/10, Lễ mở ký Công ước diễn ra tại Hà Nội."),
                (Sentence, "Gần 70 nước tham gia."),
            ]
        );
        assert_eq!(
            kinds("HÀ NỘI (Reuters) - Vietnam hosted the signing of the U.N. cybercrime convention on Saturday."),
            vec![(Byline, "HÀ NỘI (Reuters) -"), (Sentence, "Vietnam hosted the signing of the U.N. cybercrime convention on Saturday.")]
        );
        assert_eq!(
            kinds("(PLO) – Công an TP.HCM vừa bắt giữ nghi phạm.")[0],
            (Byline, "(PLO) –")
        );
        assert_eq!(
            kinds("WASHINGTON (Reuters) — The Senate passed the bill.")[0],
            (Byline, "WASHINGTON (Reuters) —")
        );
        assert_eq!(kinds("(VTC News) -"), vec![(Byline, "(VTC News) -")]);
        // Not bylines: a mixed-case subject before the bracket, a dash
        // glued to a word, a bracket that is too long.
        for s in [
            "Công ước Hà Nội (UNCC) - văn kiện đầu tiên về tội phạm mạng - đã được ký.",
            "(Reuters)-based reporting is not a byline.",
            "(Theo thông tin từ Bộ Công an và các cơ quan chức năng liên quan khác) - vụ việc đang được điều tra.",
        ] {
            assert!(check(s).iter().all(|x| x.kind != Byline), "{s}");
        }
    }

    #[test]
    fn headings() {
        assert_eq!(
            kinds("Tiềm năng to lớn"),
            vec![(Heading, "Tiềm năng to lớn")]
        );
        assert_eq!(kinds("Comment (0)"), vec![(Heading, "Comment (0)")]);
        assert_eq!(
            kinds("Vietnam hosts the signing of the U.N. cybercrime convention")[0].0,
            Heading
        );
        // Punctuated, or two segments: not a heading.
        assert_eq!(kinds("Tiềm năng to lớn.")[0].0, Sentence);
        assert_eq!(kinds("Ông nói:")[0].0, Sentence);
        assert_eq!(
            kinds("Hôm nay trời đẹp. Tiềm năng to lớn")
                .iter()
                .map(|k| k.0)
                .collect::<Vec<_>>(),
            vec![Sentence, Sentence]
        );
        // 15 words is still a heading; 16 is a caption.
        let fifteen = "Một hai ba bốn năm sáu bảy tám chín mười mười một mười hai mười";
        assert_eq!(fifteen.split(' ').count(), 15);
        assert_eq!(kinds(fifteen)[0].0, Heading);
        assert_eq!(kinds(&format!("{fifteen} ba"))[0].0, Caption);
    }

    #[test]
    fn captions() {
        for s in [
            "Đại sứ Anh Iain Frew đại diện Vương quốc Anh tham gia ký kết. (Ảnh: Minh Đức)",
            "Lễ mở ký Công ước Hà Nội diễn ra sáng 25/10. Ảnh: TTXVN",
            "Người dân xếp hàng chờ mua vàng tại Hà Nội (Ảnh minh họa).",
            "Delegates attend the signing ceremony in Hanoi. Photo: Reuters",
            "Delegates attend the signing ceremony in Hanoi (Photo VNA).",
        ] {
            let k = kinds(s);
            assert_eq!(k.last().map(|x| x.0), Some(Caption), "{s}: {k:?}");
        }
        // A long unpunctuated closing line is a caption; `(Ảnh hưởng` is not a credit.
        assert_eq!(
            kinds("Đồng Bộ trưởng về Ngoại giao và Thương mại Australia Matt Thistlethwaite đại diện Australia tham gia ký kết Công ước")[0].0,
            Caption
        );
        assert_eq!(
            kinds("Giá xăng tăng mạnh (ảnh hưởng bởi giá dầu thế giới).")[0].0,
            Sentence
        );
    }
}
