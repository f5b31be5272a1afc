//! Marian (OPUS-MT layout) models on random-weight checkpoints written in the
//! real formats: loading, our forward pass against candle's Marian module,
//! batched == one by one, beam search == greedy at beam 1, n-best order and
//! scores, special tokens, 8-bit weights.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use dich::decode::seq2seq::{beam_search, generate, greedy};
use dich::decode::DecodingOptions;
use dich::model::marian::random::{write_checkpoint, RandomSpec};
use dich::model::marian::{MarianModel, MarianMt, WeightFormat};
use dich::model::Seq2Seq;

fn spm() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spm/tiny.spm")
}

fn checkpoint(seed: u64) -> (tempfile::TempDir, MarianMt) {
    let dir = tempfile::tempdir().unwrap();
    let spec = RandomSpec {
        eos_bias: 1.5,
        ..RandomSpec::tiny(seed)
    };
    write_checkpoint(dir.path(), &spec, &spm()).unwrap();
    let mt = MarianMt::load(dir.path(), WeightFormat::F32).unwrap();
    (dir, mt)
}

const TEXTS: &[&str] = &[
    "Hà Nội ngày 25/10.",
    "The reality has proven that no single nation can fight cybercrime alone.",
    "Công ước",
    "Tăng 5,66% so với cùng kỳ năm trước, theo Bộ Công an và Liên Hợp Quốc.",
];

fn sources(mt: &MarianMt) -> Vec<Vec<u32>> {
    TEXTS
        .iter()
        .map(|t| mt.encode_source(t).unwrap().0)
        .collect()
}

fn refs(v: &[Vec<u32>]) -> Vec<&[u32]> {
    v.iter().map(|s| s.as_slice()).collect()
}

/// Log-softmax of our logits for `tokens` fed after the start token.
fn forced_logprob(m: &MarianModel, src: &[u32], tokens: &[u32], eos: bool) -> f32 {
    let mem = m.encode(&[src]).unwrap();
    let mut st = m.start_state();
    let mut feed = vec![m.config.decoder_start_token_id];
    feed.extend_from_slice(tokens);
    let mut targets = tokens.to_vec();
    if eos {
        targets.push(m.config.eos_token_id);
    } else {
        feed.pop();
    }
    let mut total = 0f32;
    for (&inp, &out) in feed.iter().zip(&targets) {
        let mut logits = m.decode_step(&mut [&mut st], &[&mem[0]], &[inp]).unwrap();
        logits[m.config.pad_token_id as usize] = f32::NEG_INFINITY;
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let lse = max + logits.iter().map(|v| (v - max).exp()).sum::<f32>().ln();
        total += logits[out as usize] - lse;
    }
    total
}

#[test]
fn loads_the_hub_layout_and_tokenizes_with_vocab_json() {
    let (dir, mt) = checkpoint(1);
    for f in [
        "config.json",
        "model.safetensors",
        "source.spm",
        "target.spm",
        "vocab.json",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let (ids, cut) = mt.encode_source("Hà Nội ngày 25/10.").unwrap();
    assert!(!cut);
    assert_eq!(*ids.last().unwrap(), mt.vocab.eos_id);
    assert!(ids.iter().all(|&i| i != mt.vocab.unk_id), "{ids:?}");
    // Model ids of pieces decode back to the (NFC) text.
    assert_eq!(mt.decode(&ids), "Hà Nội ngày 25/10.");
    assert_eq!(mt.model.target_vocab(), 512);
}

#[test]
fn forward_matches_candles_marian_module_on_unpadded_input() {
    let (dir, mt) = checkpoint(2);
    let cfg = mt.model.config.clone();
    let vb = unsafe {
        VarBuilder::from_mmaped_safetensors(
            &[dir.path().join("model.safetensors")],
            DType::F32,
            &Device::Cpu,
        )
        .unwrap()
    };
    let mut theirs = candle_transformers::models::marian::MTModel::new(&cfg, vb).unwrap();
    let src = mt.encode_source(TEXTS[1]).unwrap().0;
    let src_t = Tensor::new(src.as_slice(), &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let enc = theirs.encoder().forward(&src_t, 0).unwrap();
    let mem = mt.model.encode(&[&src]).unwrap();
    let mut st = mt.model.start_state();
    let feed = [cfg.decoder_start_token_id, 17, 42, 5, 300, 9];
    let mut worst = 0f32;
    for (pos, &tok) in feed.iter().enumerate() {
        let t = Tensor::new(&[tok], &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let want: Vec<f32> = theirs
            .decode(&t, &enc, pos)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let got = mt
            .model
            .decode_step(&mut [&mut st], &[&mem[0]], &[tok])
            .unwrap();
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (a, b) in got.iter().zip(&want) {
            worst = worst.max((a - b).abs() / scale);
        }
        let am = |v: &[f32]| {
            v.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0
        };
        assert_eq!(am(&got), am(&want), "argmax differs at step {pos}");
    }
    assert!(worst < 1e-4, "largest relative logit difference {worst}");
}

#[test]
fn a_batch_gives_exactly_what_each_sentence_gives_alone() {
    let (_dir, mt) = checkpoint(3);
    let srcs = sources(&mt);
    let lens: Vec<usize> = srcs.iter().map(Vec::len).collect();
    assert!(
        lens.windows(2).any(|w| w[0] != w[1]),
        "lengths differ: {lens:?}"
    );
    for opts in [
        DecodingOptions {
            max_length: 40,
            min_length: 3,
            ..Default::default()
        },
        DecodingOptions {
            beam: 4,
            n_best: 3,
            max_length: 40,
            min_length: 3,
            ..Default::default()
        },
        DecodingOptions {
            beam: 3,
            max_length: 40,
            no_repeat_ngram: 2,
            repetition_penalty: 1.2,
            ..Default::default()
        },
    ] {
        let batched = generate(&mt.model, &refs(&srcs), &opts).unwrap();
        for (i, s) in srcs.iter().enumerate() {
            let alone = generate(&mt.model, &[s.as_slice()], &opts).unwrap();
            assert_eq!(alone[0], batched[i], "source {i} with {opts:?}");
        }
    }
    // The encoder memories and logits are bit-identical too.
    let all = mt.model.encode(&refs(&srcs)).unwrap();
    let mut states: Vec<_> = all.iter().map(|_| mt.model.start_state()).collect();
    let mut sref: Vec<_> = states.iter_mut().collect();
    let mref: Vec<_> = all.iter().collect();
    let start = mt.model.config.decoder_start_token_id;
    let together = mt
        .model
        .decode_step(&mut sref, &mref, &vec![start; srcs.len()])
        .unwrap();
    let v = mt.model.target_vocab();
    for (i, s) in srcs.iter().enumerate() {
        let one = mt.model.encode(&[s.as_slice()]).unwrap();
        let mut st = mt.model.start_state();
        let l = mt
            .model
            .decode_step(&mut [&mut st], &[&one[0]], &[start])
            .unwrap();
        assert_eq!(l, together[i * v..(i + 1) * v], "logits of source {i}");
    }
}

#[test]
fn beam_of_one_is_greedy() {
    let (_dir, mt) = checkpoint(4);
    let srcs = sources(&mt);
    for extra in [
        DecodingOptions {
            max_length: 30,
            min_length: 3,
            ..Default::default()
        },
        DecodingOptions {
            max_length: 30,
            no_repeat_ngram: 3,
            repetition_penalty: 1.5,
            min_length: 4,
            ..Default::default()
        },
        DecodingOptions {
            max_length: 5,
            ..Default::default()
        },
    ] {
        let g = greedy(&mt.model, &refs(&srcs), &extra).unwrap();
        let b = beam_search(&mt.model, &refs(&srcs), &extra).unwrap();
        for (i, (g, b)) in g.iter().zip(&b).enumerate() {
            assert_eq!(b.len(), 1);
            assert_eq!(g.tokens, b[0].tokens, "source {i}");
            assert_eq!(g.finished(), b[0].finished());
            assert!((g.logprob - b[0].logprob).abs() < 1e-4);
        }
    }
}

#[test]
fn n_best_lists_are_ordered_distinct_and_scored() {
    let (_dir, mt) = checkpoint(5);
    let srcs = sources(&mt);
    for lp in [0.0f32, 1.0, 2.0] {
        let opts = DecodingOptions {
            beam: 5,
            n_best: 5,
            length_penalty: lp,
            max_length: 24,
            min_length: 3,
            ..Default::default()
        };
        let out = beam_search(&mt.model, &refs(&srcs), &opts).unwrap();
        let ended = out.iter().flatten().filter(|h| h.finished()).count();
        assert!(
            ended >= 4,
            "too few hypotheses ended with </s> to test anything: {out:?}"
        );
        for (src, hyps) in srcs.iter().zip(&out) {
            assert!(!hyps.is_empty() && hyps.len() <= 5);
            for w in hyps.windows(2) {
                assert!(w[0].score >= w[1].score, "not best first: {hyps:?}");
            }
            for (i, h) in hyps.iter().enumerate() {
                for other in &hyps[i + 1..] {
                    assert_ne!(h.tokens, other.tokens, "duplicate hypothesis");
                }
                // The score is the model's own log-probability of the tokens.
                let lp_forced = forced_logprob(&mt.model, src, &h.tokens, h.finished());
                assert!(
                    (lp_forced - h.logprob).abs() < 1e-3 * h.logprob.abs().max(1.0),
                    "{lp_forced} vs {}",
                    h.logprob
                );
                let len = h.tokens.len() + usize::from(h.finished());
                let want = if lp == 0.0 {
                    h.logprob
                } else {
                    h.logprob / (len as f32).powf(lp)
                };
                assert!((want - h.score).abs() < 1e-5, "score {} vs {want}", h.score);
            }
        }
        // The best of a wider beam is at least as good as greedy's.
        let g = greedy(
            &mt.model,
            &refs(&srcs),
            &DecodingOptions {
                max_length: 24,
                min_length: 3,
                length_penalty: lp,
                ..Default::default()
            },
        )
        .unwrap();
        for (g, hyps) in g.iter().zip(&out) {
            if g.finished() && hyps[0].finished() {
                assert!(
                    hyps[0].score >= g.score - 1e-4,
                    "beam {} < greedy {}",
                    hyps[0].score,
                    g.score
                );
            }
        }
    }
}

#[test]
fn special_tokens_never_reach_the_text() {
    let (_dir, mt) = checkpoint(6);
    let srcs = sources(&mt);
    let opts = DecodingOptions {
        beam: 3,
        n_best: 3,
        max_length: 40,
        min_length: 2,
        ..Default::default()
    };
    let out = generate(&mt.model, &refs(&srcs), &opts).unwrap();
    let pad = mt.model.config.pad_token_id;
    let eos = mt.model.config.eos_token_id;
    for hyps in &out {
        for h in hyps {
            assert!(
                !h.tokens.contains(&pad) && !h.tokens.contains(&eos),
                "{:?}",
                h.tokens
            );
            let text = mt.decode(&h.tokens);
            for s in ["<pad>", "</s>", "<unk>"] {
                assert!(!text.contains(s), "{text}");
            }
            assert!(!text.contains('\u{2581}'), "{text}");
        }
    }
    // Even ids the model should never produce are dropped from text.
    assert_eq!(mt.decode(&[pad, eos, mt.vocab.unk_id]), "");
}

#[test]
fn eight_bit_weights_agree_with_f32() {
    let (dir, mt) = checkpoint(7);
    let q = MarianMt::load(dir.path(), WeightFormat::Q8).unwrap();
    assert!(q.model.weight_bytes() * 3 < mt.model.weight_bytes());
    let srcs = sources(&mt);
    let mf = mt.model.encode(&refs(&srcs)).unwrap();
    let mq = q.model.encode(&refs(&srcs)).unwrap();
    let start = mt.model.config.decoder_start_token_id;
    let v = mt.model.target_vocab();
    for i in 0..srcs.len() {
        let mut a = mt.model.start_state();
        let mut b = q.model.start_state();
        let la = mt
            .model
            .decode_step(&mut [&mut a], &[&mf[i]], &[start])
            .unwrap();
        let lb = q
            .model
            .decode_step(&mut [&mut b], &[&mq[i]], &[start])
            .unwrap();
        let num: f32 = la.iter().zip(&lb).map(|(x, y)| (x - y) * (x - y)).sum();
        let den: f32 = la.iter().map(|x| x * x).sum();
        let rel = (num / den).sqrt();
        assert!(rel < 0.05, "relative L2 {rel}");
        assert_eq!(la.len(), v);
    }
    // Batching stays exact with 8-bit weights.
    let opts = DecodingOptions {
        max_length: 20,
        ..Default::default()
    };
    let batched = greedy(&q.model, &refs(&srcs), &opts).unwrap();
    for (i, s) in srcs.iter().enumerate() {
        assert_eq!(
            greedy(&q.model, &[s.as_slice()], &opts).unwrap()[0],
            batched[i]
        );
    }
}

#[test]
fn broken_checkpoints_are_clear_errors() {
    let (dir, _mt) = checkpoint(8);
    let p = dir.path();
    std::fs::remove_file(p.join("target.spm")).unwrap();
    let err = MarianMt::load(p, WeightFormat::F32)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("target.spm") && err.contains("missing"),
        "{err}"
    );
    std::fs::copy(spm(), p.join("target.spm")).unwrap();
    std::fs::write(p.join("model.safetensors"), b"not safetensors").unwrap();
    let err = MarianMt::load(p, WeightFormat::F32)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    std::fs::remove_file(p.join("model.safetensors")).unwrap();
    let err = MarianMt::load(p, WeightFormat::F32)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("pytorch_model.bin"), "{err}");
    // A tensor of the wrong shape names the tensor.
    let d2 = tempfile::tempdir().unwrap();
    write_checkpoint(d2.path(), &RandomSpec::tiny(9), &spm()).unwrap();
    let cfg = std::fs::read_to_string(d2.path().join("config.json")).unwrap();
    std::fs::write(
        d2.path().join("config.json"),
        cfg.replace("\"encoder_ffn_dim\": 128", "\"encoder_ffn_dim\": 96"),
    )
    .unwrap();
    let err = MarianMt::load(d2.path(), WeightFormat::F32)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("fc1.weight") && err.contains("shape"), "{err}");
    // vocab.json ids beyond the model's vocabulary are refused at load.
    let d3 = tempfile::tempdir().unwrap();
    write_checkpoint(d3.path(), &RandomSpec::tiny(12), &spm()).unwrap();
    let vocab = std::fs::read_to_string(d3.path().join("vocab.json")).unwrap();
    std::fs::write(
        d3.path().join("vocab.json"),
        vocab.replacen("\"<unk>\":1", "\"<unk>\":900", 1),
    )
    .unwrap();
    let err = MarianMt::load(d3.path(), WeightFormat::F32)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("vocab.json") && err.contains("900"), "{err}");
}

#[test]
fn the_seq2seq_trait_reports_the_models_specials() {
    let (_dir, mt) = checkpoint(10);
    let m = &mt.model;
    assert_eq!(Seq2Seq::eos_token(m), 0);
    assert_eq!(m.suppressed_tokens(), vec![511]);
    assert_eq!(m.start_token(), 511);
    assert_eq!(m.max_target_positions(), 128);
}

#[test]
fn pytorch_model_bin_loads_the_same_weights() {
    // scripts/safetensors_to_pth.py writes the zip + pickle format of
    // torch.save with the standard library only.
    let (dir, mt) = checkpoint(13);
    let pth_dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "source.spm", "target.spm", "vocab.json"] {
        std::fs::copy(dir.path().join(f), pth_dir.path().join(f)).unwrap();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/safetensors_to_pth.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(dir.path().join("model.safetensors"))
        .arg(pth_dir.path().join("pytorch_model.bin"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pth = MarianMt::load(pth_dir.path(), WeightFormat::F32).unwrap();
    assert!(pth.weights_file.ends_with("pytorch_model.bin"));
    let srcs = sources(&mt);
    let opts = DecodingOptions {
        beam: 3,
        max_length: 20,
        min_length: 2,
        ..Default::default()
    };
    assert_eq!(
        generate(&mt.model, &refs(&srcs), &opts).unwrap(),
        generate(&pth.model, &refs(&srcs), &opts).unwrap()
    );
    let a = mt.model.encode(&[&srcs[0]]).unwrap();
    let b = pth.model.encode(&[&srcs[0]]).unwrap();
    let start = mt.model.config.decoder_start_token_id;
    let la = mt
        .model
        .decode_step(&mut [&mut mt.model.start_state()], &[&a[0]], &[start])
        .unwrap();
    let lb = pth
        .model
        .decode_step(&mut [&mut pth.model.start_state()], &[&b[0]], &[start])
        .unwrap();
    assert_eq!(la, lb);
}
