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
///
/// Every turn is `open`, the role header, the text, `close`: control tokens
/// are pushed by id, the role and the text are encoded as plain text (a
/// control-token string inside an article stays text), so the input can
/// never open or close a turn.
#[derive(Clone)]
pub struct PromptBuilder<'a> {
    lm: &'a LoadedLm,
    format: ChatFormat,
    /// Token that opens a turn.
    open: u32,
    /// Token that ends the role header (Llama 3 only).
    header_end: Option<u32>,
    /// Token that closes a turn.
    close: u32,
    /// Text after the role header (`\n`, or `\n\n` after Llama 3's).
    after_role: &'static str,
    /// Tokens after a turn's closing token (a newline, or nothing).
    after_close: Vec<u32>,
    /// Beginning-of-sequence token when the model wants one first.
    bos: Option<u32>,
}

impl<'a> PromptBuilder<'a> {
    pub fn new(lm: &'a LoadedLm) -> Result<Self> {
        let format = lm.chat;
        let (open, header_end, close, after_role, after_close) = match format {
            ChatFormat::ChatMl => ("<|im_start|>", None, "<|im_end|>", "\n", "\n"),
            ChatFormat::Llama3 => (
                "<|start_header_id|>",
                Some("<|end_header_id|>"),
                "<|eot_id|>",
                "\n\n",
                "",
            ),
            ChatFormat::Gemma => ("<start_of_turn>", None, "<end_of_turn>", "\n", "\n"),
        };
        let bos = match lm.info.bos_token_id {
            Some(id) if lm.info.add_bos => Some(id),
            _ => None,
        };
        Ok(Self {
            lm,
            format,
            open: lm.special(open)?,
            header_end: header_end.map(|t| lm.special(t)).transpose()?,
            close: lm.special(close)?,
            after_role,
            after_close: lm.encode_text(after_close)?,
            bos,
        })
    }

    /// The role's name in this format (Gemma calls the assistant `model`).
    fn role<'r>(&self, role: &'r str) -> &'r str {
        match (self.format, role) {
            (ChatFormat::Gemma, "assistant") => "model",
            _ => role,
        }
    }

    /// The opening of a turn: `open`, role, header end, and `text` encoded
    /// with the role header as one piece of plain text where the format
    /// joins them.
    fn open_turn(&self, role: &str, text: &str, out: &mut Vec<u32>) -> Result<()> {
        out.push(self.open);
        let role = self.role(role);
        match self.header_end {
            Some(end) => {
                out.extend(self.lm.encode_text(role)?);
                out.push(end);
                out.extend(self.lm.encode_text(&format!("{}{text}", self.after_role))?);
            }
            None => out.extend(
                self.lm
                    .encode_text(&format!("{role}{}{text}", self.after_role))?,
            ),
        }
        Ok(())
    }

    /// One whole turn: `<open>{role}{after_role}{text}<close>{after_close}`.
    fn turn(&self, role: &str, text: &str, out: &mut Vec<u32>) -> Result<()> {
        self.open_turn(role, text, out)?;
        out.push(self.close);
        out.extend(&self.after_close);
        Ok(())
    }

    /// A system message: its own turn, or (Gemma has no system role) the
    /// head of the first user turn, as Gemma's template writes it.
    fn system_then_user(&self, system: &str, user: &str, out: &mut Vec<u32>) -> Result<()> {
        match self.format {
            ChatFormat::Gemma => self.turn("user", &format!("{system}\n\n{user}"), out),
            _ => {
                self.turn("system", system, out)?;
                self.turn("user", user, out)
            }
        }
    }

    /// System message and worked examples: the fixed prefix of every prompt
    /// (after the beginning-of-sequence token where the model wants one).
    pub fn prefix(&self, from: Lang, to: Lang) -> Result<Vec<u32>> {
        let mut out = Vec::from_iter(self.bos);
        let system = system_message(from, to);
        let examples = examples(from, to);
        match examples.split_first() {
            Some(((src, tgt), rest)) => {
                self.system_then_user(&system, src, &mut out)?;
                self.turn("assistant", tgt, &mut out)?;
                for (src, tgt) in rest {
                    self.turn("user", src, &mut out)?;
                    self.turn("assistant", tgt, &mut out)?;
                }
            }
            None if self.format == ChatFormat::Gemma => {
                // No example to carry the instructions: a turn of its own.
                self.turn("user", &system, &mut out)?;
                self.turn("assistant", "Understood.", &mut out)?;
            }
            None => self.turn("system", &system, &mut out)?,
        }
        Ok(out)
    }

    /// A one-turn conversation: a system message, a user message, and the
    /// opening of the assistant's reply.
    pub fn chat(&self, system: &str, user: &str) -> Result<Vec<u32>> {
        let mut out = Vec::from_iter(self.bos);
        match self.format {
            ChatFormat::Gemma => {
                self.open_turn("user", &format!("{system}\n\n{user}"), &mut out)?
            }
            _ => {
                self.turn("system", system, &mut out)?;
                self.open_turn("user", user, &mut out)?;
            }
        }
        out.push(self.close);
        out.extend(&self.after_close);
        self.open_reply(&mut out)?;
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
        self.open_reply(&mut out)?;
        Ok(out)
    }

    fn open_reply(&self, out: &mut Vec<u32>) -> Result<()> {
        self.open_turn("assistant", "", out)
    }

    /// Closes an assistant reply that stopped at its end-of-turn token.
    pub fn close_reply(&self) -> Vec<u32> {
        let mut out = vec![self.close];
        out.extend(&self.after_close);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_chat_templates_are_recognised() {
        assert_eq!(
            ChatFormat::from_template("{{ '<start_of_turn>' }}"),
            Some(ChatFormat::Gemma)
        );
        assert_eq!(
            ChatFormat::from_template("<|start_header_id|>"),
            Some(ChatFormat::Llama3)
        );
        assert_eq!(ChatFormat::from_template("[INST]"), None);
    }
}
