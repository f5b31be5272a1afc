//! Batched decoding gives exactly the tokens of unbatched decoding, with the
//! real default model: several sequences decoded in shared forward passes
//! (the `Batcher`), and a document translated as parallel runs of
//! paragraphs.

mod common;

use dich::decode::causal::generate;
use dich::decode::search::Hooks;
use dich::decode::{DecodingOptions, LoopGuard};
use dich::model::batcher::{Batcher, LeaveGuard};
use dich::model::CausalLm;
use dich::text::segment;
use dich::translate::llm::LlmTranslator;
use dich::translate::TranslateOptions;
use dich::types::{Lang, LangPair};

fn chat(lm: &dich::model::LoadedLm, user: &str) -> Vec<u32> {
    let im_start = lm.special("<|im_start|>").unwrap();
    let im_end = lm.special("<|im_end|>").unwrap();
    let mut p = vec![im_start];
    p.extend(lm.encode_text(&format!("user\n{user}")).unwrap());
    p.push(im_end);
    p.extend(lm.encode_text("\n").unwrap());
    p.push(im_start);
    p.extend(lm.encode_text("assistant\n").unwrap());
    p
}

#[test]
fn batched_generation_equals_unbatched_token_for_token() {
    let lm = common::loaded();
    // Prompts of different lengths, so the sequences sit at different
    // positions and finish at different steps.
    let prompts: Vec<Vec<u32>> = [
        "Translate into English: Sáng 25/10, lễ mở ký Công ước diễn ra tại Hà Nội.",
        "Name three rivers in Vietnam.",
        "Translate into English: Tổng Bí thư Tô Lâm phát biểu khai mạc.",
        "Write one sentence about Hanoi in autumn.",
        "What is 12 times 12? Answer with the number only.",
        "Translate into Vietnamese: The convention was signed by 72 countries.",
    ]
    .iter()
    .map(|u| chat(lm, u))
    .collect();
    let cfg = DecodingOptions {
        max_length: 40,
        stop_tokens: lm.stop_tokens.clone(),
        loop_guard: Some(LoopGuard::default()),
        scores: false,
        ..DecodingOptions::default()
    };

    // Unbatched: each prompt alone, one sequence per forward pass.
    let alone: Vec<Vec<u32>> = prompts
        .iter()
        .map(|p| {
            let single = Batcher::new(lm.model.as_ref());
            let lane = single.lane();
            let mut cache = lane.new_cache();
            let g = generate(&lane, &mut cache, p, &cfg, &mut Hooks::default()).unwrap();
            assert_eq!(single.stats().max_sequences, 1);
            g.hypothesis.tokens
        })
        .collect();

    let batcher = Batcher::new(lm.model.as_ref());
    let lanes: Vec<_> = prompts.iter().map(|_| batcher.lane()).collect();
    let together: Vec<Vec<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = prompts
            .iter()
            .zip(&lanes)
            .map(|(p, lane)| {
                let cfg = &cfg;
                s.spawn(move || {
                    let _leave = LeaveGuard(lane);
                    let mut cache = lane.new_cache();
                    generate(lane, &mut cache, p, cfg, &mut Hooks::default())
                        .unwrap()
                        .hypothesis
                        .tokens
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let stats = batcher.stats();
    for (i, (a, b)) in alone.iter().zip(&together).enumerate() {
        assert!(!a.is_empty(), "prompt {i} generated nothing");
        assert_eq!(
            a,
            b,
            "prompt {i}: batched {:?} vs alone {:?}",
            lm.decode(b).unwrap(),
            lm.decode(a).unwrap()
        );
    }
    // The passes really were shared.
    assert_eq!(stats.max_sequences, prompts.len());
    assert!(stats.mean_batch() > 2.0, "{stats:?}");
}

#[test]
fn lanes_translate_exactly_as_the_same_runs_one_after_another() {
    let lm = common::loaded();
    let seed = std::fs::read_to_string(common::repo_path(
        "seeds/vi-vtc-hanoi-convention-signing.txt",
    ))
    .unwrap();
    // The first paragraphs of the seed article: enough for three runs.
    let segments: Vec<_> = segment(&seed)
        .into_iter()
        .filter(|s| s.paragraph < 5)
        .collect();
    let opts = TranslateOptions::default();
    let mut t = LlmTranslator::new(lm, LangPair::from_source(Lang::Vi), opts).unwrap();
    let (one_by_one, _) = t
        .translate_segments_lanes(&seed, &segments, 3, false, |_| {})
        .unwrap();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let (batched, stats) = t
        .translate_segments_lanes(&seed, &segments, 3, true, |_| {
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .unwrap();
    assert_eq!(done.into_inner(), segments.len());
    assert_eq!(batched.len(), segments.len());
    for (i, (a, b)) in one_by_one.iter().zip(&batched).enumerate() {
        assert_eq!(a.target, b.target, "segment {i}");
        assert_eq!(a.flags, b.flags, "segment {i}");
    }
    assert!(stats.max_sequences >= 2, "{stats:?}");
}
