//! dich's BLEU, chrF, chrF++ and TER against sacreBLEU 2.4.3 on the test sets
//! in `tests/fixtures/sacrebleu` (written, with sacreBLEU's numbers, by
//! `scripts/sacrebleu_fixtures.py`): the library and `dich eval` must give
//! sacreBLEU's scores, details and signatures.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use dich::eval::bleu::Bleu;
use dich::eval::chrf::{sentence_chrf, Chrf};
use dich::eval::corpus::TestSet;
use dich::eval::ter::Ter;
use dich::eval::{Metric, Score, SACREBLEU_VERSION};
use dich::input::read_input;

/// Relative tolerance: the arithmetic is sacreBLEU's, in its order, so only
/// libm differences in the last bit could show.
const TOL: f64 = 1e-9;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sacrebleu")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["sacrebleu_version"], SACREBLEU_VERSION);
    v
}

fn cases(expected: &Value) -> Vec<(String, Value)> {
    let cases = expected["cases"].as_object().unwrap();
    assert!(cases.len() >= 5);
    cases.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn path(case: &str, file: &str) -> String {
    fixtures().join(case).join(file).display().to_string()
}

fn test_set(case: &str, hyp_file: &str) -> TestSet {
    let reference = read_input(&path(case, "ref.txt")).unwrap();
    let hyp = read_input(&path(case, hyp_file)).unwrap();
    TestSet::from_inputs(&reference, &[&hyp]).unwrap()
}

/// A float from expected.json, where floats are Python reprs in strings
/// (parsed exactly; serde_json's own float parsing may be off by an ulp).
fn float(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        other => other.as_f64().unwrap(),
    }
}

/// Asserts `got` is `want` within TOL and returns the absolute difference.
fn close(what: &str, got: f64, want: &Value) -> f64 {
    let want = float(want);
    let diff = (got - want).abs();
    assert!(
        diff <= TOL * want.abs().max(1.0),
        "{what}: dich {got} sacreBLEU {want} (diff {diff:e})"
    );
    diff
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

/// sacreBLEU's printed line: `NAME|signature = score verbose`.
fn line<M: Metric>(metric: &M, score: &M::Score) -> String {
    let mut text = format!(
        "{}|{} = {:.2}",
        metric.name(),
        metric.signature(),
        score.value()
    );
    if let Some(v) = score.verbose() {
        text.push(' ');
        text.push_str(&v);
    }
    text
}

/// Checks every metric of one system (`hyp.txt` or `hyp_b.txt`) and returns
/// the largest absolute score difference.
fn check_library(case: &str, hyp_file: &str, want: &Value) -> f64 {
    let set = test_set(case, hyp_file);
    let (hyps, refs) = (&set.systems[0], &set.refs);
    let at = |m: &str| format!("{case}/{hyp_file} {m}");
    let mut max_diff = 0.0f64;

    let w = &want["BLEU"];
    let b = Bleu.corpus_score(hyps, refs).unwrap();
    max_diff = max_diff.max(close(&at("BLEU"), b.score, &w["score"]));
    assert_eq!(
        b.counts.to_vec(),
        u64s(&w["counts"]),
        "{}",
        at("BLEU counts")
    );
    assert_eq!(
        b.totals.to_vec(),
        u64s(&w["totals"]),
        "{}",
        at("BLEU totals")
    );
    for (n, p) in b.precisions.iter().enumerate() {
        close(&at(&format!("BLEU p{}", n + 1)), *p, &w["precisions"][n]);
    }
    close(&at("BLEU bp"), b.bp, &w["bp"]);
    close(&at("BLEU ratio"), b.ratio, &w["ratio"]);
    assert_eq!(
        Some(b.hyp_len),
        w["hyp_len"].as_u64(),
        "{}",
        at("BLEU hyp_len")
    );
    assert_eq!(
        Some(b.ref_len),
        w["ref_len"].as_u64(),
        "{}",
        at("BLEU ref_len")
    );
    assert_eq!(
        b.verbose().as_deref(),
        w["verbose"].as_str(),
        "{}",
        at("BLEU")
    );
    assert_eq!(Bleu.signature(), w["signature"].as_str().unwrap());
    assert_eq!(line(&Bleu, &b), w["text"].as_str().unwrap());

    for (metric, name) in [(Chrf::CHRF, "chrF2"), (Chrf::CHRF_PLUS_PLUS, "chrF2++")] {
        let w = &want[name];
        assert_eq!(metric.name(), name);
        let c = metric.corpus_score(hyps, refs).unwrap();
        max_diff = max_diff.max(close(&at(name), c.score, &w["score"]));
        assert_eq!(metric.signature(), w["signature"].as_str().unwrap());
        assert_eq!(line(&metric, &c), w["text"].as_str().unwrap());
        let sentences = w["sentence_scores"].as_array().unwrap();
        assert_eq!(sentences.len(), hyps.len());
        for (i, ((h, r), s)) in hyps.iter().zip(refs).zip(sentences).enumerate() {
            let got = sentence_chrf(&metric, h, r);
            max_diff = max_diff.max(close(&at(&format!("{name} line {}", i + 1)), got, s));
        }
    }

    let w = &want["TER"];
    let t = Ter.corpus_score(hyps, refs).unwrap();
    max_diff = max_diff.max(close(&at("TER"), t.score, &w["score"]));
    assert_eq!(
        Some(t.num_edits),
        w["num_edits"].as_u64(),
        "{}",
        at("TER edits")
    );
    close(&at("TER ref_length"), t.ref_length as f64, &w["ref_length"]);
    assert_eq!(Ter.signature(), w["signature"].as_str().unwrap());
    assert_eq!(line(&Ter, &t), w["text"].as_str().unwrap());
    max_diff
}

#[test]
fn library_matches_sacrebleu_on_every_fixture() {
    let expected = expected();
    let mut max_diff = 0.0f64;
    for (case, want) in cases(&expected) {
        assert_eq!(
            test_set(&case, "hyp.txt").refs.len() as u64,
            want["segments"].as_u64().unwrap(),
            "{case}: segments"
        );
        max_diff = max_diff.max(check_library(&case, "hyp.txt", &want));
        if want.get("hyp_b").is_some() {
            max_diff = max_diff.max(check_library(&case, "hyp_b.txt", &want["hyp_b"]));
        }
    }
    eprintln!("largest |dich - sacreBLEU| over all scores: {max_diff:e}");
}

const METRICS: [(&str, &str); 4] = [
    ("bleu", "BLEU"),
    ("chrf", "chrF2"),
    ("chrf++", "chrF2++"),
    ("ter", "TER"),
];

fn dich_eval(metric: &str, case: &str, extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("dich")
        .unwrap()
        .args(["eval", metric, "--hyp", &path(case, "hyp.txt")])
        .args(["--ref", &path(case, "ref.txt")])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn cli_prints_sacrebleus_scores_and_signatures() {
    let expected = expected();
    for (case, want) in cases(&expected) {
        for (cmd, name) in METRICS {
            let w = &want[name];
            let out = dich_eval(cmd, &case, &["--format", "json"]);
            assert!(out.status.success(), "{case} {cmd}: {:?}", out);
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["metric"], name);
            assert_eq!(v["signature"], w["signature"], "{case} {cmd}");
            close(
                &format!("{case} {cmd} json"),
                v["score"].as_f64().unwrap(),
                &w["score"],
            );
            assert_eq!(v["segments"], want["segments"]);
            if name == "BLEU" {
                assert_eq!(v["verbose_score"], w["verbose"]);
                assert_eq!(v["hyp_len"], w["hyp_len"]);
            }
            if name == "TER" {
                assert_eq!(v["num_edits"], w["num_edits"]);
            }

            let out = dich_eval(cmd, &case, &[]);
            assert!(out.status.success());
            assert_eq!(
                String::from_utf8(out.stdout).unwrap(),
                format!("{}\n", w["text"].as_str().unwrap()),
                "{case} {cmd} text"
            );
        }
    }
}

#[test]
fn cli_compare_runs_the_paired_bootstrap() {
    let expected = expected();
    let want = &expected["cases"]["vi_en"];
    let b_path = path("vi_en", "hyp_b.txt");
    for (cmd, name) in METRICS {
        let run = |seed: &str| {
            let out = dich_eval(
                cmd,
                "vi_en",
                &["--compare", &b_path, "--format", "json", "--seed", seed],
            );
            assert!(out.status.success(), "{out:?}");
            serde_json::from_slice::<Value>(&out.stdout).unwrap()
        };
        let v = run("12345");
        assert_eq!(v, run("12345"), "same seed, same result");
        let rows = v.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        let (bl, sys) = (&rows[0], &rows[1]);
        assert_eq!(bl["baseline"], true);
        assert_eq!(sys["baseline"], false);
        assert!(bl["p_value"].is_null());
        assert_eq!(sys["bootstrap_samples"], 1000);
        close(
            &format!("{cmd} A"),
            bl["score"].as_f64().unwrap(),
            &want[name]["score"],
        );
        close(
            &format!("{cmd} B"),
            sys["score"].as_f64().unwrap(),
            &want["hyp_b"][name]["score"],
        );

        // Same procedure, other random draws: the estimates agree with
        // sacreBLEU's up to resampling noise, and so does the verdict when
        // sacreBLEU's p-value is far from 0.05.
        let sb = &want["paired_bs"][name];
        for (row, key) in [(bl, "baseline"), (sys, "system")] {
            let (mean, ci) = (row["mean"].as_f64().unwrap(), row["ci"].as_f64().unwrap());
            let (sb_mean, sb_ci) = (float(&sb[key]["mean"]), float(&sb[key]["ci"]));
            assert!(
                (mean - sb_mean).abs() < 1.0,
                "{cmd} {key} mean {mean} vs {sb_mean}"
            );
            assert!(
                (ci - sb_ci).abs() < 0.3 * sb_ci,
                "{cmd} {key} ci {ci} vs {sb_ci}"
            );
        }
        let p = sys["p_value"].as_f64().unwrap();
        let sb_p = float(&sb["p_value"]);
        assert!(p > 0.0 && p <= 1.0);
        if !(0.01..=0.2).contains(&sb_p) {
            assert_eq!(p < 0.05, sb_p < 0.05, "{cmd}: p {p} vs sacreBLEU {sb_p}");
        }
    }

    let out = dich_eval("bleu", "vi_en", &["--compare", &b_path]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("BLEU|nrefs:1|"), "{text}");
    assert!(
        text.contains("paired bootstrap: 1000 resamples, seed 12345"),
        "{text}"
    );
    assert!(text.contains("(p = "), "{text}");
}

#[test]
fn cli_rejects_misaligned_files_and_stray_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (h, r) = (dir.path().join("hyp.txt"), dir.path().join("ref.txt"));
    std::fs::write(&h, "a\nb\nc\n").unwrap();
    std::fs::write(&r, "a\nb\n").unwrap();
    for (cmd, _) in METRICS {
        let out = Command::cargo_bin("dich")
            .unwrap()
            .args(["eval", cmd, "--hyp"])
            .arg(&h)
            .arg("--ref")
            .arg(&r)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "{} has 3 lines but {} has 2",
                h.display(),
                r.display()
            )),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
    // --seed and --bootstrap only make sense with --compare.
    let out = Command::cargo_bin("dich")
        .unwrap()
        .args(["eval", "bleu", "--seed", "1", "--hyp"])
        .arg(&h)
        .arg("--ref")
        .arg(&r)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A zero --bootstrap is refused rather than silently changed.
    let out = Command::cargo_bin("dich")
        .unwrap()
        .args(["eval", "bleu", "--bootstrap", "0", "--compare"])
        .arg(&h)
        .arg("--hyp")
        .arg(&h)
        .arg("--ref")
        .arg(&h)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
