//! `dich eval translate` through the binary: the real pipeline over a few
//! pairs (with a translation memory and a glossary), and scoring given
//! hypotheses, including the errors a user can cause.

mod common;

use serde_json::Value;

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Real news-like pairs: a date, a decimal with a comma, an institution.
const PAIRS: &str = "\
Sáng 25/10, Liên Hợp Quốc tổ chức lễ mở ký Công ước tại Hà Nội.\tOn the morning of October 25, the United Nations held the opening ceremony for the signing of the Convention in Hanoi.
dòng này không có tab
Lạm phát tăng 5,66% so với cùng kỳ năm trước.\tInflation rose 5.66% year on year.
Bộ Công an chủ trì hội nghị.\tThe Ministry of Public Security chaired the conference.
";

#[test]
fn translates_pairs_scores_them_and_saves_the_hypotheses() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = write(dir.path(), "pairs.tsv", PAIRS);
    // The memory holds the first pair itself (never shown to it) and one
    // other pair.
    let tm = write(
        dir.path(),
        "tm.tsv",
        "Sáng 25/10, Liên Hợp Quốc tổ chức lễ mở ký Công ước tại Hà Nội.\tLEAK\nBộ Y tế chủ trì hội nghị.\tThe Ministry of Health chaired the conference.\n",
    );
    let hyp = dir.path().join("hyp.txt");
    let out = common::dich(true)
        .args(["eval", "translate", "--format", "json", "--lanes", "2"])
        .arg(&pairs)
        .arg("--examples")
        .arg(&tm)
        .arg("--save-hyp")
        .arg(&hyp)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The bad line is reported with its line number; the rest went on.
    assert!(stderr.contains("pairs.tsv:2: skipped: no tab"), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pairs"], 3);
    assert_eq!(v["skipped"][0]["line"], 2);
    let metrics = v["metrics"].as_array().unwrap();
    assert_eq!(metrics[0]["metric"], "BLEU");
    assert_eq!(metrics[1]["metric"], "chrF2");
    assert!(metrics[0]["signature"]
        .as_str()
        .unwrap()
        .starts_with("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp"));
    let hyps = std::fs::read_to_string(&hyp).unwrap();
    let lines: Vec<&str> = hyps.lines().collect();
    assert_eq!(lines.len(), 3, "{hyps}");
    assert!(
        !hyps.contains("LEAK"),
        "a pair saw its own memory entry: {hyps}"
    );
    // Numbers and the glossary's renderings survive into English.
    assert!(lines[1].contains("5.66%"), "{}", lines[1]);
    assert!(lines[0].contains("United Nations"), "{}", lines[0]);
    assert!(
        lines[2].contains("Ministry of Public Security"),
        "{}",
        lines[2]
    );
    // The scores are the corpus scores of the saved hypotheses.
    let refs = write(
        dir.path(),
        "refs.txt",
        &PAIRS
            .lines()
            .filter_map(|l| l.split_once('\t').map(|x| x.1))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let bleu = common::dich(false)
        .args(["eval", "bleu", "--format", "json", "--hyp"])
        .arg(&hyp)
        .arg("--ref")
        .arg(&refs)
        .output()
        .unwrap();
    assert!(bleu.status.success());
    let b: Value = serde_json::from_slice(&bleu.stdout).unwrap();
    assert_eq!(b["score"], metrics[0]["score"]);
    let chrf = metrics[1]["score"].as_f64().unwrap();
    assert!(chrf > 30.0, "chrF {chrf}: {hyps}");
    // Worst sentences: ascending sentence chrF, with line numbers.
    let worst = v["worst"].as_array().unwrap();
    assert_eq!(worst.len(), 3);
    let c: Vec<f64> = worst.iter().map(|w| w["chrf"].as_f64().unwrap()).collect();
    assert!(c.windows(2).all(|w| w[0] <= w[1]), "{c:?}");
    assert!(worst.iter().all(|w| w["line"] != 2));
    assert!(v["timing"]["generated_tokens"].as_u64().unwrap() > 0);
    assert_eq!(v["settings"]["examples_per_sentence"], 4);
}

#[test]
fn scores_given_hypotheses_and_compares_two_systems() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = write(
        dir.path(),
        "pairs.tsv",
        "Xin chào.\tHello there.\nCảm ơn bạn rất nhiều.\tThank you very much.\nTạm biệt nhé.\tGoodbye now.\n",
    );
    let good = write(
        dir.path(),
        "a.txt",
        "Hello there.\nThank you very much.\nGoodbye now.\n",
    );
    let bad = write(dir.path(), "b.txt", "Hi.\nThanks a lot.\nBye.\n");
    let out = common::dich(false)
        .args([
            "eval",
            "translate",
            "--format",
            "json",
            "--bootstrap",
            "200",
        ])
        .arg(&pairs)
        .arg("--hyp")
        .arg(&good)
        .arg("--compare")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((v["metrics"][0]["score"].as_f64().unwrap() - 100.0).abs() < 1e-9);
    let cmp = v["compare"].as_array().unwrap();
    assert_eq!(cmp.len(), 2);
    assert!(cmp[0]["result"]["p_value"].as_f64().unwrap() < 0.05);
    assert_eq!(v["changed"], 3);

    // Against itself: nothing changed, and the text report says what the
    // p-values are then worth.
    let out = common::dich(false)
        .args(["eval", "translate", "--bootstrap", "20"])
        .arg(&pairs)
        .arg("--hyp")
        .arg(&good)
        .arg("--compare")
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("the two systems are identical"), "{text}");

    // --hyp with the wrong number of lines: named, counted, non-zero exit.
    let short = write(dir.path(), "short.txt", "Hello there.\n");
    let out = common::dich(false)
        .args(["eval", "translate"])
        .arg(&pairs)
        .arg("--hyp")
        .arg(&short)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("short.txt has 1 lines") && err.contains("3 usable pairs"),
        "{err}"
    );

    // No usable line at all.
    let none = write(dir.path(), "none.tsv", "no tab here\nnor here\n");
    let out = common::dich(false)
        .args(["eval", "translate"])
        .arg(&none)
        .arg("--hyp")
        .arg(&good)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("none.tsv:1: skipped") && err.contains("no usable"),
        "{err}"
    );
}
