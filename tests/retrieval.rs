//! Cross-lingual retrieval with the default embedder on real registry data:
//! each Vietnamese string must find its own English translation among all
//! the English strings (and the other way round). This is the property
//! alignment and summary support links rely on.

mod common;

use dich::align::{best_per_row, cosine_matrix, margin_matrix, MARGIN_K};
use dich::model::embedder::{EmbedKind, Embedder};

/// Share of rows whose best column is their own index.
fn top1(m: &[Vec<f32>]) -> f64 {
    let hits = best_per_row(m)
        .iter()
        .enumerate()
        .filter(|(i, b)| **b == Some(*i))
        .count();
    hits as f64 / m.len() as f64
}

fn transpose(m: &[Vec<f32>]) -> Vec<Vec<f32>> {
    (0..m[0].len())
        .map(|j| m.iter().map(|r| r[j]).collect())
        .collect()
}

#[test]
fn vietnamese_english_retrieval_top1() {
    let pairs = common::ui_pairs();
    let e = common::embedder();
    let en: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
    let vi: Vec<&str> = pairs.iter().map(|p| p.1.as_str()).collect();
    let t = std::time::Instant::now();
    let en_v = e.embed(&en, EmbedKind::Query).unwrap();
    let vi_v = e.embed(&vi, EmbedKind::Query).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let sim = cosine_matrix(&vi_v, &en_v);
    let margin = margin_matrix(&sim, MARGIN_K);
    let (cos_vi_en, cos_en_vi) = (top1(&sim), top1(&transpose(&sim)));
    let (mar_vi_en, mar_en_vi) = (top1(&margin), top1(&transpose(&margin)));
    eprintln!(
        "{} pairs ({} texts embedded in {secs:.1}s): top-1 by cosine vi->en {cos_vi_en:.3}, en->vi {cos_en_vi:.3}; by margin vi->en {mar_vi_en:.3}, en->vi {mar_en_vi:.3}",
        pairs.len(),
        2 * pairs.len()
    );
    assert!(pairs.len() >= 300, "only {} pairs", pairs.len());
    // Measured on these 456 pairs: cosine 0.526 / 0.548, margin 0.682 /
    // 0.684. Chance is 1/456. The set is hard because it is real: short
    // UI labels that differ by one word ("Close All" / "Close All Tabs" /
    // "Close All Other Tabs"), where the true pair often wins by 0.01. The
    // computation is deterministic, so the floors sit 0.05 under the
    // measurement: float differences across CPUs cannot cross them, a broken
    // tokenizer, pooling or margin (accuracy near 0) cannot pass them.
    assert!(
        cos_vi_en >= 0.47 && cos_en_vi >= 0.49,
        "cosine top-1 {cos_vi_en} / {cos_en_vi}"
    );
    assert!(
        mar_vi_en >= 0.63 && mar_en_vi >= 0.63,
        "margin top-1 {mar_vi_en} / {mar_en_vi}"
    );
    // Margin scoring is what alignment uses: it must beat raw cosine here.
    assert!(mar_vi_en > cos_vi_en && mar_en_vi > cos_en_vi);
}
