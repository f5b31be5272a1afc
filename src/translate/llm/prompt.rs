//! Prompts for translation in the model's chat format, built as token ids so
//! special tokens come only from here, never from the input text.
//!
//! The conversation is: a fixed system message and a few worked examples
//! (the prefix, computed once per process), then one user turn per source
//! sentence with the model's reply as the translation. Earlier sentences of
//! the same paragraph stay in the conversation as context.

use crate::model::Result;
use crate::model::{ChatFormat, LoadedLm};

use crate::types::Lang;

/// Worked examples (source vi, target en). Written for this purpose, not taken
/// from any test input: they show titles, dates, decimals, approximate
/// quantities, quotations and headings the way English news writes them.
/// They avoid countries and named people: a small model copies such details
/// into unrelated sentences (an "Ambassador of Japan" example once turned
/// Sweden's ambassador Japanese).
const EXAMPLES_VI_EN: &[(&str, &str)] = &[
    (
        "Sáng 12/3, Thủ tướng chủ trì cuộc họp với các bộ, ngành về phát triển hạ tầng giao thông.",
        "On the morning of March 12, the Prime Minister chaired a meeting with ministries and agencies on transport infrastructure development.",
    ),
    (
        "Theo Tổng cục Thống kê, GDP quý I tăng 5,66% so với cùng kỳ năm trước, với gần 40 tỉnh, thành phố đạt mức tăng trưởng trên 6%.",
        "According to the General Statistics Office, first-quarter GDP grew 5.66% year on year, with nearly 40 provinces and cities growing by more than 6%.",
    ),
    (
        "“Chúng tôi sẽ tiếp tục đầu tư vào giáo dục và y tế”, bà nói.",
        "“We will continue to invest in education and health care,” she said.",
    ),
    ("Kinh tế phục hồi mạnh", "Strong economic recovery"),
];

fn system_message(from: Lang, to: Lang) -> String {
    format!(
        "You are a professional translator of {src} news into {tgt}. \
         Translate each {src} text the user sends into fluent, faithful {tgt}. \
         Translate everything, add nothing and leave nothing out. \
         Keep names, numbers, dates and quotation marks. \
         Reply with the {tgt} translation only, without notes or explanations.",
        src = from.name(),
        tgt = to.name()
    )
}

fn examples(from: Lang, to: Lang) -> Vec<(&'static str, &'static str)> {
    match (from, to) {
        (Lang::Vi, Lang::En) => EXAMPLES_VI_EN.to_vec(),
        (Lang::En, Lang::Vi) => EXAMPLES_VI_EN.iter().map(|&(vi, en)| (en, vi)).collect(),
        _ => Vec::new(),
    }
}

/// Builds token sequences for one chat format.
#[derive(Clone)]
pub struct PromptBuilder<'a> {
    lm: &'a LoadedLm,
    im_start: u32,
    im_end: u32,
    newline: Vec<u32>,
}

impl<'a> PromptBuilder<'a> {
    pub fn new(lm: &'a LoadedLm) -> Result<Self> {
        match lm.chat {
            ChatFormat::ChatMl => Ok(Self {
                lm,
                im_start: lm.special("<|im_start|>")?,
                im_end: lm.special("<|im_end|>")?,
                newline: lm.encode_text("\n")?,
            }),
        }
    }

    /// `<|im_start|>{role}\n{text}<|im_end|>\n`
    fn turn(&self, role: &str, text: &str, out: &mut Vec<u32>) -> Result<()> {
        out.push(self.im_start);
        out.extend(self.lm.encode_text(&format!("{role}\n{text}"))?);
        out.push(self.im_end);
        out.extend(&self.newline);
        Ok(())
    }

    /// System message and worked examples: the fixed prefix of every prompt.
    pub fn prefix(&self, from: Lang, to: Lang) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        self.turn("system", &system_message(from, to), &mut out)?;
        for (src, tgt) in examples(from, to) {
            self.turn("user", src, &mut out)?;
            self.turn("assistant", tgt, &mut out)?;
        }
        Ok(out)
    }

    /// A one-turn conversation: a system message, a user message, and the
    /// opening of the assistant's reply.
    pub fn chat(&self, system: &str, user: &str) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        self.turn("system", system, &mut out)?;
        out.extend(self.request(user)?);
        Ok(out)
    }

    /// A finished exchange, used as context for later sentences.
    pub fn exchange(&self, source: &str, target: &str) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        self.turn("user", source, &mut out)?;
        self.turn("assistant", target, &mut out)?;
        Ok(out)
    }

    /// A user turn, then the opening of the assistant's reply.
    pub fn request(&self, source: &str) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        self.turn("user", source, &mut out)?;
        out.push(self.im_start);
        out.extend(self.lm.encode_text("assistant\n")?);
        Ok(out)
    }

    /// Closes an assistant reply that stopped at its end-of-turn token.
    pub fn close_reply(&self) -> Vec<u32> {
        let mut out = vec![self.im_end];
        out.extend(&self.newline);
        out
    }
}
