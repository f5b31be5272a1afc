//! Abstractive summaries: the LLM writes an English summary from the English
//! text of the articles (it summarizes English far better than Vietnamese),
//! then each summary sentence is linked to supporting segments by similarity,
//! checked for numbers no input has, and translated into Vietnamese.

use std::time::Instant;

use super::{mark_sharing, supporting_docs, SummaryOptions, Units};
use crate::decode::causal::generate;
use crate::decode::search::Hooks;
use crate::decode::{DecodingOptions, LoopGuard, StopReason};
use crate::error::Result;
use crate::model::embedder::{EmbedKind, Embedder};
use crate::model::LoadedLm;
use crate::text::segment;
use crate::translate::llm::prompt::PromptBuilder;
use crate::translate::llm::LlmTranslator;
use crate::translate::{check, TranslateOptions, LOOP_PENALTY};
use crate::types::{
    Flag, Lang, LangPair, Method, Segment, SegmentKind, Summary, SummarySentence,
    TranslationDocument,
};

const SYSTEM: &str = "You are a careful news editor. You write short, factual English summaries \
using only facts stated in the articles you are given. You never add names, numbers, places or \
claims that the articles do not contain.";

/// Tokens allowed per requested summary sentence (plus a fixed allowance).
const TOKENS_PER_SENTENCE: usize = 60;

/// The English text of a document: its sentences and headings, a paragraph
/// per line (bylines and captions left out).
fn english_text(doc: &TranslationDocument) -> String {
    let mut out = String::new();
    let mut para = None;
    for s in &doc.segments {
        if !matches!(s.kind, SegmentKind::Sentence | SegmentKind::Heading) {
            continue;
        }
        let en = match doc.source_lang {
            Lang::En => &s.source,
            Lang::Vi => &s.target,
        };
        let en = en.split_whitespace().collect::<Vec<_>>().join(" ");
        if en.is_empty() {
            continue;
        }
        if para.is_some() && para != Some(s.paragraph) {
            out.push('\n');
        } else if para.is_some() {
            out.push(' ');
        }
        out.push_str(&en);
        para = Some(s.paragraph);
    }
    out
}

fn user_message(docs: &[TranslationDocument], k: usize) -> String {
    let sentences = if k == 1 {
        "one sentence".to_string()
    } else {
        format!("at most {k} sentences")
    };
    if docs.len() == 1 {
        format!(
            "Summarize the following news article in {sentences}. Each sentence must state a fact \
             from the article. Write plain sentences: no title, no list, no introduction.\n\n\
             Article:\n{}",
            english_text(&docs[0])
        )
    } else {
        let mut m = format!(
            "The following {} articles are about the same event. Write one joint summary of them \
             in {sentences}. Each sentence must state a fact from the articles. Write plain \
             sentences: no title, no list, no introduction.",
            docs.len()
        );
        for (i, d) in docs.iter().enumerate() {
            m.push_str(&format!("\n\nArticle {}:\n{}", i + 1, english_text(d)));
        }
        m
    }
}

/// Strips what small models wrap summaries in: a "Summary:" label, list
/// markers, surrounding quotes.
fn clean_line(line: &str) -> &str {
    let mut l = line.trim();
    for label in ["summary:", "joint summary:", "english summary:"] {
        if l.len() >= label.len() && l[..label.len()].eq_ignore_ascii_case(label) {
            l = l[label.len()..].trim_start();
        }
    }
    // List markers, possibly stacked ("2) - ..."): bullets and "1." / "2)".
    loop {
        let before = l;
        l = l.trim_start_matches(['-', '*', '•']).trim_start();
        let digits = l.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0
            && l[digits..].starts_with(['.', ')'])
            && !l[digits + 1..].starts_with(|c: char| c.is_ascii_digit())
        {
            l = l[digits + 1..].trim_start();
        }
        if l == before {
            return l.trim();
        }
    }
}

/// Sentences of the model's reply: the first `k`, and how many it wrote.
pub fn split_summary(reply: &str, k: usize) -> (Vec<String>, usize) {
    let cleaned: Vec<&str> = reply
        .lines()
        .map(clean_line)
        .filter(|l| !l.is_empty())
        .collect();
    let text = cleaned.join("\n\n");
    let all: Vec<String> = segment(&text)
        .iter()
        .filter(|s| s.kind != SegmentKind::Byline)
        .map(|s| {
            s.text(&text)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .collect();
    let written = all.len();
    (all.into_iter().take(k).collect(), written)
}

/// Numbers in `sentence` that appear in no segment of any input (either side).
fn new_numbers(sentence: &str, docs: &[TranslationDocument]) -> bool {
    let known: std::collections::HashSet<String> = docs
        .iter()
        .flat_map(|d| d.segments.iter())
        .flat_map(|s| {
            check::numbers(&s.source)
                .into_iter()
                .chain(check::numbers(&s.target))
        })
        .collect();
    check::numbers(sentence).iter().any(|n| !known.contains(n))
}

/// Capitalized words of `sentence` (not its first word) that occur in no
/// segment of any input, either side, in any case: a name the model made
/// up. Short all-capital words are skipped: abbreviations such as "UN" or
/// "UK" stand for names the inputs spell out.
fn new_names(sentence: &str, docs: &[TranslationDocument]) -> bool {
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let known: std::collections::HashSet<String> = docs
        .iter()
        .flat_map(|d| d.segments.iter())
        .flat_map(|s| words(&s.source).into_iter().chain(words(&s.target)))
        .collect();
    sentence
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .skip(1)
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .filter(|w| !(w.chars().count() <= 3 && w.chars().all(|c| !c.is_lowercase())))
        .any(|w| !known.contains(&w.to_lowercase()))
}

pub fn abstractive(
    lm: &LoadedLm,
    embedder: &dyn Embedder,
    docs: &[TranslationDocument],
    units: &Units,
    opts: &SummaryOptions,
    seed: u64,
) -> Result<Summary> {
    let k = opts.length.count(units.units.len().max(1));
    let prompts = PromptBuilder::new(lm)?;
    let prompt = prompts.chat(SYSTEM, &user_message(docs, k))?;
    let opts = DecodingOptions {
        max_length: TOKENS_PER_SENTENCE * k + 64,
        stop_tokens: lm.stop_tokens.clone(),
        loop_guard: Some(LoopGuard::default()),
        scores: false,
        ..DecodingOptions::default()
    };
    let start = Instant::now();
    // Stop once the model starts sentence k + 1: it often keeps going, and
    // what follows is dropped anyway. Checked every few tokens (decoding is
    // cheap next to a forward pass).
    let mut enough = |tokens: &[u32]| {
        tokens.len().is_multiple_of(8)
            && lm
                .decode(tokens)
                .is_ok_and(|text| split_summary(&text, k).1 > k)
    };
    let mut write = |opts: &DecodingOptions| {
        let mut cache = lm.model.new_cache();
        let mut hooks = Hooks {
            stop_when: Some(&mut enough),
            on_step: None,
        };
        generate(lm.model.as_ref(), &mut cache, &prompt, opts, &mut hooks)
    };
    let mut g = write(&opts)?;
    if g.hypothesis.stop == StopReason::Loop {
        g = write(&DecodingOptions {
            repetition_penalty: LOOP_PENALTY.0,
            repetition_window: Some(LOOP_PENALTY.1),
            ..opts
        })?;
    }
    let reply = lm.decode(&g.hypothesis.tokens)?;
    tracing::info!(
        "summary written: {} prompt tokens in {:.1}s, {} generated in {:.1}s ({:.1}s in all)",
        g.stats.prompt_tokens,
        g.stats.prompt_s,
        g.hypothesis.tokens.len(),
        g.stats.decode_s,
        start.elapsed().as_secs_f64()
    );
    let (english, written) = split_summary(&reply, k);
    // Only a reply that ran out of room before its k-th sentence ended can
    // leave a kept sentence cut off; extra sentences are simply dropped.
    let truncated = g.hypothesis.stop != StopReason::End && written <= k;

    let vi = translate_to_vietnamese(lm, &english, seed)?;
    let refs: Vec<&str> = english.iter().map(String::as_str).collect();
    let vecs = embedder.embed(&refs, EmbedKind::Query)?;
    let sentences = english
        .iter()
        .zip(vi)
        .zip(&vecs)
        .enumerate()
        .map(|(i, ((en, (vi, vi_flags)), v))| {
            let (support, _) = units.support(v);
            let docs_ = supporting_docs(&support);
            let mut flags = Vec::new();
            if support.is_empty() {
                flags.push(Flag::Unsupported);
            }
            if new_numbers(en, docs) {
                flags.push(Flag::NewNumber);
            }
            if new_names(en, docs) {
                flags.push(Flag::NewName);
            }
            if truncated && i + 1 == english.len() {
                flags.push(Flag::Truncated);
            }
            flags.extend(
                vi_flags
                    .into_iter()
                    .filter(|f| !f.is_process())
                    .map(|f| Flag::Vi(Box::new(f))),
            );
            mark_sharing(&mut flags, &docs_, docs.len());
            SummarySentence {
                en: en.clone(),
                vi,
                support,
                docs: docs_,
                flags,
            }
        })
        .collect();
    Ok(Summary {
        method: Method::Abstractive,
        sentences,
    })
}

/// English summary sentences into Vietnamese, as one paragraph so each
/// sentence is translated with the earlier ones as context.
fn translate_to_vietnamese(
    lm: &LoadedLm,
    english: &[String],
    seed: u64,
) -> Result<Vec<(String, Vec<Flag>)>> {
    if english.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = String::new();
    let mut segments = Vec::new();
    for (i, s) in english.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        let start = text.len();
        text.push_str(s);
        segments.push(Segment {
            id: i,
            paragraph: 0,
            kind: SegmentKind::Sentence,
            start,
            end: text.len(),
        });
    }
    let mut opts = TranslateOptions::default();
    opts.decoding.seed = seed;
    let mut t = LlmTranslator::new(lm, LangPair::from_source(Lang::En), opts)?;
    let out = t.translate_segments(&text, &segments, |_| {})?;
    Ok(out.into_iter().map(|r| (r.target, r.flags)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_cleaned_and_split() {
        let reply = "Summary:\n1. Vietnam hosted the signing of the UN convention in Hanoi on October 25. \
                     Nearly 70 countries signed it.\n2) - The British ambassador called for cooperation.";
        let (s, written) = split_summary(reply, 5);
        assert_eq!(written, 3);
        assert_eq!(
            s,
            vec![
                "Vietnam hosted the signing of the UN convention in Hanoi on October 25.",
                "Nearly 70 countries signed it.",
                "The British ambassador called for cooperation."
            ]
        );
        assert_eq!(split_summary(reply, 2), (s[..2].to_vec(), 3));
        assert!(split_summary("  \n", 3).0.is_empty());
    }

    fn doc(source: &str, target: &str) -> TranslationDocument {
        let json = serde_json::json!({
            "input": "a.txt", "source_lang": "vi", "target_lang": "en",
            "model": {"name": "m", "sha256": "0"},
            "segments": [{"id": 0, "paragraph": 0, "kind": "sentence", "source": source,
                          "source_span": [0, source.len()], "target": target, "flags": []}],
            "stats": {"load_s": 0.0, "prompt_tokens": 0, "generated_tokens": 0,
                      "prompt_s": 0.0, "generate_s": 0.0, "wall_s": 0.0}
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn invented_numbers_and_names_are_caught() {
        let d = [doc(
            "Gần 70 nước ký Công ước tại Hà Nội ngày 25/10.",
            "Nearly 70 countries signed the convention in Hanoi on October 25.",
        )];
        assert!(!new_numbers(
            "Nearly 70 countries signed on October 25.",
            &d
        ));
        assert!(new_numbers("Over 120 countries signed.", &d));
        assert!(!new_names("The convention was signed in Hanoi.", &d));
        assert!(!new_names("The UN convention was signed in Hà Nội.", &d));
        assert!(new_names("The convention was signed in Geneva.", &d));
        // The first word is capitalized anyway.
        assert!(!new_names("Nearly all countries signed.", &d));
    }

    #[test]
    fn clean_line_keeps_ordinary_sentences() {
        assert_eq!(clean_line("2025 was a big year."), "2025 was a big year.");
        assert_eq!(clean_line("* Item"), "Item");
    }
}
