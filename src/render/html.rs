//! HTML view of a summary: one self-contained page (inline CSS and a little
//! vanilla JS, no external resource of any kind) for a reader who needs to
//! check the summary against its sources.
//!
//! - The summary: each sentence in English and Vietnamese, its flags as
//!   badges and its support as links (`d0#3 0.912`, or `#3` for one input).
//! - Each document side by side (source left, translation right), a row per
//!   segment with `id="d{doc}-s{segment}"`, grouped by paragraph. Pairs with
//!   a problem flag ([`is_problem_flag`]) get class `flagged`, a ⚠ marker
//!   and a tooltip with the flags, score and cosine.
//! - Hovering a summary sentence highlights its supporting rows (class `hl`
//!   on the row and both its text cells); clicking pins it (class `active`)
//!   and scrolls to the first support; clicking a row highlights the summary
//!   sentences it supports. The URL hash `#s{i}` pins sentence `i` on load
//!   (sentence `i` is the element `id="sent-{i}"`; the browser does not
//!   scroll to it by itself, and pinning scrolls only when the support is
//!   out of view). The support of a sentence is in its `data-support`
//!   attribute (row ids).
//!
//! All text from the inputs is escaped ([`escape`]).

use std::fmt::Write;

use super::support_label;
use crate::types::{
    Flag, SegmentKind, SegmentOut, SummaryOutput, SummarySentence, TranslationDocument,
};

/// Background of highlighted segment cells (`#ffe58f`); the browser test
/// looks for this colour in screenshots.
pub const HIGHLIGHT_RGB: [u8; 3] = [0xff, 0xe5, 0x8f];
/// Background of the pinned summary sentence (`#dbeafe`).
pub const ACTIVE_RGB: [u8; 3] = [0xdb, 0xea, 0xfe];

/// A segment flag that marks its pair as suspect: every flag except the
/// process flags (`verbatim`, `retried-alone`, `repetition`). The known
/// problem flags are `low-score`, `likely-omission`, `likely-addition`,
/// `new-number`, `source-words-left`, `untranslated`, `empty`, `multiline`,
/// `truncated` and `glossary-missed`; a flag this code does not know is
/// shown as a problem rather than hidden.
pub fn is_problem_flag(flag: &Flag) -> bool {
    !flag.is_process()
}

/// HTML-escapes `& < > " '`: safe in text and in quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The id of the row of segment `segment` of document `doc`.
pub fn row_id(doc: usize, segment: usize) -> String {
    format!("d{doc}-s{segment}")
}

pub fn render(out: &SummaryOutput) -> String {
    let mut h = String::with_capacity(64 * 1024);
    h.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>dich summary</title>\n<style>\n",
    );
    h.push_str(CSS);
    h.push_str("</style>\n</head>\n<body>\n");
    header(&mut h, out);
    h.push_str("<main>\n");
    summary(&mut h, out);
    for (d, doc) in out.documents.iter().enumerate() {
        document(&mut h, out, d, doc);
    }
    h.push_str("</main>\n<script>\n");
    h.push_str(JS);
    h.push_str("</script>\n</body>\n</html>\n");
    h
}

fn input_name(doc: &TranslationDocument, d: usize) -> String {
    match doc.input.as_str() {
        "" => format!("document {d}"),
        "-" => "standard input".to_string(),
        s => s.to_string(),
    }
}

/// `d1 ` before a document's name when there are several inputs.
fn doc_tag(out: &SummaryOutput, d: usize) -> String {
    if out.documents.len() > 1 {
        format!("<span class=\"tag\">d{d}</span> ")
    } else {
        String::new()
    }
}

fn header(h: &mut String, out: &SummaryOutput) {
    let n = out.summary.sentences.len();
    let unsupported = out
        .summary
        .sentences
        .iter()
        .filter(|s| s.flags.contains(&Flag::Unsupported))
        .count();
    let _ = write!(
        h,
        "<header class=\"top\">\n<h1>dich summary</h1>\n<p class=\"meta\">{} · {} sentence{} · {} input{}{}</p>\n<ul class=\"inputs\">\n",
        out.summary.method.as_str(),
        n,
        if n == 1 { "" } else { "s" },
        out.documents.len(),
        if out.documents.len() == 1 { "" } else { "s" },
        if unsupported > 0 {
            format!(" · <span class=\"bad\">{unsupported} unsupported</span>")
        } else {
            String::new()
        }
    );
    for (d, doc) in out.documents.iter().enumerate() {
        let _ = writeln!(
            h,
            "<li>{}<a href=\"#d{d}\">{}</a> <span class=\"langs\">{} → {}</span></li>",
            doc_tag(out, d),
            escape(&input_name(doc, d)),
            doc.source_lang.name(),
            doc.target_lang.name()
        );
    }
    h.push_str("</ul>\n</header>\n");
}

fn badge_class(flag: &Flag) -> &'static str {
    match flag {
        Flag::Unsupported => "b-red",
        Flag::Shared => "b-green",
        Flag::SingleSource => "b-grey",
        _ => "b-amber",
    }
}

fn summary(h: &mut String, out: &SummaryOutput) {
    h.push_str(
        "<section id=\"summary\" class=\"summary\">\n<h2>Summary</h2>\n\
         <p class=\"hint\">Hover a sentence to highlight the segments that support it below; click \
         to pin. Click a segment to highlight the summary sentences it supports.</p>\n<ol class=\"sentences\">\n",
    );
    if out.summary.sentences.is_empty() {
        h.push_str("<li class=\"empty\">The summary is empty.</li>\n");
    }
    for (i, s) in out.summary.sentences.iter().enumerate() {
        sentence(h, out, i, s);
    }
    h.push_str("</ol>\n</section>\n");
}

fn sentence(h: &mut String, out: &SummaryOutput, i: usize, s: &SummarySentence) {
    let rows: Vec<String> = s.support.iter().map(|x| row_id(x.doc, x.segment)).collect();
    let _ = writeln!(
        h,
        "<li id=\"sent-{i}\" class=\"sent\" data-index=\"{i}\" data-support=\"{}\" tabindex=\"0\">",
        escape(&rows.join(" "))
    );
    let _ = writeln!(h, "<p class=\"en\" lang=\"en\">{}</p>", escape(&s.en));
    if !s.vi.trim().is_empty() {
        let _ = writeln!(h, "<p class=\"vi\" lang=\"vi\">{}</p>", escape(&s.vi));
    }
    h.push_str("<div class=\"sent-meta\">");
    for f in &s.flags {
        let _ = write!(
            h,
            "<span class=\"badge {}\">{}</span> ",
            badge_class(f),
            escape(&f.name())
        );
    }
    if s.support.is_empty() {
        h.push_str("<span class=\"support none\">no support</span>");
    } else {
        h.push_str("<span class=\"support\">support:");
        for (x, row) in s.support.iter().zip(&rows) {
            let _ = write!(
                h,
                " <a class=\"sup\" href=\"#{row}\" data-row=\"{row}\">{} <span class=\"score\">{:.3}</span></a>",
                escape(&support_label(out, x)),
                x.score
            );
        }
        h.push_str("</span>");
    }
    h.push_str("</div>\n</li>\n");
}

/// Summary sentences (0-based) each segment of document `d` supports.
fn supported_sentences(out: &SummaryOutput, d: usize, segment: usize) -> Vec<usize> {
    out.summary
        .sentences
        .iter()
        .enumerate()
        .filter(|(_, s)| s.support.iter().any(|x| x.doc == d && x.segment == segment))
        .map(|(i, _)| i)
        .collect()
}

fn document(h: &mut String, out: &SummaryOutput, d: usize, doc: &TranslationDocument) {
    let (src, tgt) = (doc.source_lang, doc.target_lang);
    let _ = writeln!(
        h,
        "<section id=\"d{d}\" class=\"doc\">\n<h2>{}{} <span class=\"langs\">{} → {}</span></h2>",
        doc_tag(out, d),
        escape(&input_name(doc, d)),
        src.name(),
        tgt.name()
    );
    let flagged = doc
        .segments
        .iter()
        .filter(|s| s.flags.iter().any(is_problem_flag))
        .count();
    let _ = write!(
        h,
        "<p class=\"meta\">{} segments · translated by <code>{}</code>",
        doc.segments.len(),
        escape(&doc.model.name)
    );
    if let Some(scorer) = &doc.scorer {
        let _ = write!(h, " · scored by <code>{}</code>", escape(&scorer.name));
    }
    if flagged > 0 {
        let _ = write!(
            h,
            " · <span class=\"warn-text\">⚠ {flagged} flagged pair{}</span>",
            if flagged == 1 { "" } else { "s" }
        );
    }
    h.push_str("</p>\n");
    let _ = writeln!(
        h,
        "<table class=\"pairs\">\n<colgroup><col class=\"c-id\"><col class=\"c-text\"><col class=\"c-text\"></colgroup>\n\
         <thead><tr><th class=\"sid\">#</th><th lang=\"en\">{}</th><th lang=\"en\">{}</th></tr></thead>",
        src.name(),
        tgt.name()
    );
    for para in doc.segments.chunk_by(|a, b| a.paragraph == b.paragraph) {
        let _ = writeln!(
            h,
            "<tbody class=\"para\" data-para=\"{}\">",
            para[0].paragraph
        );
        for seg in para {
            row(h, out, d, doc, seg);
        }
        h.push_str("</tbody>\n");
    }
    h.push_str("</table>\n</section>\n");
}

fn kind_class(kind: SegmentKind) -> &'static str {
    match kind {
        SegmentKind::Sentence => "k-sentence",
        SegmentKind::Heading => "k-heading",
        SegmentKind::Caption => "k-caption",
        SegmentKind::Byline => "k-byline",
    }
}

fn row(h: &mut String, out: &SummaryOutput, d: usize, doc: &TranslationDocument, seg: &SegmentOut) {
    let id = row_id(d, seg.id);
    let problems: Vec<String> = seg
        .flags
        .iter()
        .filter(|f| is_problem_flag(f))
        .map(Flag::to_string)
        .collect();
    let notes: Vec<String> = seg
        .flags
        .iter()
        .filter(|f| !is_problem_flag(f))
        .map(Flag::to_string)
        .collect();
    let mut class = format!("seg {}", kind_class(seg.kind));
    if !problems.is_empty() {
        class.push_str(" flagged");
    }
    let mut title = format!(
        "segment {} · paragraph {} · {}",
        seg.id,
        seg.paragraph,
        seg.kind.as_str()
    );
    if !seg.flags.is_empty() {
        let names: Vec<String> = seg.flags.iter().map(Flag::to_string).collect();
        let _ = write!(title, "\nflags: {}", names.join(", "));
    }
    if let Some(score) = seg.score {
        let _ = write!(title, "\nscore {score:.3}");
    }
    if let Some(cos) = seg.cosine {
        let _ = write!(title, "\ncosine {cos:.3}");
    }
    let data = format!("data-doc=\"{d}\" data-seg=\"{}\"", seg.id);
    let _ = write!(
        h,
        "<tr id=\"{id}\" class=\"{class}\" {data} title=\"{}\">",
        escape(&title)
    );
    // Margin: segment id, and the summary sentences it supports.
    let _ = write!(h, "<td class=\"sid\" {data}>{}", seg.id);
    let used = supported_sentences(out, d, seg.id);
    if !used.is_empty() {
        h.push_str("<span class=\"used\">");
        for i in used {
            let _ = write!(
                h,
                "<a href=\"#s{i}\" title=\"supports summary sentence {}\">S{}</a>",
                i + 1,
                i + 1
            );
        }
        h.push_str("</span>");
    }
    h.push_str("</td>");
    let _ = write!(
        h,
        "<td class=\"src\" lang=\"{}\" {data}>{}</td>",
        doc.source_lang.code(),
        escape(&seg.source)
    );
    let _ = write!(
        h,
        "<td class=\"tgt\" lang=\"{}\" {data}>{}",
        doc.target_lang.code(),
        escape(&seg.target)
    );
    if !problems.is_empty() {
        let _ = write!(
            h,
            "<span class=\"warn\" lang=\"en\">⚠ {}</span>",
            escape(&problems.join(", "))
        );
    }
    if !notes.is_empty() {
        let _ = write!(
            h,
            "<span class=\"note\" lang=\"en\">{}</span>",
            escape(&notes.join(", "))
        );
    }
    h.push_str("</td></tr>\n");
}

const CSS: &str = r#":root {
  --fg: #1f2328; --muted: #656d76; --line: #d8dee4; --soft: #f6f8fa;
  --hl: #ffe58f; --active: #dbeafe; --accent: #2563eb; --amber: #d97706;
}
* { box-sizing: border-box; }
html { scroll-padding-top: 3rem; }
body {
  margin: 0; color: var(--fg); background: #fff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.5;
}
header.top, main { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header.top { padding-top: 16px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.6rem; margin: 0 0 2px; }
h2 { font-size: 1.2rem; margin: 20px 0 4px; }
.meta { color: var(--muted); margin: 0 0 6px; font-size: 0.9rem; }
.bad { color: #b42318; font-weight: 600; }
.inputs { list-style: none; margin: 4px 0 8px; padding: 0; }
.inputs li { margin: 2px 0; overflow-wrap: anywhere; }
.inputs a, h2 a { color: inherit; }
.langs { color: var(--muted); font-size: 0.85rem; font-weight: normal; white-space: nowrap; }
.tag {
  display: inline-block; font: 600 0.75rem/1.4 ui-monospace, "DejaVu Sans Mono", monospace;
  background: #eef1f4; border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; vertical-align: 1px;
}
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.85em; }
.hint { color: var(--muted); font-size: 0.85rem; margin: 0 0 8px; }
ol.sentences { margin: 0; padding: 0 0 0 2em; }
li.sent {
  margin: 0 0 6px; padding: 6px 12px; border: 1px solid var(--line); border-left: 4px solid var(--line);
  border-radius: 6px; cursor: pointer;
}
li.sent::marker { color: var(--muted); font-weight: 600; }
li.sent:hover, li.sent:focus { border-left-color: var(--accent); outline: none; background: var(--soft); }
li.sent.active { background: var(--active); border-color: #93c5fd; border-left-color: var(--accent); }
li.sent.hl { background: var(--hl); border-left-color: var(--amber); }
li.sent p { margin: 0; }
li.sent p.en { font-weight: 500; }
li.sent p.vi { color: #3d444d; margin-top: 2px; }
.sent-meta { margin-top: 4px; font-size: 0.8rem; display: flex; flex-wrap: wrap; gap: 4px 6px; align-items: center; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 0.75rem; line-height: 1.6; border: 1px solid; }
.b-red { background: #fee4e2; color: #b42318; border-color: #fda29b; }
.b-green { background: #dcfae6; color: #067647; border-color: #75e0a7; }
.b-grey { background: #f2f4f7; color: #475467; border-color: #d0d5dd; }
.b-amber { background: #fef0c7; color: #93370d; border-color: #fec84b; }
.support { color: var(--muted); font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.support.none { color: #b42318; }
a.sup { color: var(--accent); text-decoration: none; margin-left: 4px; white-space: nowrap; }
a.sup:hover { text-decoration: underline; }
a.sup .score { color: var(--muted); }
section.doc { margin-top: 20px; }
table.pairs { width: 100%; table-layout: fixed; border-collapse: separate; border-spacing: 0; margin-bottom: 24px; }
col.c-id { width: 4.5em; }
table.pairs th {
  position: sticky; top: 0; z-index: 1; background: #fff; text-align: left; font-size: 0.8rem;
  text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted);
  padding: 6px 10px; border-bottom: 2px solid var(--line);
}
table.pairs td { vertical-align: top; padding: 4px 10px; overflow-wrap: anywhere; white-space: pre-line; }
tbody.para tr:first-child td { border-top: 1px solid var(--line); padding-top: 8px; }
tbody.para tr:last-child td { padding-bottom: 8px; }
td.sid {
  font: 0.75rem/1.9 ui-monospace, "DejaVu Sans Mono", monospace; color: var(--muted);
  text-align: right; padding-right: 8px; border-left: 4px solid transparent; white-space: normal;
}
td.src { border-right: 1px solid #eaeef2; }
tr.seg { cursor: pointer; }
tr.seg:hover td.src, tr.seg:hover td.tgt { background: var(--soft); }
tr.k-heading td.src, tr.k-heading td.tgt { font-weight: 700; font-size: 1.05rem; }
tr.k-byline td.src, tr.k-byline td.tgt, tr.k-caption td.src, tr.k-caption td.tgt { color: var(--muted); font-size: 0.9rem; }
tr.k-caption td.src, tr.k-caption td.tgt { font-style: italic; }
tr.flagged td.sid { border-left-color: #f59e0b; background: #fffaeb; }
.warn, .note { display: block; font-size: 0.75rem; margin-top: 2px; font-weight: normal; font-style: normal; }
.warn { color: #93370d; }
.warn-text { color: #93370d; }
.note { color: var(--muted); }
.used { display: block; }
.used a {
  display: inline-block; margin: 1px 0 1px 3px; padding: 0 4px; border-radius: 4px;
  background: #eef4ff; color: var(--accent); text-decoration: none; font-weight: 600;
}
tr.sel td.sid { color: var(--fg); font-weight: 700; }
tr.sel td.src, tr.sel td.tgt { box-shadow: inset 0 0 0 2px var(--accent); }
table.pairs td.hl, tr.seg:hover td.hl { background: var(--hl); }
tr.hl td.sid { color: var(--fg); font-weight: 700; }
@media (max-width: 720px) {
  header.top, main { padding: 0 10px; }
  col.c-id { width: 3em; }
  table.pairs td { padding: 4px 6px; }
}
"#;

const JS: &str = r#"(function () {
  "use strict";
  var sents = Array.prototype.slice.call(document.querySelectorAll("li.sent"));
  var pinned = null, hover = null, selRow = null;
  function supportRows(s) {
    return (s.getAttribute("data-support") || "").split(/\s+/)
      .map(function (id) { return id ? document.getElementById(id) : null; })
      .filter(function (r) { return r; });
  }
  function setRow(r, on) {
    r.classList.toggle("hl", on);
    var cells = r.querySelectorAll("td.src, td.tgt");
    for (var i = 0; i < cells.length; i++) cells[i].classList.toggle("hl", on);
  }
  function render() {
    var old = document.querySelectorAll(".hl, .active, .sel");
    for (var i = 0; i < old.length; i++) old[i].classList.remove("hl", "active", "sel");
    if (pinned) pinned.classList.add("active");
    var shown = hover || pinned;
    if (shown) supportRows(shown).forEach(function (r) { setRow(r, true); });
    if (selRow) {
      selRow.classList.add("sel");
      sents.forEach(function (s) {
        if (supportRows(s).indexOf(selRow) >= 0) s.classList.add("hl");
      });
    }
  }
  // Scrolls only when `el` is not already in view: no jump for a visible row.
  function reveal(el) {
    if (!el) return;
    var r = el.getBoundingClientRect();
    var h = window.innerHeight || document.documentElement.clientHeight;
    if (r.top < 0 || r.bottom > h) el.scrollIntoView({ block: "center" });
  }
  function pin(s, scroll, row) {
    pinned = s;
    render();
    if (s && scroll) reveal(row || supportRows(s)[0]);
  }
  function sentence(i) {
    var s = document.getElementById("sent-" + i);
    return s && s.classList.contains("sent") ? s : null;
  }
  sents.forEach(function (s) {
    s.addEventListener("mouseenter", function () { hover = s; render(); });
    s.addEventListener("mouseleave", function () { hover = null; render(); });
    s.addEventListener("click", function (e) {
      var a = e.target.closest ? e.target.closest("a.sup") : null;
      if (a) {
        e.preventDefault();
        pin(s, true, document.getElementById(a.getAttribute("data-row")));
        return;
      }
      if (pinned === s) pin(null, false); else pin(s, true);
    });
    s.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); s.click(); }
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("tr.seg"), function (r) {
    r.addEventListener("click", function (e) {
      var a = e.target.closest ? e.target.closest("a") : null;
      if (a) {
        // A margin link `S{n}`: pin that summary sentence and show it.
        var m = /^#s(\d+)$/.exec(a.getAttribute("href") || "");
        var s = m && sentence(m[1]);
        if (s) { e.preventDefault(); pin(s, false); reveal(s); }
        return;
      }
      selRow = selRow === r ? null : r;
      render();
    });
  });
  // `#s{i}` pins summary sentence i as a click would. (The sentences' ids
  // are `sent-{i}`, so the browser does not scroll to them by itself.)
  function fromHash() {
    var m = /^#s(\d+)$/.exec(location.hash);
    var s = m && sentence(m[1]);
    if (s) pin(s, true);
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Lang, Method, ModelRef, Stats, Summary, Support};

    fn seg(id: usize, paragraph: usize, source: &str, target: &str, flags: &[&str]) -> SegmentOut {
        SegmentOut {
            id,
            paragraph,
            kind: SegmentKind::Sentence,
            source: source.into(),
            source_span: [0, source.len()],
            target: target.into(),
            flags: flags.iter().map(|f| Flag::parse(f)).collect(),
            score: Some(1.05),
            cosine: Some(0.9),
            alternatives: Vec::new(),
            selection_score: None,
        }
    }

    fn doc(input: &str, source_lang: Lang, segments: Vec<SegmentOut>) -> TranslationDocument {
        TranslationDocument {
            input: input.into(),
            source_lang,
            target_lang: source_lang.other(),
            model: ModelRef {
                name: "m".into(),
                sha256: "0".repeat(64),
            },
            scorer: None,
            segments,
            stats: Stats {
                load_s: 0.0,
                prompt_tokens: 0,
                generated_tokens: 0,
                prompt_s: 0.0,
                generate_s: 0.0,
                wall_s: 0.0,
            },
        }
    }

    fn sentence(en: &str, vi: &str, support: &[(usize, usize)], flags: &[&str]) -> SummarySentence {
        SummarySentence {
            en: en.into(),
            vi: vi.into(),
            support: support
                .iter()
                .map(|&(doc, segment)| Support {
                    doc,
                    segment,
                    score: 0.9,
                })
                .collect(),
            docs: vec![],
            flags: flags.iter().map(|f| Flag::parse(f)).collect(),
        }
    }

    /// The attribute values `name="..."` in document order.
    fn attrs<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
        let key = format!(" {name}=\"");
        html.match_indices(&key)
            .map(|(i, _)| {
                let rest = &html[i + key.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect()
    }

    /// The opening tag of the element with `id`.
    fn tag_with_id<'a>(html: &'a str, id: &str) -> &'a str {
        let i = html
            .find(&format!(" id=\"{id}\""))
            .unwrap_or_else(|| panic!("no element {id}"));
        let start = html[..i].rfind('<').unwrap();
        &html[start..start + html[start..].find('>').unwrap() + 1]
    }

    #[test]
    fn escapes_all_untrusted_text() {
        let out = SummaryOutput {
            documents: vec![doc(
                "<b>\"x\"</b>.txt",
                Lang::Vi,
                vec![seg(
                    0,
                    0,
                    "<script>alert(1)</script>",
                    "Tom & 'Jerry' \"quoted\"",
                    &["low-score"],
                )],
            )],
            summary: Summary {
                method: Method::Extractive,
                sentences: vec![sentence(
                    "<img src=x onerror=alert(2)>",
                    "<script>alert(3)</script>",
                    &[(0, 0)],
                    &["<i>"],
                )],
            },
        };
        let html = render(&out);
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;alert(3)&lt;/script&gt;"));
        assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
        assert!(html.contains("Tom &amp; &#39;Jerry&#39; &quot;quoted&quot;"));
        assert!(html.contains("&lt;b&gt;&quot;x&quot;&lt;/b&gt;.txt"));
        assert!(html.contains("&lt;i&gt;"));
        // The page's own script is the only one; no raw input markup.
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        for raw in ["alert(1)</script>", "<img", "<b>", "<i>"] {
            assert!(!html.contains(raw), "{raw} left raw");
        }
        assert_eq!(escape("&<>\"'"), "&amp;&lt;&gt;&quot;&#39;");
    }

    #[test]
    fn page_is_self_contained() {
        let out = SummaryOutput {
            documents: vec![doc("a.txt", Lang::En, vec![seg(0, 0, "A.", "Một.", &[])])],
            summary: Summary {
                method: Method::Extractive,
                sentences: vec![sentence("A.", "Một.", &[(0, 0)], &[])],
            },
        };
        let html = render(&out);
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("<title>dich summary</title>"));
        for external in ["http://", "https://", "src=", "<link", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
        // One input: support labels without the document.
        assert!(
            html.contains(">#0 <span class=\"score\">0.900</span></a>"),
            "{html}"
        );
    }

    /// The seed translation (a real document) with a hand-made summary.
    fn seed_output() -> SummaryOutput {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/translation_vi_seed.json"
        );
        let vi: TranslationDocument =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let en = doc(
            "b.txt",
            Lang::En,
            vec![
                seg(0, 0, "One.", "Một.", &[]),
                seg(1, 0, "Two.", "Hai.", &["likely-omission"]),
                seg(2, 1, "Three.", "Ba.", &["verbatim", "retried-alone"]),
            ],
        );
        SummaryOutput {
            documents: vec![vi, en],
            summary: Summary {
                method: Method::Extractive,
                sentences: vec![
                    sentence("a", "a", &[(0, 1)], &["single-source"]),
                    sentence("b", "b", &[(1, 2), (0, 30), (0, 32)], &["shared"]),
                    sentence("c", "c", &[], &["unsupported"]),
                    sentence("d", "d", &[(0, 17)], &["single-source", "low-score"]),
                ],
            },
        }
    }

    #[test]
    fn every_support_is_an_existing_row() {
        let out = seed_output();
        let html = render(&out);
        let row_ids: Vec<&str> = attrs(&html, "id")
            .into_iter()
            .filter(|id| id.starts_with('d') && id.contains("-s"))
            .collect();
        let n_segments: usize = out.documents.iter().map(|d| d.segments.len()).sum();
        assert_eq!(row_ids.len(), n_segments);
        let supports = attrs(&html, "data-support");
        assert_eq!(supports.len(), out.summary.sentences.len());
        for (i, (s, attr)) in out.summary.sentences.iter().zip(&supports).enumerate() {
            let want: Vec<String> = s
                .support
                .iter()
                .map(|x| format!("d{}-s{}", x.doc, x.segment))
                .collect();
            assert_eq!(attr.split_whitespace().collect::<Vec<_>>(), want, "s{i}");
            for id in &want {
                assert!(row_ids.contains(&id.as_str()), "s{i}: no row {id}");
                let tag = tag_with_id(&html, id);
                assert!(tag.starts_with("<tr "), "{tag}");
                let (d, g) = id[1..].split_once("-s").unwrap();
                assert!(
                    tag.contains(&format!("data-doc=\"{d}\" data-seg=\"{g}\"")),
                    "{tag}"
                );
            }
        }
        // Several inputs: labels name the document; badges by kind.
        assert!(html.contains(">d1#2 <span class=\"score\">0.900</span></a>"));
        assert!(html.contains("<span class=\"badge b-red\">unsupported</span>"));
        assert!(html.contains("<span class=\"badge b-green\">shared</span>"));
        assert!(html.contains("<span class=\"badge b-grey\">single-source</span>"));
        assert!(html.contains("<span class=\"badge b-amber\">low-score</span>"));
        assert!(html.contains("<span class=\"support none\">no support</span>"));
    }

    #[test]
    fn flagged_segments_are_marked() {
        let out = seed_output();
        let html = render(&out);
        // Seed segment 17 has `retried-alone, source-words-left`.
        let t = tag_with_id(&html, "d0-s17");
        assert!(t.contains("class=\"seg k-sentence flagged\""), "{t}");
        assert!(t.contains("flags: retried-alone, source-words-left"), "{t}");
        assert!(t.contains("score 1.084"), "{t}");
        assert!(t.contains("cosine 0.933"), "{t}");
        assert!(html.contains("<span class=\"warn\" lang=\"en\">⚠ source-words-left</span>"));
        let t = tag_with_id(&html, "d1-s1");
        assert!(t.contains(" flagged\""), "{t}");
        // Process flags alone are not problems.
        for id in ["d0-s0", "d0-s23", "d1-s2", "d1-s0", "d0-s1"] {
            let t = tag_with_id(&html, id);
            assert!(!t.contains("flagged"), "{t}");
        }
        assert!(tag_with_id(&html, "d0-s0").contains("k-byline"));
        assert!(tag_with_id(&html, "d0-s4").contains("k-heading"));
        let flagged_rows = html.matches(" flagged\" data-doc").count();
        let want = out
            .documents
            .iter()
            .flat_map(|d| &d.segments)
            .filter(|s| s.flags.iter().any(is_problem_flag))
            .count();
        assert_eq!(flagged_rows, want);
        assert_eq!(want, 2);
    }
}
