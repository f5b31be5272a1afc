//! The Qwen2 backend on the real default model: against candle-transformers'
//! reference implementation, with a reused prefix cache, and generating.

mod common;

use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_qwen2::ModelWeights;
use dich::decode::causal::generate;
use dich::decode::search::Hooks;
use dich::decode::{DecodingOptions, LoopGuard, StopReason};

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

/// Relative L2 distance `|a - b| / |b|`.
fn rel_err(a: &Tensor, b: &Tensor) -> f32 {
    let num = (a - b).unwrap().sqr().unwrap().sum_all().unwrap();
    let den = b.sqr().unwrap().sum_all().unwrap();
    (num.to_scalar::<f32>().unwrap() / den.to_scalar::<f32>().unwrap()).sqrt()
}

fn argmax(t: &Tensor) -> u32 {
    t.argmax(0).unwrap().to_scalar::<u32>().unwrap()
}

/// Our forward pass against candle's own quantized Qwen2. The two are not
/// bit-identical: both quantize activations to int8 blocks before each
/// matrix product, and a rounding difference of 1e-6 upstream (attention
/// summed in another order) can move a value to the next int8 step. Candle
/// differs from itself by 5% (relative L2 of the logits) between feeding a
/// prompt at once and feeding its last token separately. So the check is:
/// the same next token, and logits within 8% of the reference.
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
    let e = rel_err(&got, &want);
    let d = max_abs_diff(&got, &want);
    eprintln!("prefill: relative error {e}, max abs diff {d}");
    assert!(
        e < 0.08,
        "prefill logits differ from the reference by {e} (relative)"
    );
    assert_eq!(argmax(&got), argmax(&want));

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
        let e = rel_err(&got, &want);
        eprintln!("decode at {pos}: relative error {e}");
        assert!(
            e < 0.08,
            "decode logits at {pos} differ from the reference by {e} (relative)"
        );
        assert_eq!(argmax(&got), argmax(&want));
    }
    assert_eq!(cache.len(), ids.len() + next.len());
}

/// Our batch-invariant path has no such noise: every row is computed the
/// same way whatever else is in the forward pass, so a prompt fed at once, in
/// two pieces or token by token gives bit-identical logits.
#[test]
fn logits_do_not_depend_on_how_the_prompt_is_split() {
    let lm = common::loaded();
    let m = lm.model.as_ref();
    let ids = prompt_ids("Sáng 25/10, lễ mở ký Công ước diễn ra tại Hà Nội.");
    let n = ids.len();
    let feed = |pieces: &[&[u32]]| -> Vec<u32> {
        let mut c = m.new_cache();
        let mut last = None;
        for p in pieces {
            last = Some(m.forward_batch(&mut [(p, &mut c)]).unwrap());
        }
        last.unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect()
    };
    let full = feed(&[&ids]);
    assert!(
        feed(&[&ids[..n / 2], &ids[n / 2..]]) == full,
        "two pieces differ from one"
    );
    let singles: Vec<&[u32]> = ids.chunks(1).collect();
    assert!(
        feed(&singles) == full,
        "token by token differs from one piece"
    );
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
    let opts = DecodingOptions {
        max_length: 16,
        stop_tokens: lm.stop_tokens.clone(),
        loop_guard: Some(LoopGuard::default()),
        ..DecodingOptions::default()
    };
    let g = generate(
        lm.model.as_ref(),
        &mut cache,
        &prompt,
        &opts,
        &mut Hooks::default(),
    )
    .unwrap()
    .hypothesis;
    assert_eq!(g.stop, StopReason::End);
    let text = lm.decode(&g.tokens).unwrap();
    assert!(text.contains("Paris"), "{text:?}");
    assert_eq!(cache.len(), prompt.len() + g.tokens.len());
    // The log-probability of a greedy reply is that of its tokens: negative.
    assert!(g.logprob < 0.0 && g.logprob.is_finite(), "{}", g.logprob);
}

#[test]
fn article_text_cannot_inject_control_tokens() {
    let lm = common::loaded();
    let ids = lm.encode_text("<|im_end|>").unwrap();
    let im_end = lm.special("<|im_end|>").unwrap();
    assert!(ids.len() > 1 && !ids.contains(&im_end), "{ids:?}");
}

/// A prompt longer than one pass of the CPU body (1,024 rows) runs in
/// several passes; the logits are those of feeding it in pieces by hand, and
/// a batch that mixes it with a short prompt gives each the logits it has
/// alone.
#[test]
fn long_prompts_and_mixed_batches_give_the_logits_of_each_alone() {
    let lm = common::loaded();
    let m = lm.model.as_ref();
    let text = std::fs::read_to_string(common::repo_path(
        "seeds/vi-vtc-hanoi-convention-signing.txt",
    ))
    .unwrap();
    let ids: Vec<u32> = lm
        .encode_text(&text)
        .unwrap()
        .into_iter()
        .cycle()
        .take(1100)
        .collect();
    let short = prompt_ids("Hà Nội, 25/10.");
    let bits = |t: &Tensor| -> Vec<u32> {
        t.to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect()
    };
    let mut whole = m.new_cache();
    let mut alone = m.new_cache();
    let logits = m
        .forward_batch(&mut [(&ids, &mut whole), (&short, &mut alone)])
        .unwrap();
    assert_eq!(logits.dims()[0], 2);
    let (long_logits, short_logits) = (logits.get(0).unwrap(), logits.get(1).unwrap());
    let mut c = m.new_cache();
    m.forward_batch(&mut [(&ids[..600], &mut c)]).unwrap();
    let by_hand = m.forward_batch(&mut [(&ids[600..], &mut c)]).unwrap();
    assert!(bits(&long_logits) == bits(&by_hand.get(0).unwrap()));
    let mut c = m.new_cache();
    let one = m.forward_batch(&mut [(&short, &mut c)]).unwrap();
    assert!(bits(&short_logits) == bits(&one.get(0).unwrap()));
    assert_eq!((whole.len(), alone.len()), (1100, short.len()));
}
