//! The inference hot path with the real default models (fetched into the
//! cache on first run, like the tests): tokenization, prefill of 64/256/1024
//! tokens, one decoding step at batch 1 and batch 8, embedding 32 sentences,
//! and translating one paragraph of the seed article end to end.
//!
//! Slow steps use few samples: a 1024-token prefill takes about ten seconds
//! on 2 cores. `dich bench` prints the same quantities as one table.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dich::model::embedder::{EmbedKind, Embedder};
use dich::model::KvCache;
use dich::text::{model_text, segment};
use dich::translate::llm::LlmTranslator;
use dich::translate::TranslateOptions;
use dich::types::{Lang, LangPair};

// The tests' helpers: default models resolved (fetched on first use) and
// loaded once.
#[path = "../tests/common/mod.rs"]
mod common;

use common::SEED_VI;

fn lm() -> &'static dich::model::LoadedLm {
    common::loaded()
}

fn ids(n: usize) -> Vec<u32> {
    dich::bench::prompt_ids(lm(), SEED_VI, n).unwrap()
}

fn bench_tokenize(c: &mut Criterion) {
    let lm = lm();
    let mut g = c.benchmark_group("tokenize");
    g.throughput(Throughput::Bytes(SEED_VI.len() as u64));
    g.bench_function("vi_seed", |b| b.iter(|| lm.encode_text(SEED_VI).unwrap()));
    g.finish();
}

fn bench_prefill(c: &mut Criterion) {
    let m = lm().model.as_ref();
    // Warm-up: candle repacks each weight matrix on first use.
    m.forward(&ids(8), &mut m.new_cache()).unwrap();
    let mut g = c.benchmark_group("prefill");
    g.sample_size(10).warm_up_time(Duration::from_millis(1));
    for n in [64usize, 256, 1024] {
        let p = ids(n);
        g.throughput(Throughput::Elements(n as u64));
        g.measurement_time(Duration::from_secs_f64(n as f64 / 8.0));
        g.bench_with_input(BenchmarkId::from_parameter(n), &p, |b, p| {
            b.iter(|| m.forward(p, &mut m.new_cache()).unwrap())
        });
    }
    g.finish();
}

fn bench_decode_step(c: &mut Criterion) {
    let m = lm().model.as_ref();
    let mut g = c.benchmark_group("decode_step");
    g.sample_size(20).warm_up_time(Duration::from_millis(500));
    // Each sequence has its own 128-token context; the step is measured from
    // a copy of it, so every iteration decodes at the same position.
    let base: Vec<KvCache> = (0..8)
        .map(|i| {
            let mut c = m.new_cache();
            let p: Vec<u32> = ids(128 + i).into_iter().skip(i).collect();
            m.forward_batch(&mut [(p.as_slice(), &mut c)]).unwrap();
            c
        })
        .collect();
    let token = ids(1);
    g.throughput(Throughput::Elements(1));
    g.bench_function("batch1", |b| {
        b.iter_batched(
            || base[0].clone(),
            |mut c| m.forward(&token, &mut c).unwrap(),
            criterion::BatchSize::LargeInput,
        )
    });
    g.throughput(Throughput::Elements(8));
    g.bench_function("batch8", |b| {
        b.iter_batched(
            || base.clone(),
            |mut caches| {
                let mut batch: Vec<(&[u32], &mut KvCache)> =
                    caches.iter_mut().map(|c| (token.as_slice(), c)).collect();
                m.forward_batch(&mut batch).unwrap()
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn bench_embed(c: &mut Criterion) {
    let e = common::embedder();
    let sentences: Vec<String> = segment(SEED_VI)
        .iter()
        .map(|s| model_text(s.text(SEED_VI)))
        .cycle()
        .take(32)
        .collect();
    let refs: Vec<&str> = sentences.iter().map(|s| s.as_str()).collect();
    let mut g = c.benchmark_group("embed");
    g.sample_size(10);
    g.throughput(Throughput::Elements(32));
    g.bench_function("32_sentences", |b| {
        b.iter(|| e.embed(&refs, EmbedKind::Query).unwrap())
    });
    g.finish();
}

fn bench_translate_paragraph(c: &mut Criterion) {
    let lm = lm();
    let segs: Vec<_> = segment(SEED_VI)
        .into_iter()
        .filter(|s| s.paragraph == 2)
        .collect();
    let mut t = LlmTranslator::new(
        lm,
        LangPair::from_source(Lang::Vi),
        TranslateOptions::default(),
    )
    .unwrap();
    let mut g = c.benchmark_group("translate");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(60));
    g.throughput(Throughput::Elements(segs.len() as u64));
    g.bench_function("seed_paragraph", |b| {
        b.iter(|| t.translate_segments(SEED_VI, &segs, |_| {}).unwrap())
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_tokenize,
    bench_prefill,
    bench_decode_step,
    bench_embed,
    bench_translate_paragraph
);
criterion_main!(benches);
