//! The alignment document of `dich align` (links between the segments of
//! two texts with spans into both inputs and scores) as JSON or TSV.

use super::AlignFormat;
use crate::types::AlignmentDocument;

pub fn render(doc: &AlignmentDocument, format: AlignFormat) -> String {
    match format {
        AlignFormat::Tsv => tsv(doc),
        AlignFormat::Json => json(doc),
    }
}

pub fn json(doc: &AlignmentDocument) -> String {
    super::pretty_json(doc)
}

/// One line per link: type, score, cosine, ids and texts, tab-separated
/// (tabs and newlines inside texts become spaces).
pub fn tsv(doc: &AlignmentDocument) -> String {
    let ids = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let clean = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::from("type\tscore\tcosine\ta\tb\ta_text\tb_text\n");
    for l in &doc.links {
        out.push_str(&format!(
            "{}\t{:.3}\t{:.3}\t{}\t{}\t{}\t{}\n",
            l.kind.as_str(),
            l.score,
            l.cosine,
            ids(&l.a),
            ids(&l.b),
            clean(&l.a_text),
            clean(&l.b_text)
        ));
    }
    out
}
