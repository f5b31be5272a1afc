//! The evaluation-set builders, run on small fixture trees (no network):
//! - `scripts/build-evalset-lo.py` on two fake LibreOffice help pages per
//!   language in the packages' real layout and markup
//!   (`tests/fixtures/evalsets/lo/usr/share/libreoffice/help/{vi,en-US}`),
//!   and on two .deb files built here from that tree;
//! - `scripts/build-vlsp.py` on a small file in the underthesea wheel's VLSP
//!   2013 tagger-output format (`tests/fixtures/evalsets/vlsp/...`).
//!
//! Every expected pair, sentence and count is spelled out here, and the
//! dev/test split is recomputed from its rule (sha256 of the English), so a
//! change in any filter, in the text cleaning or in the split shows up.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use unicode_normalization::{is_nfc, UnicodeNormalization};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lo_fixture() -> PathBuf {
    repo().join("tests/fixtures/evalsets/lo")
}

fn vlsp_fixture() -> PathBuf {
    repo().join("tests/fixtures/evalsets/vlsp")
}

const VLSP_MEMBER: &str =
    "underthesea/pipeline/pos_tag/models/pos_crf_vlsp2013_20230303/test_output.txt";

/// Runs `python3 scripts/<script> ARGS --out OUT`; panics with its stderr
/// when it fails.
fn run_script(script: &str, args: &[&str], out: &Path) {
    let output = Command::new("python3")
        .arg(repo().join("scripts").join(script))
        .args(args)
        .arg("--out")
        .arg(out)
        .env("DICH_HOME", out.join("dich-home"))
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 {script}: {e}"));
    assert!(
        output.status.success(),
        "{script} {args:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn manifest(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `(vietnamese, english)` lines of a `source<TAB>reference` file.
fn pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| {
            let (vi, en) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("no tab: {l:?}"));
            assert!(!en.contains('\t'), "two tabs: {l:?}");
            (vi.to_string(), en.to_string())
        })
        .collect()
}

/// The seven pairs that survive every filter of the fixture pages.
const LO_KEPT: [(&str, &str); 7] = [
    // switchinline resolved to its default branch
    (
        "Để mở hộp thoại này, chọn Công cụ - Tùy chọn - Thiết lập ngôn ngữ - Trợ giúp viết trên thanh trình đơn của tài liệu bất kỳ.",
        "To open this dialog, choose Tools - Options - Language Settings - Writing Aids in the menu bar of any document.",
    ),
    // decomposed (NFD) in the Vietnamese page, NFC here
    (
        "Thay đổi phông chữ và định dạng phông cho các ký tự đã chọn trong tài liệu.",
        "Changes the font and the font formatting for the selected characters in the document.",
    ),
    // the icon image dropped
    (
        "Nhấn vào biểu tượng Đậm trên thanh Định dạng để in đậm văn bản đã chọn.",
        "Click the Bold icon on the Formatting bar to make the selected text bold.",
    ),
    // entities decoded, a newline and indent collapsed, a spaced `>` kept
    (
        "Chọn Công cụ > Tùy chọn Tự động sửa, nhấn thẻ « Thay thế » và nhập từ bạn muốn thay thế.",
        "Choose Tools - AutoCorrect Options, click the \"Replace\" tab and enter the word you want to replace.",
    ),
    (
        "Có nhiều cách nhấn mạnh văn bản trong tài liệu, chẳng hạn như in đậm, in nghiêng hoặc dùng một màu khác.",
        "There are several ways of emphasizing text in a document, such as bold, italic or a different color.",
    ),
    // one id twice in a page: aligned by occurrence
    (
        "Chọn văn bản bạn muốn nhấn mạnh rồi nhấn vào một trong các biểu tượng trên thanh công cụ.",
        "Select the text that you want to emphasize and then click one of the icons on the toolbar.",
    ),
    (
        "Để đổi màu của văn bản đã chọn, hãy mở danh sách Màu phông trên thanh công cụ Định dạng.",
        "To change the color of the selected text, open the Font Color list on the Formatting toolbar.",
    ),
];

/// The English of the pairs that the hash sends to dev.
const LO_DEV: [&str; 3] = [
    "Changes the font and the font formatting for the selected characters in the document.",
    "Click the Bold icon on the Formatting bar to make the selected text bold.",
    "There are several ways of emphasizing text in a document, such as bold, italic or a different color.",
];

/// The split rule, recomputed: even last hex digit of sha256(English) ->
/// dev; within a split, ordered by sha256("order:" + English).
fn expected_split(kept: &[(&str, &str)], dev: bool) -> String {
    let mut rows: Vec<(String, &str, &str)> = kept
        .iter()
        .filter(|(_, en)| {
            let h = sha256_hex(en.as_bytes());
            let last = u8::from_str_radix(&h[h.len() - 1..], 16).unwrap();
            last.is_multiple_of(2) == dev
        })
        .map(|&(vi, en)| (sha256_hex(format!("order:{en}").as_bytes()), vi, en))
        .collect();
    rows.sort();
    rows.iter()
        .map(|(_, vi, en)| format!("{vi}\t{en}\n"))
        .collect()
}

#[test]
fn lo_keeps_exactly_the_clean_translated_pairs() {
    // The fixture really holds decomposed Vietnamese.
    let raw_vi =
        read(&lo_fixture().join("usr/share/libreoffice/help/vi/text/shared/01/05020000.html"));
    assert!(!is_nfc(&raw_vi), "the fixture lost its non-NFC paragraph");
    assert!(raw_vi.contains(&LO_KEPT[1].0.nfd().collect::<String>()));

    let out = tempfile::tempdir().unwrap();
    let fixture = lo_fixture();
    run_script(
        "build-evalset-lo.py",
        &["--from", fixture.to_str().unwrap()],
        out.path(),
    );

    let dev = read(&out.path().join("lo-all-dev.tsv"));
    let test = read(&out.path().join("lo-all-test.tsv"));
    for (vi, en) in LO_KEPT {
        assert!(is_nfc(vi) && is_nfc(en), "test literal not NFC: {vi}");
    }
    assert_eq!(dev, expected_split(&LO_KEPT, true), "lo-all-dev.tsv");
    assert_eq!(test, expected_split(&LO_KEPT, false), "lo-all-test.tsv");
    let dev_en: BTreeSet<String> = pairs(&dev).into_iter().map(|p| p.1).collect();
    assert_eq!(dev_en, LO_DEV.iter().map(|s| s.to_string()).collect());
    // Fewer than --per-split (300): the small files are the whole splits.
    assert_eq!(read(&out.path().join("lo-dev.tsv")), dev);
    assert_eq!(read(&out.path().join("lo-test.tsv")), test);
    for line in dev.lines().chain(test.lines()) {
        assert!(is_nfc(line), "not NFC: {line}");
        assert!(!line.contains('\r') && line.matches('\t').count() == 1);
    }

    let m = manifest(&out.path().join("lo-manifest.json"));
    assert_eq!(
        m["counts"],
        json!({
            "pages_vi": 2, "pages_en": 2,
            "paragraphs_vi": 20, "paragraphs_en": 21, "aligned": 20,
            "vi_not_nfc": 2,
            "dropped": {
                "structured": 3, "empty": 1, "untranslated": 1,
                "partly_untranslated": 1, "leftover": 1, "words": 3, "ratio": 1,
                "duplicate_en": 1, "duplicate_vi": 1
            },
            "after": {
                "plain": 16, "translated": 14, "clean": 13, "words": 10,
                "ratio": 9, "unique": 7
            }
        })
    );
    assert_eq!(m["pool"], 7);
    for (key, file) in [
        ("all", "lo-all-dev.tsv"),
        ("all", "lo-all-test.tsv"),
        ("splits", "lo-dev.tsv"),
        ("splits", "lo-test.tsv"),
    ] {
        let split = if file.ends_with("dev.tsv") {
            "dev"
        } else {
            "test"
        };
        let entry = &m[key][split];
        let text = read(&out.path().join(file));
        assert_eq!(
            entry["sha256"],
            sha256_hex(text.as_bytes()),
            "{file} sha256"
        );
        assert_eq!(entry["pairs"], text.lines().count(), "{file} pairs");
    }
}

#[test]
fn lo_split_is_stable_disjoint_and_a_prefix() {
    let fixture = lo_fixture();
    let from = fixture.to_str().unwrap();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let small = tempfile::tempdir().unwrap();
    run_script("build-evalset-lo.py", &["--from", from], a.path());
    run_script("build-evalset-lo.py", &["--from", from], b.path());
    run_script(
        "build-evalset-lo.py",
        &["--from", from, "--per-split", "2"],
        small.path(),
    );
    for file in [
        "lo-all-dev.tsv",
        "lo-all-test.tsv",
        "lo-dev.tsv",
        "lo-test.tsv",
    ] {
        assert_eq!(
            read(&a.path().join(file)),
            read(&b.path().join(file)),
            "{file} differs between two runs"
        );
    }
    let dev = pairs(&read(&a.path().join("lo-all-dev.tsv")));
    let test = pairs(&read(&a.path().join("lo-all-test.tsv")));
    let (dev_vi, dev_en): (BTreeSet<_>, BTreeSet<_>) = dev.iter().cloned().unzip();
    let (test_vi, test_en): (BTreeSet<_>, BTreeSet<_>) = test.iter().cloned().unzip();
    assert!(dev_en.is_disjoint(&test_en) && dev_vi.is_disjoint(&test_vi));
    assert_eq!(dev.len() + test.len(), LO_KEPT.len());
    // --per-split N takes the first N of the split's hash order.
    for split in ["dev", "test"] {
        let all = read(&a.path().join(format!("lo-all-{split}.tsv")));
        let first2: String = all.lines().take(2).map(|l| format!("{l}\n")).collect();
        assert_eq!(read(&small.path().join(format!("lo-{split}.tsv"))), first2);
        assert_eq!(read(&small.path().join(format!("lo-all-{split}.tsv"))), all);
    }
    let m = manifest(&small.path().join("lo-manifest.json"));
    assert_eq!(m["splits"]["dev"]["pairs"], 2);
    assert_eq!(m["all"]["test"]["pairs"], 4);
}

#[test]
fn lo_word_bounds_are_options() {
    let out = tempfile::tempdir().unwrap();
    let fixture = lo_fixture();
    run_script(
        "build-evalset-lo.py",
        &[
            "--from",
            fixture.to_str().unwrap(),
            "--min-words",
            "1",
            "--max-words",
            "100",
        ],
        out.path(),
    );
    let mut got: Vec<(String, String)> = pairs(&read(&out.path().join("lo-all-dev.tsv")));
    got.extend(pairs(&read(&out.path().join("lo-all-test.tsv"))));
    let got_en: BTreeSet<&str> = got.iter().map(|p| p.1.as_str()).collect();
    let mut want: BTreeSet<&str> = LO_KEPT.iter().map(|p| p.1).collect();
    // the two headings and the 74-word paragraph come back
    want.insert("Character");
    want.insert("Emphasizing Text");
    let long = got_en
        .iter()
        .find(|en| en.starts_with("The settings that you make on this tab page"))
        .expect("the long paragraph with --max-words 100");
    assert_eq!(long.split_whitespace().count(), 74);
    want.insert(long);
    assert_eq!(got_en, want);
    assert!(got.contains(&("Ký tự".to_string(), "Character".to_string())));
    let m = manifest(&out.path().join("lo-manifest.json"));
    assert_eq!(m["counts"]["dropped"]["words"], 0);
    assert_eq!(
        (m["min_words"].clone(), m["max_words"].clone()),
        (json!(1), json!(100))
    );
}

// ------------------------------------------------------------ .deb input

/// A ustar entry (a folder when `data` is None).
fn tar_entry(out: &mut Vec<u8>, name: &str, data: Option<&[u8]>) {
    let mut h = [0u8; 512];
    assert!(name.len() < 100, "{name}");
    h[..name.len()].copy_from_slice(name.as_bytes());
    let size = data.map_or(0, |d| d.len());
    let field = |h: &mut [u8; 512], at: usize, width: usize, v: u64| {
        let s = format!("{v:0w$o}\0", w = width - 1);
        h[at..at + width].copy_from_slice(s.as_bytes());
    };
    field(&mut h, 100, 8, if data.is_some() { 0o644 } else { 0o755 });
    field(&mut h, 108, 8, 0);
    field(&mut h, 116, 8, 0);
    field(&mut h, 124, 12, size as u64);
    field(&mut h, 136, 12, 0);
    h[156] = if data.is_some() { b'0' } else { b'5' };
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    out.extend_from_slice(&h);
    if let Some(d) = data {
        out.extend_from_slice(d);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
}

/// `root` as an uncompressed tar of `./` paths.
fn tar_tree(root: &Path) -> Vec<u8> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<u8>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = format!("{rel}{}", e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                tar_entry(out, &format!("{name}/"), None);
                walk(&e.path(), &format!("{name}/"), out);
            } else {
                tar_entry(out, &name, Some(&std::fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    tar_entry(&mut out, "./", None);
    walk(root, "./", &mut out);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// A binary package: ar of debian-binary, control.tar, data.tar.
fn write_deb(path: &Path, package: &str, version: &str, data_root: &Path) {
    let control = format!(
        "Package: {package}\nVersion: {version}\nArchitecture: all\n\
         Maintainer: dich tests <tests@example.invalid>\nDescription: fixture\n"
    );
    let mut control_tar = Vec::new();
    tar_entry(&mut control_tar, "./", None);
    tar_entry(&mut control_tar, "./control", Some(control.as_bytes()));
    control_tar.extend_from_slice(&[0u8; 1024]);
    let mut ar = b"!<arch>\n".to_vec();
    for (name, body) in [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar", control_tar),
        ("data.tar", tar_tree(data_root)),
    ] {
        ar.extend_from_slice(
            format!(
                "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                0,
                0,
                0,
                100644,
                body.len()
            )
            .as_bytes(),
        );
        ar.extend_from_slice(&body);
        if body.len() % 2 == 1 {
            ar.push(b'\n');
        }
    }
    std::fs::write(path, ar).unwrap();
}

/// Copies `src` into `dst` (files and folders only).
fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

#[test]
fn lo_reads_the_packages_from_debs() {
    let work = tempfile::tempdir().unwrap();
    let debs = work.path().join("debs");
    std::fs::create_dir_all(&debs).unwrap();
    let help = lo_fixture().join("usr/share/libreoffice/help");
    let version = "4:7.4.7-1+fixture1";
    let mut want = Vec::new();
    for (package, lang) in [
        ("libreoffice-help-en-us", "en-US"),
        ("libreoffice-help-vi", "vi"),
    ] {
        let root = work.path().join(package);
        copy_tree(
            &help.join(lang),
            &root.join("usr/share/libreoffice/help").join(lang),
        );
        let file = format!("{package}_{}_all.deb", version.replace(':', "%3a"));
        write_deb(&debs.join(&file), package, version, &root);
        let sha = sha256_hex(&std::fs::read(debs.join(&file)).unwrap());
        want.push(json!({"package": package, "version": version, "deb": file, "sha256": sha}));
    }
    let from_debs = work.path().join("out-debs");
    let from_tree = work.path().join("out-tree");
    run_script(
        "build-evalset-lo.py",
        &["--debs", debs.to_str().unwrap()],
        &from_debs,
    );
    run_script(
        "build-evalset-lo.py",
        &["--from", lo_fixture().to_str().unwrap()],
        &from_tree,
    );
    for file in [
        "lo-all-dev.tsv",
        "lo-all-test.tsv",
        "lo-dev.tsv",
        "lo-test.tsv",
    ] {
        assert_eq!(
            read(&from_debs.join(file)),
            read(&from_tree.join(file)),
            "{file}: .deb and unpacked tree differ"
        );
    }
    let m = manifest(&from_debs.join("lo-manifest.json"));
    assert_eq!(m["packages"], Value::Array(want));
    assert_eq!(m["counts"]["after"]["unique"], 7);
}

// ------------------------------------------------------------ VLSP

/// The fixture's 13 sentences, detokenized, less the four that do not end
/// in `.`, `!` or `?` (`1. Quyền tiếp cận ...`, `... sau:`, `... xã hội…`,
/// `Khó khăn`); the repeated sentence stays, the decomposed one is NFC.
const VLSP_KEPT: [&str; 9] = [
    "Quyền được thông tin là một trong những quyền cơ bản của con người, được ghi nhận trong “Tuyên ngôn thế giới về nhân quyền”.",
    "Luật Phổ biến, giáo dục pháp luật (có hiệu lực từ ngày 1.1.2013) đã được Quốc hội thông qua.",
    "Cuộc họp bắt đầu lúc 8:30, với \"tỉ lệ\" tham dự đạt 95%.",
    "Vì sao người dân chưa quan tâm...?",
    "Còn nhiều khó khăn, hạn chế...",
    "Quyền được thông tin là một trong những quyền cơ bản của con người, được ghi nhận trong “Tuyên ngôn thế giới về nhân quyền”.",
    "Người dân đã hiểu rõ hơn về pháp luật.",
    "Hãy bảo vệ quyền và/hoặc lợi ích hợp pháp của mình!",
    "Theo [3], điều này đã được ghi nhận.",
];

#[test]
fn vlsp_detokenizes_and_keeps_exactly_the_sentences() {
    let member = vlsp_fixture().join(VLSP_MEMBER);
    let raw = read(&member);
    assert!(!is_nfc(&raw), "the fixture lost its decomposed sentence");
    assert!(
        raw.contains("Luật_Phổ_biến\t"),
        "the fixture lost its `_` tokens"
    );

    let out = tempfile::tempdir().unwrap();
    run_script(
        "build-vlsp.py",
        &["--from", vlsp_fixture().to_str().unwrap()],
        out.path(),
    );
    let text = read(&out.path().join("vlsp-news.txt"));
    let want: String = VLSP_KEPT.iter().map(|s| format!("{s}\n")).collect();
    assert!(is_nfc(&want));
    assert_eq!(text, want);

    let m = manifest(&out.path().join("vlsp-manifest.json"));
    assert_eq!(
        m["counts"],
        json!({
            "sentences": 13, "tokens": 140, "non_nfc_tokens": 7,
            "dropped_not_ending_in_.!?": 4,
            "dropped_by_last_char": {":": 1, "word": 2, "…": 1},
            "kept": 9, "kept_unique": 8
        })
    );
    assert_eq!(m["output"]["sha256"], sha256_hex(text.as_bytes()));
    assert_eq!(m["output"]["sentences"], 9);

    // The tagged file itself (not its folder) gives the same bytes.
    let again = tempfile::tempdir().unwrap();
    run_script(
        "build-vlsp.py",
        &["--from", member.to_str().unwrap()],
        again.path(),
    );
    assert_eq!(read(&again.path().join("vlsp-news.txt")), text);
}
