//! The real binary on the real seed article with the real default model: the
//! main job, as a user runs it.

mod common;

use assert_cmd::Command;
use serde_json::Value;

fn dich() -> Command {
    let mut c = Command::cargo_bin("dich").unwrap();
    c.env_remove("DICH_LOG");
    c
}

/// Vietnamese-only letters: a sign that a target was left untranslated.
fn vietnamese_words(text: &str) -> usize {
    const VI: &str = "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ";
    text.split_whitespace()
        .filter(|w| w.to_lowercase().chars().any(|c| VI.contains(c)))
        .count()
}

#[test]
fn seed_article_translates_completely_with_valid_spans() {
    // Fetch (if needed) and verify the default model through the library
    // first, so the binary below runs against a ready cache.
    common::default_model();
    let seed_path = common::repo_path("seeds/vi-vtc-hanoi-convention-signing.txt");
    let input = std::fs::read_to_string(&seed_path).unwrap();

    let out = dich()
        .args(["translate", "--format", "json", "--threads", "2"])
        .arg(&seed_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");

    assert_eq!(doc["source_lang"], "vi");
    assert_eq!(doc["target_lang"], "en");
    assert_eq!(doc["model"]["name"], "qwen2.5-coder-1.5b-instruct-q4_k_m");
    assert_eq!(
        doc["model"]["sha256"],
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    );
    let segments = doc["segments"].as_array().unwrap();
    assert!(segments.len() >= 30, "only {} segments", segments.len());

    // Spans: exact, ordered, and covering every non-whitespace byte.
    let mut covered = vec![false; input.len()];
    let mut last_end = 0;
    for (i, s) in segments.iter().enumerate() {
        assert_eq!(s["id"], i);
        let start = s["source_span"][0].as_u64().unwrap() as usize;
        let end = s["source_span"][1].as_u64().unwrap() as usize;
        assert!(start >= last_end && start < end && end <= input.len());
        assert_eq!(
            &input[start..end],
            s["source"].as_str().unwrap(),
            "segment {i}"
        );
        covered[start..end].iter_mut().for_each(|c| *c = true);
        last_end = end;
    }
    for (i, ch) in input.char_indices() {
        if !ch.is_whitespace() && ch != '\u{feff}' {
            assert!(covered[i], "byte {i} ({ch:?}) is in no segment");
        }
    }

    // Every segment has one English target; nothing is left in Vietnamese.
    let mut untranslated = Vec::new();
    for s in segments {
        let source = s["source"].as_str().unwrap();
        let target = s["target"].as_str().unwrap();
        assert!(!target.trim().is_empty(), "empty target for {source:?}");
        assert!(!target.contains('\n'), "multi-line target {target:?}");
        if s["kind"] == "byline" {
            assert_eq!(target, source, "bylines are kept as they are");
        } else if vietnamese_words(target) * 2 > target.split_whitespace().count() {
            untranslated.push(target.to_string());
        }
    }
    assert!(
        untranslated.is_empty(),
        "untranslated targets: {untranslated:?}"
    );
    assert_eq!(segments[0]["source"], "(VTC News) -");
    assert_eq!(segments[0]["kind"], "byline");

    // Facts that must survive translation: names and numbers.
    let english: String = segments
        .iter()
        .map(|s| s["target"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    for must in [
        "Iain Frew",
        "Thistlethwaite",
        "Johan Ndisi",
        "70",
        "SEA-PAC",
        "Hanoi",
        "Australia",
    ] {
        assert!(english.contains(must), "{must:?} missing from: {english}");
    }

    let stats = &doc["stats"];
    assert!(stats["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(stats["generated_tokens"].as_u64().unwrap() > 0);
    assert!(stats["load_s"].as_f64().unwrap() > 0.0);
    assert!(stats["wall_s"].as_f64().unwrap() >= stats["load_s"].as_f64().unwrap());
}

#[test]
fn text_and_markdown_outputs_and_english_to_vietnamese() {
    common::default_model();
    let dir = tempfile::tempdir().unwrap();
    // Two paragraphs of the English seed (the same tool works en -> vi).
    let en: Vec<&str> = common::SEED_EN
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(2)
        .collect();
    let en_path = dir.path().join("en.txt");
    std::fs::write(&en_path, en.join("\n\n")).unwrap();

    let out_path = dir.path().join("out.md");
    let out = dich()
        .args([
            "translate",
            "--from",
            "en",
            "--to",
            "vi",
            "--format",
            "markdown",
            "-o",
        ])
        .arg(&out_path)
        .arg(&en_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "-o writes the file, not stdout");
    let md = std::fs::read_to_string(&out_path).unwrap();
    let rows: Vec<&str> = md.lines().collect();
    assert_eq!(rows[0], "| English | Vietnamese |");
    assert_eq!(
        rows.len(),
        2 + 2,
        "header, rule, one row per paragraph: {md}"
    );
    assert!(rows[2].starts_with("| Cyberspace, once considered"), "{md}");
    assert!(vietnamese_words(&md) > 20, "no Vietnamese in: {md}");

    // Plain text from stdin: the translated article, paragraphs kept.
    let vi = "Tiềm năng to lớn\n\nSự kiện do Việt Nam đăng cai tổ chức tại Hà Nội.\n";
    let out = dich()
        .args(["translate", "-"])
        .write_stdin(vi)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let paragraphs: Vec<&str> = text.trim_end().split("\n\n").collect();
    assert_eq!(paragraphs.len(), 2, "{text:?}");
    assert_eq!(
        vietnamese_words(paragraphs[0]),
        0,
        "heading left in Vietnamese: {text}"
    );
    assert!(paragraphs[1].contains("Vietnam"), "{text}");
}
