//! Flags: what dich says about a segment or a summary sentence, next to it.
//! One enum for every producer (the translators, the checks, the pair
//! scorer, the summarizer), written as kebab-case strings (`retried-alone`,
//! `low-score`, ...). A flag of the Vietnamese translation of a generated
//! summary sentence is written with a `vi-` prefix. A flag this version does
//! not know (read from a file another version wrote) is kept as it is.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Flag {
    // How a translation was made; these say nothing against it.
    /// The first reply had a problem; the sentence was translated again alone.
    RetriedAlone,
    /// The reply looped and was decoded again with a repetition penalty.
    Repetition,
    /// A byline, kept as it is.
    Verbatim,
    // What is doubtful about a translation.
    /// Generation hit its length limit.
    Truncated,
    /// The source was longer than the model's positions; its end was cut.
    SourceTruncated,
    Empty,
    Multiline,
    Untranslated,
    SourceWordsLeft,
    NewNumber,
    ForeignScript,
    GlossaryMissed,
    /// A name in the source (a country, city, language from the lexicon)
    /// whose rendering is missing from the target.
    EntityMissed,
    /// A name in the target with no counterpart in the source.
    EntityAdded,
    /// A number in the source missing from the target.
    NumberMissed,
    /// A number whose qualifier changed ("gần 70" became "more than 70").
    ApproximationChanged,
    /// The reply is code, a question back or commentary, not a translation.
    NotATranslation,
    // From scoring the (source, target) pairs of a document.
    LowScore,
    LikelyOmission,
    LikelyAddition,
    // Summary sentences.
    Unsupported,
    NewName,
    Shared,
    SingleSource,
    /// A flag of the Vietnamese side of a generated summary sentence.
    Vi(Box<Flag>),
    /// A flag this version does not know.
    Other(String),
}

const NAMED: [(Flag, &str); 24] = [
    (Flag::RetriedAlone, "retried-alone"),
    (Flag::Repetition, "repetition"),
    (Flag::Verbatim, "verbatim"),
    (Flag::Truncated, "truncated"),
    (Flag::SourceTruncated, "source-truncated"),
    (Flag::Empty, "empty"),
    (Flag::Multiline, "multiline"),
    (Flag::Untranslated, "untranslated"),
    (Flag::SourceWordsLeft, "source-words-left"),
    (Flag::NewNumber, "new-number"),
    (Flag::ForeignScript, "foreign-script"),
    (Flag::GlossaryMissed, "glossary-missed"),
    (Flag::EntityMissed, "entity-missed"),
    (Flag::EntityAdded, "entity-added"),
    (Flag::NumberMissed, "number-missed"),
    (Flag::ApproximationChanged, "approximation-changed"),
    (Flag::NotATranslation, "not-a-translation"),
    (Flag::LowScore, "low-score"),
    (Flag::LikelyOmission, "likely-omission"),
    (Flag::LikelyAddition, "likely-addition"),
    (Flag::Unsupported, "unsupported"),
    (Flag::NewName, "new-name"),
    (Flag::Shared, "shared"),
    (Flag::SingleSource, "single-source"),
];

impl Flag {
    /// Flags that say how a pair was produced, not that it is wrong:
    /// `retried-alone`, `repetition`, `verbatim`.
    pub fn is_process(&self) -> bool {
        matches!(self, Flag::RetriedAlone | Flag::Repetition | Flag::Verbatim)
    }

    /// The written form, without allocating for the named flags.
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Flag::Vi(inner) => format!("vi-{}", inner.name()).into(),
            Flag::Other(s) => s.as_str().into(),
            named => NAMED
                .iter()
                .find(|(f, _)| f == named)
                .map_or("", |(_, s)| s)
                .into(),
        }
    }

    /// The flag written as `text`; never fails (unknown text is `Other`).
    pub fn parse(text: &str) -> Flag {
        if let Some((f, _)) = NAMED.iter().find(|(_, s)| *s == text) {
            return f.clone();
        }
        match text.strip_prefix("vi-") {
            Some(rest) if !rest.is_empty() => Flag::Vi(Box::new(Flag::parse(rest))),
            _ => Flag::Other(text.to_string()),
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl PartialEq<str> for Flag {
    fn eq(&self, other: &str) -> bool {
        self.name() == other
    }
}

impl PartialEq<&str> for Flag {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl Serialize for Flag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(Flag::parse(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_round_trips_through_its_text() {
        for (f, s) in NAMED.iter() {
            assert_eq!(f.name(), *s);
            assert_eq!(Flag::parse(s), *f);
            let json = serde_json::to_string(f).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<Flag>(&json).unwrap(), *f);
        }
        let vi = Flag::Vi(Box::new(Flag::NewNumber));
        assert_eq!(vi.to_string(), "vi-new-number");
        assert_eq!(Flag::parse("vi-new-number"), vi);
        let odd = Flag::parse("from-the-future");
        assert_eq!(odd, Flag::Other("from-the-future".into()));
        assert_eq!(odd.to_string(), "from-the-future");
        assert_eq!(Flag::parse("vi-"), Flag::Other("vi-".into()));
    }

    #[test]
    fn process_flags() {
        assert!(Flag::Verbatim.is_process());
        assert!(!Flag::Truncated.is_process());
        assert!(!Flag::Vi(Box::new(Flag::Verbatim)).is_process());
    }
}
