//! The Qwen2 backend on the real default model: against candle-transformers'
//! reference implementation, with a reused prefix cache, and generating.

mod common;

use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_qwen2::ModelWeights;
use dich::translate::decode::{generate, GenerateConfig, StopReason};

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

fn prompt_ids(text: &str) -> Vec<u32> {
    common::loaded().encode_text(text).unwrap()
}

#[test]
fn logits_match_candle_reference_implementation() {
    let lm = common::loaded();
    let path = &common::default_model().path;
    let mut f = std::fs::File::open(path).unwrap();
    let content = candle_core::quantized::gguf_file::Content::read(&mut f).unwrap();
    let mut reference = ModelWeights::from_gguf(content, &mut f, &Device::Cpu).unwrap();

    let ids =
        prompt_ids("Sáng 25/10, lễ mở ký Công ước diễn ra tại Hà Nội với gần 70 nước tham gia.");
    let next = prompt_ids(" Sự kiện");

    // Prefill.
    let want = reference
        .forward(
            &Tensor::new(ids.as_slice(), &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap(),
            0,
        )
        .unwrap()
        .squeeze(0)
        .unwrap();
    let mut cache = lm.model.new_cache();
    let got = lm.model.forward(&ids, &mut cache).unwrap();
    assert_eq!(got.dims(), want.dims());
    let d = max_abs_diff(&got, &want);
    assert!(d < 1e-3, "prefill logits differ from the reference by {d}");

    // A continuation on top of the cache, token by token (the decode path).
    for (pos, &t) in (ids.len()..).zip(&next) {
        let want = reference
            .forward(
                &Tensor::new(&[t], &Device::Cpu)
                    .unwrap()
                    .unsqueeze(0)
                    .unwrap(),
                pos,
            )
            .unwrap()
            .squeeze(0)
            .unwrap();
        let got = lm.model.forward(&[t], &mut cache).unwrap();
        let d = max_abs_diff(&got, &want);
        assert!(
            d < 1e-3,
            "decode logits at {pos} differ from the reference by {d}"
        );
    }
    assert_eq!(cache.len(), ids.len() + next.len());
}

#[test]
fn reused_prefix_cache_gives_the_same_logits_as_a_full_prompt() {
    let lm = common::loaded();
    let prefix = prompt_ids("Translate from Vietnamese to English.\n");
    let rest = prompt_ids("Việt Nam đăng cai lễ ký kết.");

    let mut prefix_cache = lm.model.new_cache();
    lm.model.forward(&prefix, &mut prefix_cache).unwrap();

    let mut full_cache = lm.model.new_cache();
    let full: Vec<u32> = prefix.iter().chain(&rest).copied().collect();
    let want = lm.model.forward(&full, &mut full_cache).unwrap();

    // Twice from clones of the same prefix: the first use must not disturb it.
    for _ in 0..2 {
        let mut cache = prefix_cache.clone();
        let got = lm.model.forward(&rest, &mut cache).unwrap();
        let d = max_abs_diff(&got, &want);
        assert!(d < 1e-2, "prefix reuse changed logits by {d}");
        assert_eq!(
            got.argmax(0).unwrap().to_scalar::<u32>().unwrap(),
            want.argmax(0).unwrap().to_scalar::<u32>().unwrap()
        );
        assert_eq!(cache.len(), full.len());
    }
    assert_eq!(prefix_cache.len(), prefix.len());
}

#[test]
fn greedy_generation_stops_at_end_of_turn() {
    let lm = common::loaded();
    let im_start = lm.special("<|im_start|>").unwrap();
    let im_end = lm.special("<|im_end|>").unwrap();
    let mut prompt = vec![im_start];
    prompt.extend(prompt_ids(
        "user\nReply with exactly one word: the capital of France.",
    ));
    prompt.push(im_end);
    prompt.extend(prompt_ids("\n"));
    prompt.push(im_start);
    prompt.extend(prompt_ids("assistant\n"));
    let mut cache = lm.model.new_cache();
    let g = generate(
        lm.model.as_ref(),
        &mut cache,
        &prompt,
        &lm.stop_tokens,
        &GenerateConfig {
            max_new_tokens: 16,
            ..GenerateConfig::default()
        },
    )
    .unwrap();
    assert_eq!(g.stop, StopReason::EndOfTurn);
    let text = lm.decode(&g.tokens).unwrap();
    assert!(text.contains("Paris"), "{text:?}");
    assert_eq!(cache.len(), prompt.len() + g.tokens.len());
}

#[test]
fn article_text_cannot_inject_control_tokens() {
    let lm = common::loaded();
    let ids = lm.encode_text("<|im_end|>").unwrap();
    let im_end = lm.special("<|im_end|>").unwrap();
    assert!(ids.len() > 1 && !ids.contains(&im_end), "{ids:?}");
}
