//! Sentence segmentation of the seed articles (no model needed).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dich::text::{model_text, segment};

const SEED_VI: &str = include_str!("../seeds/vi-vtc-hanoi-convention-signing.txt");
const SEED_EN: &str = include_str!("../seeds/en-sggp-global-shield.txt");

fn bench_segment(c: &mut Criterion) {
    let mut g = c.benchmark_group("segment");
    for (name, text) in [("vi_seed", SEED_VI), ("en_seed", SEED_EN)] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| b.iter(|| segment(std::hint::black_box(text))));
    }
    g.bench_function("vi_seed_model_text", |b| {
        let segs = segment(SEED_VI);
        b.iter(|| {
            segs.iter()
                .map(|s| model_text(s.text(SEED_VI)).len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_segment);
criterion_main!(benches);
