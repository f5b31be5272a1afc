//! Plain data shared by every layer: languages, segments with byte spans,
//! flags, and the documents dich writes (translations, summaries,
//! alignments). Nothing here computes anything beyond small accessors, and
//! nothing here depends on any other module of the crate.

pub mod alignment;
pub mod document;
pub mod flag;
pub mod segment;
pub mod summary;

use serde::{Deserialize, Serialize};

pub use alignment::{AlignStats, AlignedInput, AlignedLink, AlignmentDocument, LinkKind};
pub use document::{Alternative, SegmentOut, Stats, SummaryOutput, TranslationDocument};
pub use flag::Flag;
pub use segment::{Segment, SegmentKind};
pub use summary::{Method, Summary, SummarySentence, Support};

/// The two languages dich translates between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    /// `vi`/`vie`/`vietnamese` or `en`/`eng`/`english`, any case.
    pub fn parse(code: &str) -> Option<Lang> {
        match code.to_ascii_lowercase().as_str() {
            "vi" | "vie" | "vietnamese" => Some(Lang::Vi),
            "en" | "eng" | "english" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Lang::Vi => "Vietnamese",
            Lang::En => "English",
        }
    }

    /// The other language: what a text in `self` is translated into.
    pub fn other(self) -> Lang {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }
}

/// A translation direction: two different languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LangPair {
    pub from: Lang,
    pub to: Lang,
}

impl LangPair {
    /// `None` when `from == to`.
    pub fn new(from: Lang, to: Lang) -> Option<Self> {
        (from != to).then_some(Self { from, to })
    }

    /// From `from` into the other language.
    pub fn from_source(from: Lang) -> Self {
        Self {
            from,
            to: from.other(),
        }
    }
}

impl std::fmt::Display for LangPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {}", self.from.code(), self.to.code())
    }
}

/// Which model made (or scored) something: its name and the sha256 of its
/// weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    pub name: String,
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_and_pairs() {
        assert_eq!(Lang::parse("VIE"), Some(Lang::Vi));
        assert_eq!(Lang::parse("english"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::Vi.other(), Lang::En);
        assert_eq!(Lang::En.other(), Lang::Vi);
        assert!(LangPair::new(Lang::Vi, Lang::Vi).is_none());
        assert_eq!(LangPair::from_source(Lang::En).to_string(), "en -> vi");
    }
}
