//! `dich summarize --format html` opened in a real browser: headless Chromium
//! (installed through `scripts/install-chromium.sh` when missing; set
//! `DICH_CHROMIUM` to use another binary) loads the page the binary wrote for
//! the two seed translations, with `#s0` in the URL pinning summary sentence
//! 0. The dumped DOM must mark exactly that sentence's supporting rows, and
//! the screenshot must show the highlight colour (and not without the hash).
//! The screenshots are copied to `target/html-screenshot-s0.png` and
//! `target/html-screenshot.png` for a person to look at.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use dich::render::html::{ACTIVE_RGB, HIGHLIGHT_RGB};
use serde_json::Value;

const VI_DOC: &str = "tests/fixtures/translation_vi_seed.json";
const EN_DOC: &str = "tests/fixtures/translation_en_seed.json";
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(180);

/// The page for the two seed translations and, per summary sentence, the
/// row ids that support it according to the JSON output of the same run.
struct Page {
    html: String,
    supports: Vec<Vec<String>>,
    support0: Vec<String>,
}

fn summarize(format: &str, out: &Path) {
    common::default_embedder_paths();
    let dir = env!("CARGO_MANIFEST_DIR");
    let output = Command::cargo_bin("dich")
        .unwrap()
        .env_remove("DICH_LOG")
        .current_dir(dir)
        .args([
            "summarize",
            VI_DOC,
            EN_DOC,
            "--sentences",
            "6",
            "--format",
            format,
            "-o",
        ])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "dich summarize --format {format} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn page() -> &'static Page {
    static PAGE: OnceLock<Page> = OnceLock::new();
    PAGE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let (html_path, json_path) = (tmp.path().join("joint.html"), tmp.path().join("joint.json"));
        summarize("html", &html_path);
        summarize("json", &json_path);
        let html = std::fs::read_to_string(&html_path).unwrap();
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        let sentences = json["summary"]["sentences"].as_array().unwrap();
        assert_eq!(sentences.len(), 6, "--sentences 6");
        let supports: Vec<Vec<String>> = sentences
            .iter()
            .map(|s| {
                s["support"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| format!("d{}-s{}", x["doc"], x["segment"]))
                    .collect()
            })
            .collect();
        let support0 = supports[0].clone();
        assert!(!support0.is_empty(), "summary sentence 0 has no support");
        Page {
            html,
            supports,
            support0,
        }
    })
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `$DICH_CHROMIUM`, or `chromium` on PATH, installed by the script when
/// missing (the test never skips).
fn chromium() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("DICH_CHROMIUM") {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "DICH_CHROMIUM={} is not a file", p.display());
            return p;
        }
        if let Some(p) = on_path("chromium") {
            return p;
        }
        let script = common::repo_path("scripts/install-chromium.sh");
        eprintln!("chromium not found; running {}", script.display());
        let out = std::process::Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{} failed ({}); the browser test needs Chromium:\n{log}",
            script.display(),
            out.status
        );
        on_path("chromium")
            .or_else(|| Some(PathBuf::from("/usr/bin/chromium")).filter(|p| p.is_file()))
            .unwrap_or_else(|| panic!("chromium still not found after the install script:\n{log}"))
    })
}

/// Runs headless Chromium with `args` and a fresh profile; returns stdout.
fn run_chromium(args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    // Read both pipes on threads so a chatty browser cannot block.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut b).ok();
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut b).ok();
        b
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > CHROMIUM_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    match status {
        Some(s) if s.success() => stdout,
        Some(s) => panic!("{cmd:?} failed ({s}); stderr:\n{stderr}"),
        None => panic!("{cmd:?} ran past {CHROMIUM_TIMEOUT:?}; stderr:\n{stderr}"),
    }
}

fn file_url(path: &Path, hash: &str) -> String {
    let p = path.canonicalize().unwrap();
    let p = p.to_str().unwrap();
    assert!(
        p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b)),
        "path needs URL encoding: {p}"
    );
    format!("file://{p}{hash}")
}

/// An opening tag of the dumped DOM.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
    /// Byte offset of the `<`.
    pos: usize,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn classes(&self) -> HashSet<&str> {
        self.attr("class")
            .map(|c| c.split_whitespace().collect())
            .unwrap_or_default()
    }
}

/// The opening tags of serialized HTML before its first `<script` (text
/// nodes are serialized with `<` escaped, so every `<` there opens markup).
fn tags(dom: &str) -> Vec<Tag> {
    let body = &dom[..dom.find("<script").unwrap_or(dom.len())];
    let b = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = body[i..].find('<') {
        let pos = i + off;
        i = pos + 1;
        if !b.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        // The tag runs to the first `>` outside quotes.
        let mut j = i;
        let mut quote = None;
        while j < b.len() {
            match (quote, b[j]) {
                (None, b'>') => break,
                (None, q @ (b'"' | b'\'')) => quote = Some(q),
                (Some(q), c) if c == q => quote = None,
                _ => {}
            }
            j += 1;
        }
        let inner = &body[i..j];
        i = j;
        let name_end = inner
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(inner.len());
        let name = inner[..name_end].to_ascii_lowercase();
        let mut attrs = Vec::new();
        let mut rest = inner[name_end..].trim_start_matches(['/', ' ']);
        while !rest.is_empty() {
            let key_end = rest
                .find(|c: char| c == '=' || c.is_whitespace())
                .unwrap_or(rest.len());
            let key = rest[..key_end].to_string();
            rest = rest[key_end..].trim_start();
            let mut value = String::new();
            if let Some(r) = rest.strip_prefix('=') {
                let r = r.trim_start();
                if let Some(q) = r.chars().next().filter(|c| *c == '"' || *c == '\'') {
                    let end = r[1..].find(q).map(|e| e + 1).unwrap_or(r.len());
                    value = r[1..end].to_string();
                    rest = r.get(end + 1..).unwrap_or("");
                } else {
                    let end = r.find(char::is_whitespace).unwrap_or(r.len());
                    value = r[..end].to_string();
                    rest = &r[end..];
                }
            }
            if !key.is_empty() {
                attrs.push((key, value));
            }
            rest = rest.trim_start_matches(['/', ' ', '\n', '\t']);
        }
        out.push(Tag { name, attrs, pos });
    }
    out
}

fn by_id<'a>(tags: &'a [Tag], id: &str) -> &'a Tag {
    tags.iter()
        .find(|t| t.attr("id") == Some(id))
        .unwrap_or_else(|| panic!("no element with id {id}"))
}

fn write_page(dir: &Path) -> PathBuf {
    let path = dir.join("joint.html");
    std::fs::write(&path, &page().html).unwrap();
    path
}

#[test]
fn hash_pins_sentence_and_highlights_exactly_its_support() {
    let page = page();
    // The page's own record of the support agrees with the JSON output.
    let static_tags = tags(&page.html);
    let s0 = by_id(&static_tags, "sent-0");
    let attr: Vec<&str> = s0
        .attr("data-support")
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(attr, page.support0, "data-support of s0 vs JSON");

    let tmp = tempfile::tempdir().unwrap();
    let path = write_page(tmp.path());

    let dom = run_chromium(&["--dump-dom".into(), file_url(&path, "#s0")]);
    assert!(dom.contains("dich summary"), "not the page:\n{dom}");
    let t = tags(&dom);
    let want: BTreeSet<&str> = page.support0.iter().map(String::as_str).collect();
    let hl_rows: BTreeSet<&str> = t
        .iter()
        .filter(|x| x.name == "tr" && x.classes().contains("hl"))
        .map(|x| x.attr("id").unwrap_or("?"))
        .collect();
    assert_eq!(hl_rows, want, "rows with class hl under #s0");
    for id in &want {
        let row = by_id(&t, id);
        let end = row.pos + dom[row.pos..].find("</tr>").unwrap();
        let cells: Vec<&Tag> = t
            .iter()
            .filter(|c| c.name == "td" && c.pos > row.pos && c.pos < end)
            .collect();
        for side in ["src", "tgt"] {
            let cell = cells
                .iter()
                .find(|c| c.classes().contains(side))
                .unwrap_or_else(|| panic!("{id}: no {side} cell"));
            assert!(cell.classes().contains("hl"), "{id} {side}: {cell:?}");
        }
    }
    // Highlighted cells are exactly those of the supporting rows.
    let hl_cells = t
        .iter()
        .filter(|c| c.name == "td" && c.classes().contains("hl"))
        .count();
    assert_eq!(hl_cells, 2 * want.len());
    let active: Vec<&str> = t
        .iter()
        .filter(|x| x.classes().contains("active"))
        .map(|x| x.attr("id").unwrap_or("?"))
        .collect();
    assert_eq!(active, ["sent-0"], "class active under #s0");

    let dom = run_chromium(&["--dump-dom".into(), file_url(&path, "")]);
    assert!(dom.contains("dich summary"), "not the page:\n{dom}");
    let t = tags(&dom);
    let marked: Vec<String> = t
        .iter()
        .filter(|x| x.classes().contains("hl") || x.classes().contains("active"))
        .map(|x| format!("{x:?}"))
        .collect();
    assert!(
        marked.is_empty(),
        "without a hash nothing is marked: {marked:?}"
    );
    eprintln!("#s0 highlights {} row(s): {:?}", want.len(), page.support0);
}

/// Drives the page's own handlers from a probe script appended to it: hover,
/// leave, click to pin, hover another while pinned, click again to unpin,
/// click a segment. Each step's marked elements land in `data-probe-*`
/// attributes of `<body>`, read back from the dumped DOM.
const PROBE: &str = r#"<script>
(function () {
  function ids(sel) {
    return Array.prototype.map.call(document.querySelectorAll(sel), function (e) { return e.id; }).join(" ");
  }
  function note(k, v) { document.body.setAttribute("data-probe-" + k, v); }
  var a = document.getElementById("sent-1"), b = document.getElementById("sent-2");
  a.dispatchEvent(new MouseEvent("mouseenter"));
  note("hover", ids("tr.hl"));
  note("hover-cells", String(document.querySelectorAll("td.src.hl, td.tgt.hl").length));
  a.dispatchEvent(new MouseEvent("mouseleave"));
  note("left", ids(".hl, .active"));
  b.click();
  note("pinned", ids("tr.hl"));
  note("active", ids(".active"));
  a.dispatchEvent(new MouseEvent("mouseenter"));
  note("pinned-hover", ids("tr.hl"));
  a.dispatchEvent(new MouseEvent("mouseleave"));
  note("pinned-left", ids("tr.hl"));
  b.click();
  note("unpinned", ids(".hl, .active"));
  document.getElementById(ROW).querySelector("td.src").click();
  note("row", ids("li.sent.hl"));
  note("done", "1");
})();
</script>
"#;

#[test]
fn hover_pin_and_segment_click_mark_the_right_elements() {
    let page = page();
    let n = page.supports.len();
    // A row that supports the most sentences (a shared fact, if any).
    let row = page
        .supports
        .iter()
        .flatten()
        .max_by_key(|r| page.supports.iter().filter(|s| s.contains(r)).count())
        .unwrap()
        .clone();
    let probe = PROBE.replace("ROW", &format!("{row:?}"));
    let html = page.html.replace("</body>", &format!("{probe}</body>"));
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("probe.html");
    std::fs::write(&path, html).unwrap();
    let dom = run_chromium(&["--dump-dom".into(), file_url(&path, "")]);
    let t = tags(&dom);
    let body = t
        .iter()
        .find(|x| x.name == "body")
        .expect("no <body> in the dumped DOM");
    let got = |k: &str| -> BTreeSet<String> {
        body.attr(&format!("data-probe-{k}"))
            .unwrap_or_else(|| panic!("probe step {k} missing (script error?): {body:?}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    let set = |v: &[String]| -> BTreeSet<String> { v.iter().cloned().collect() };
    assert_eq!(got("done"), set(&["1".into()]));
    assert_eq!(got("hover"), set(&page.supports[1]), "hover sentence 1");
    assert_eq!(
        got("hover-cells"),
        set(&[(2 * page.supports[1].len()).to_string()]),
        "both cells of each row"
    );
    assert!(
        got("left").is_empty(),
        "after mouseleave: {:?}",
        got("left")
    );
    assert_eq!(got("pinned"), set(&page.supports[2]), "click sentence 2");
    assert_eq!(got("active"), set(&["sent-2".into()]));
    assert_eq!(
        got("pinned-hover"),
        set(&page.supports[1]),
        "hover 1 while 2 pinned"
    );
    assert_eq!(
        got("pinned-left"),
        set(&page.supports[2]),
        "back to the pinned one"
    );
    assert!(
        got("unpinned").is_empty(),
        "second click unpins: {:?}",
        got("unpinned")
    );
    let want_sents: BTreeSet<String> = (0..n)
        .filter(|&i| page.supports[i].contains(&row))
        .map(|i| format!("sent-{i}"))
        .collect();
    assert_eq!(got("row"), want_sents, "click row {row}");
    eprintln!("row {row} supports {want_sents:?}");
}

struct Image {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

fn decode_png(path: &Path) -> Image {
    let mut decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let buf = &buf[..info.buffer_size()];
    let (w, h) = (info.width as usize, info.height as usize);
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect(),
        png::ColorType::Rgba => buf.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect(),
        png::ColorType::Grayscale => buf.iter().map(|&g| [g, g, g]).collect(),
        png::ColorType::GrayscaleAlpha => buf.chunks_exact(2).map(|p| [p[0], p[0], p[0]]).collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    Image {
        width: w,
        height: h,
        rgb,
    }
}

fn near(p: [u8; 3], want: [u8; 3]) -> bool {
    p.iter().zip(want).all(|(&a, b)| a.abs_diff(b) <= 3)
}

fn count(img: &Image, want: [u8; 3]) -> usize {
    img.rgb.iter().filter(|&&p| near(p, want)).count()
}

fn assert_not_blank(img: &Image, what: &str) {
    let total = img.width * img.height;
    assert_eq!(img.rgb.len(), total, "{what}: pixel count");
    let distinct: HashSet<[u8; 3]> = img.rgb.iter().copied().collect();
    let ink = img
        .rgb
        .iter()
        .filter(|p| p.iter().any(|&c| c < 200))
        .count();
    assert!(
        distinct.len() > 50,
        "{what}: only {} colours",
        distinct.len()
    );
    assert!(
        ink > total / 100,
        "{what}: only {ink} dark pixels of {total}"
    );
}

#[test]
fn screenshot_shows_highlight_only_when_pinned() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_page(tmp.path());
    let shot = |name: &str, hash: &str| {
        let png = tmp.path().join(name);
        run_chromium(&[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,1600".into(),
            file_url(&path, hash),
        ]);
        assert!(png.is_file(), "chromium wrote no {name}");
        png
    };
    let pinned_png = shot("s0.png", "#s0");
    let plain_png = shot("plain.png", "");
    let target = common::repo_path("target");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::copy(&pinned_png, target.join("html-screenshot-s0.png")).unwrap();
    std::fs::copy(&plain_png, target.join("html-screenshot.png")).unwrap();

    let pinned = decode_png(&pinned_png);
    let plain = decode_png(&plain_png);
    assert_eq!((pinned.width, pinned.height), (1280, 1600));
    assert_not_blank(&pinned, "#s0 screenshot");
    assert_not_blank(&plain, "plain screenshot");

    let (hl, active) = (count(&pinned, HIGHLIGHT_RGB), count(&pinned, ACTIVE_RGB));
    let (hl_plain, active_plain) = (count(&plain, HIGHLIGHT_RGB), count(&plain, ACTIVE_RGB));
    eprintln!(
        "highlight pixels: #s0 {hl}, plain {hl_plain}; active pixels: #s0 {active}, plain {active_plain}; \
         screenshot at {}",
        target.join("html-screenshot-s0.png").display()
    );
    // A highlighted row: two cells of at least a line each.
    assert!(hl > 20_000, "#s0: only {hl} highlight pixels");
    assert!(hl_plain < 100, "plain: {hl_plain} highlight pixels");
    // The pinned sentence stays in view above its first support.
    assert!(active > 10_000, "#s0: only {active} active pixels");
    assert!(active_plain < 100, "plain: {active_plain} active pixels");
}
