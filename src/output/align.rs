//! The alignment document of `dich align`: links between the segments of two
//! texts with spans into both inputs and scores, as JSON or TSV.

use serde::Serialize;

use super::ModelRef;
use crate::align::LinkKind;
use crate::translate::Lang;

#[derive(Debug, Clone, Serialize)]
pub struct AlignedInput {
    pub input: String,
    pub lang: Lang,
    pub segments: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlignedLink {
    #[serde(rename = "type")]
    pub kind: LinkKind,
    /// Segment ids in each input (0, 1 or 2 of them).
    pub a: Vec<usize>,
    pub b: Vec<usize>,
    /// `[start, end)` byte spans into each original input, one per segment.
    pub a_spans: Vec<[usize; 2]>,
    pub b_spans: Vec<[usize; 2]>,
    pub a_text: String,
    pub b_text: String,
    /// Ratio margin (0 for unlinked segments).
    pub score: f64,
    pub cosine: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlignmentDocument {
    pub a: AlignedInput,
    pub b: AlignedInput,
    pub embedder: ModelRef,
    pub threshold: f32,
    pub links: Vec<AlignedLink>,
    pub stats: AlignStats,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlignStats {
    /// Links joining segments of both inputs.
    pub linked: usize,
    pub unlinked_a: usize,
    pub unlinked_b: usize,
    pub wall_s: f64,
}

impl AlignmentDocument {
    pub fn to_json(&self) -> String {
        // Plain structs of strings and numbers cannot fail to serialize.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// One line per link: type, score, cosine, ids and texts, tab-separated
    /// (tabs and newlines inside texts become spaces).
    pub fn to_tsv(&self) -> String {
        let ids = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        let clean = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut out = String::from("type\tscore\tcosine\ta\tb\ta_text\tb_text\n");
        for l in &self.links {
            let kind = serde_json::to_value(l.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            out.push_str(&format!(
                "{kind}\t{:.3}\t{:.3}\t{}\t{}\t{}\t{}\n",
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
}
