//! Unit tests for segmentation: the hard span invariants, the boundary rules,
//! segment kinds, and the seed articles.

use super::*;
use SegmentKind::{Byline, Caption, Heading, Sentence};

const VI_SEED: &str = include_str!("../../../seeds/vi-vtc-hanoi-convention-signing.txt");
const EN_SEED: &str = include_str!("../../../seeds/en-sggp-global-shield.txt");

/// The hard invariants, checked on every input the tests use.
fn check(input: &str) -> Vec<Segment> {
    let segs = segment(input);
    let mut covered = 0;
    let mut last_paragraph = None;
    for (i, s) in segs.iter().enumerate() {
        assert_eq!(s.id, i, "ids are ordinals");
        assert!(s.start < s.end, "empty segment {s:?}");
        assert!(
            s.start >= covered,
            "segments overlap or are out of order: {s:?}"
        );
        let text = input.get(s.start..s.end).expect("span on char boundaries");
        assert_eq!(s.text(input), text);
        assert!(
            !text.starts_with(is_blank) && !text.ends_with(is_blank),
            "untrimmed {text:?}"
        );
        let gap = &input[covered..s.start];
        assert!(gap.chars().all(is_blank), "dropped {gap:?} before {text:?}");
        match last_paragraph {
            None => assert_eq!(s.paragraph, 0),
            Some(p) => assert!(
                s.paragraph == p || s.paragraph == p + 1,
                "paragraph jump at {s:?}"
            ),
        }
        last_paragraph = Some(s.paragraph);
        covered = s.end;
    }
    let tail = &input[covered..];
    assert!(tail.chars().all(is_blank), "dropped tail {tail:?}");
    segs
}

fn texts(input: &str) -> Vec<&str> {
    check(input).iter().map(|s| s.text(input)).collect()
}

fn kinds(input: &str) -> Vec<(SegmentKind, &str)> {
    check(input)
        .iter()
        .map(|s| (s.kind, s.text(input)))
        .collect()
}

fn layout(input: &str) -> Vec<(usize, SegmentKind, &str)> {
    check(input)
        .iter()
        .map(|s| (s.paragraph, s.kind, s.text(input)))
        .collect()
}

// ---- seeds -------------------------------------------------------

/// Every boundary below was decided by reading the article, not by
/// printing what the segmenter does.
#[test]
fn vi_seed_full_segmentation() {
    let expected: Vec<(usize, SegmentKind, &str)> = vec![
    (0, Byline, "(VTC News) -"),
    (1, Sentence, "Sáng 25/10, Lễ mở ký Công ước Liên hợp quốc về phòng chống tội phạm mạng (Công ước Hà Nội) diễn ra với sự tham gia kí của gần 70 nước, với sự có mặt của hàng trăm đại biểu trong nước và quốc tế."),
    (2, Sentence, "Sự kiện do Việt Nam đăng cai tổ chức tại Trung tâm Hội nghị Quốc gia Hà Nội."),
    (2, Sentence, "Việc ký kết tại Hà Nội được đánh giá là dấu mốc đặc biệt, nhấn mạnh vị thế quốc tế của Việt Nam, thể hiện vai trò chủ động của Việt Nam trong hợp tác đa phương, đồng thời phản ánh sự ghi nhận của cộng đồng quốc tế với quá trình đóng góp của Việt Nam khi xây dựng Công ước."),
    (3, Heading, "Tiềm năng to lớn"),
    (4, Sentence, "Đại sứ Anh Iain Frew nhấn mạnh sự cần thiết của việc cùng nhau hành động, chia sẻ thông tin, hợp tác điều tra và phối hợp giữa các quốc gia thông qua công ước mới về phòng, chống tội phạm mạng."),
    (5, Sentence, "“Điều đặc biệt ý nghĩa tại lễ ký kết hôm nay ở Hà Nội là không chỉ có đại diện chính phủ, mà còn có sự tham gia của khu vực tư nhân, các tổ chức liên quan khác bởi chỉ khi tất cả cùng đồng hành, chúng ta mới có thể đạt được tiến bộ thực sự”, ông nói."),
    (6, Sentence, "Đại sứ Anh Iain Frew đại diện Vương quốc Anh tham gia ký kết."),
    (7, Sentence, "Theo ông Iain Frew, khi không gian mạng và công nghệ số phát triển với tốc độ chóng mặt, đặc biệt là với AI và các công nghệ mới nổi, vấn đề an ninh mạng ngày càng trở nên phức tạp."),
    (7, Sentence, "Ông cho rằng Việt Nam đã thể hiện cam kết mạnh mẽ trong việc định hình và quản lý các công nghệ mới, đảm bảo rằng việc triển khai luôn gắn liền với các nguyên tắc và cam kết của Công ước quốc tế."),
    (8, Sentence, "“Tôi nhận thấy tiềm năng to lớn ở Việt Nam, khi ngành công nghệ và dịch vụ tài chính đang phát triển nhanh chóng."),
    (8, Sentence, "Chúng tôi, phía Anh, đang hợp tác chặt chẽ với Việt Nam trong những lĩnh vực này, đặc biệt là trong việc bảo vệ dữ liệu cá nhân và phòng chống tội phạm tài chính - vốn là một phần quan trọng của tội phạm mạng”."),
    (9, Sentence, "Ông cho biết, hàng năm, Vương quốc Anh tổ chức các chương trình quy tụ doanh nghiệp công nghệ và an ninh mạng, giúp các công ty vừa tự bảo vệ mình, vừa hợp tác với chính phủ."),
    (9, Sentence, "Nhiều doanh nghiệp Anh đến Việt Nam lần này và thấy những cơ hội hợp tác đầy hứa hẹn, đặc biệt trong lĩnh vực công nghệ tài chính."),
    (10, Heading, "Thời khắc bước ngoặt"),
    (11, Sentence, "Trả lời báo chí bên lề sự kiện, đồng Bộ trưởng về Ngoại giao và Thương mại Australia Matt Thistlethwaite bình luận, đây là thời điểm quan trọng để Việt Nam và thế giới cùng chung tay giải quyết thách thức an ninh mạng ngày càng lớn, nhằm bảo đảm cho người dân và cộng đồng được an toàn, bảo mật."),
    (12, Sentence, "Đồng bộ trưởng về Ngoại giao và Thương mại Australia Matt Thistlethwaite đại diện Australia tham gia ký kết Công ước Liên hợp quốc về phòng chống tội phạm mạng."),
    (13, Sentence, "Ông cho biết khi cùng vợ mình du lịch “bụi” đến Việt Nam 20 năm trước, ông đã luôn trân trọng con người Việt Nam thân thiện và vẻ đẹp thiên nhiên, đồng thời thực sự ấn tượng với sự phát triển vượt bậc của Việt Nam trong hai thập kỷ qua - đặc biệt là tại Hà Nội."),
    (14, Sentence, "\"Chính vì vậy, việc Việt Nam được chọn làm nơi tổ chức lễ ký kết quan trọng này là minh chứng rõ ràng cho cam kết mạnh mẽ của các bạn trong việc đối phó với các thách thức an ninh mạng - không chỉ trong khu vực mà còn trên phạm vi toàn cầu - cũng như thể hiện tinh thần hợp tác đa phương của Việt Nam\"."),
    (15, Sentence, "Ông cho rằng đây cũng là một biểu tượng tuyệt vời cho sự phát triển kinh tế và xã hội của Việt Nam."),
    (16, Sentence, "Theo nhà ngoại giao Australia, đây là thời khắc có tính bước ngoặt, khi lần đầu tiên cộng đồng quốc tế có một công ước toàn cầu chuyên biệt nhằm ngăn chặn, điều tra và truy tố các tội phạm liên quan đến an ninh mạng."),
    (16, Sentence, "Công ước cũng quy định rõ cách thức chia sẻ và bảo vệ chứng cứ để bảo đảm tính toàn vẹn, giúp các quy trình pháp lý ở từng quốc gia được thực thi hiệu quả."),
    (17, Sentence, "\"Việt Nam đang đóng vai trò tiên phong trong nỗ lực toàn cầu này, và đó là điều mà các bạn hoàn toàn có thể tự hào\"."),
    (18, Sentence, "Ông chia sẻ thêm, Australia đang thúc đẩy hợp tác khu vực thông qua chương trình chính sách An ninh mạng khu vực Đông Nam Á và Thái Bình Dương (SEA-PAC Cyber), với ngân sách lên đến hàng chục triệu USD nhằm nâng cao năng lực ứng phó với tội phạm mạng cho các đối tác trong khu vực, trong đó có Việt Nam."),
    (18, Sentence, "Mục tiêu là cùng nhau bảo vệ người dân, doanh nghiệp và nền kinh tế khỏi các nguy cơ an ninh mạng."),
    (19, Sentence, "\"Chúng tôi rất vui mừng khi các tổ chức của Australia đang hoạt động tại Việt Nam có mối quan hệ hợp tác chặt chẽ với các đối tác Việt Nam - cùng chia sẻ kinh nghiệm, nâng cao kỹ năng và năng lực, qua đó góp phần đấu tranh chống tội phạm mạng và bảo đảm an toàn cho mọi người\"."),
    (20, Sentence, "Đại sứ Thụy Điển Johan Ndisi đại diện Thụy Điển tham gia ký kết."),
    (21, Sentence, "Đại sứ Thụy Điển Johan Ndisi cho biết, đối với Thụy Điển, việc thông qua Công ước Hà Nội là một bước tiến tích cực."),
    (21, Sentence, "Tội phạm mạng hiện là một trong những mối đe dọa phát triển nhanh nhất đối với xã hội, nền kinh tế và hệ thống quản trị trên toàn thế giới."),
    (22, Sentence, "Từ các cuộc tấn công ransomware vào bệnh viện và thành phố đến sự lây lan của gian lận và khai thác trực tuyến, không quốc gia nào là miễn nhiễm."),
    (22, Sentence, "Các mạng lưới tội phạm hoạt động không phân biệt biên giới, và hợp tác pháp lý của chúng ta cũng phải linh hoạt và toàn diện như vậy."),
    (23, Sentence, "\"Khi chúng ta tiến tới giai đoạn triển khai, Thụy Điển mong muốn nỗ lực thúc đẩy môi trường số an toàn, cởi mở và linh hoạt."),
    (23, Sentence, "Cùng nhau, chúng ta có thể đảm bảo rằng không gian mạng vẫn là động lực cho sự tiến bộ, chứ không phải là công cụ cho sự bóc lột."),
    (23, Sentence, "Một không gian mạng an toàn cũng phải là không gian mạng tôn trọng quyền con người\", Đại sứ chia sẻ."),
    ];
    let got = layout(VI_SEED);
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "segment {i}");
    }
    assert_eq!(got.len(), expected.len());
}

#[test]
fn vi_seed_quoted_passages_keep_their_quotes_at_the_ends() {
    let t = texts(VI_SEED);
    let opening: Vec<&&str> = t.iter().filter(|s| s.starts_with(['“', '"'])).collect();
    let closing: Vec<&&str> = t
        .iter()
        .filter(|s| !s.starts_with(['“', '"']) && !s.contains('“') && s.contains(['”', '"']))
        .collect();
    // Six quotations; two of them span several sentences, and their
    // inner sentences carry no quote mark at all.
    assert_eq!(opening.len(), 6, "{opening:#?}");
    assert_eq!(closing.len(), 2, "{closing:#?}");
    assert!(closing[0].ends_with("tội phạm mạng”."));
    assert!(closing[1].ends_with("quyền con người\", Đại sứ chia sẻ."));
    assert!(t.contains(&"Cùng nhau, chúng ta có thể đảm bảo rằng không gian mạng vẫn là động lực cho sự tiến bộ, chứ không phải là công cụ cho sự bóc lột."));
}

#[test]
fn en_seed() {
    let segs = layout(EN_SEED);
    // Web text: every non-empty line is its own paragraph.
    let lines = EN_SEED.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(segs.last().map(|s| s.0 + 1), Some(lines));
    assert_eq!(segs.len(), 18);
    assert_eq!(
        segs[0].2.len(),
        EN_SEED.lines().nth(1).map_or(0, str::len),
        "first paragraph is one sentence"
    );
    assert_eq!(
        segs[16],
        (
            7,
            Heading,
            "Source: https://www.sggp.org.vn/xac-lap-la-chan-toan-cau-post819974.html"
        )
    );
    assert_eq!(segs[17], (8, Heading, "Comment (0)"));
    assert!(segs[..16].iter().all(|s| s.1 == Sentence));
    // A closing quote after a comma or a period inside a quote.
    assert!(segs.iter().any(|s| s.2.starts_with("These actions are often justified under the guise of \"protecting national interests,\" but in reality")));
    assert!(segs.iter().any(|s| s
        .2
        .ends_with("falling into mistrust or a \"digital arms race.\"")));
    assert_eq!(segs.iter().filter(|s| s.0 == 5).count(), 4);
}

// ---- invariants and robustness ----------------------------------

#[test]
fn tricky_strings_never_panic() {
    let long_word = "a".repeat(100_000);
    let long_line = "Câu dài. ".repeat(20_000);
    let dots = ".".repeat(10_000);
    let long_abbrev = format!("{}. Theo", "x.".repeat(5_000));
    let cases: Vec<&str> = vec![
        "",
        " ",
        "\n",
        "\n\n\n",
        " \t\u{a0}\r\n \u{2028}",
        "\u{FEFF}",
        "\u{FEFF}\u{FEFF} ",
        ".",
        "...",
        "…",
        "?!",
        "!!! ???",
        "(",
        ")",
        "(()",
        "(VTC News)",
        "(VTC News) -",
        "(VTC News)-x",
        "( ) -",
        "HÀ NỘI (",
        "“",
        "”",
        "\"",
        "'",
        "“ ”",
        "‘’",
        "\" \" \"",
        "- ",
        "– — -",
        "😀",
        "😀. 😀! 👍🏽?",
        "́",
        "e\u{301}\u{302}\u{303}. \u{301}A",
        "a\u{0}b. C",
        "\r",
        "\r\r\n\n\r",
        "1.",
        "1. ",
        "a.",
        "TP.",
        "TP. ",
        "U.S.",
        "U.S. The",
        ". . .",
        ". A",
        "A .",
        "(.)",
        "“.” “.”",
        "x… Y",
        "Mr.",
        "Ảnh:",
        "(Ảnh",
        "(Photo ",
        &long_word,
        &long_line,
        &dots,
        &long_abbrev,
    ];
    for c in cases {
        let _ = check(c);
    }
    assert!(segment("").is_empty());
    assert!(segment(" \n\t\u{a0}\u{FEFF}\r\n").is_empty());
    assert_eq!(texts("..."), vec!["..."]);
    assert_eq!(texts(&long_line).len(), 20_000);
}

#[test]
fn every_char_boundary_of_the_seeds_is_safe() {
    // Cutting the seeds at every char boundary exercises truncated
    // quotes, bylines and terminators.
    for seed in [VI_SEED, EN_SEED] {
        for (i, _) in seed.char_indices().step_by(7) {
            let _ = check(&seed[..i]);
            let _ = check(&seed[i..]);
        }
    }
}

#[test]
fn bom_crlf_nbsp_and_tabs() {
    let input = "\u{FEFF}(Dân trí) -\u{a0}Sáng 25/10, Lễ mở ký Công ước diễn ra tại Hà Nội.\tViệc ký kết được đánh giá là dấu mốc đặc biệt.\r\n\r\nTiềm năng to lớn\r\n";
    assert_eq!(
        layout(input),
        vec![
            (0, Byline, "(Dân trí) -"),
            (
                0,
                Sentence,
                "Sáng 25/10, Lễ mở ký Công ước diễn ra tại Hà Nội."
            ),
            (
                0,
                Sentence,
                "Việc ký kết được đánh giá là dấu mốc đặc biệt."
            ),
            (1, Heading, "Tiềm năng to lớn"),
        ]
    );
    assert_eq!(segment(input)[0].start, 3, "BOM skipped");
}

#[test]
fn nfd_input_keeps_original_spans_and_model_text_is_nfc() {
    let nfd: String = VI_SEED.nfd().collect();
    assert_ne!(nfd, VI_SEED);
    let nfc_layout = layout(VI_SEED);
    let segs = check(&nfd);
    assert_eq!(segs.len(), nfc_layout.len());
    for (s, (p, k, t)) in segs.iter().zip(&nfc_layout) {
        assert_eq!((s.paragraph, s.kind), (*p, *k));
        let source = s.text(&nfd);
        assert_eq!(
            source,
            t.nfd().collect::<String>(),
            "span is into the NFD bytes"
        );
        assert_eq!(crate::text::model_text(source), *t);
    }
    // Titles and starters are recognized in NFD too.
    let nfd = "Ông nói với NSƯT. Lan rằng sẽ về muộn. Ông đi."
        .nfd()
        .collect::<String>();
    assert_eq!(texts(&nfd).len(), 2);
}

#[test]
fn segment_kind_serializes_lowercase_and_text_tolerates_other_input() {
    assert_eq!(
        serde_json::to_string(&Byline).ok().as_deref(),
        Some("\"byline\"")
    );
    assert_eq!(
        serde_json::from_str::<SegmentKind>("\"caption\"").ok(),
        Some(Caption)
    );
    assert_eq!(Heading.as_str(), "heading");
    let seg = Segment {
        id: 0,
        paragraph: 0,
        kind: Sentence,
        start: 1,
        end: 3,
    };
    assert_eq!(
        seg.text("Ông"),
        "",
        "1..3 is inside `Ô` in a different string"
    );
    assert_eq!(seg.text("abcd"), "bc");
}

// ---- paragraphs -------------------------------------------------

#[test]
fn blank_lines_and_single_newlines_separate_paragraphs() {
    let input = "Cyberspace is also becoming fertile ground for transnational criminal forces.\nMore dangerously, many forms of cybercrime are supported by certain forces.\n \nThe reality has proven that no single nation can fight cybercrime alone.";
    let l = layout(input);
    assert_eq!(l.iter().map(|s| s.0).collect::<Vec<_>>(), vec![0, 1, 2]);
}

#[test]
fn soft_wrapped_lines_stay_in_one_paragraph() {
    let input = "Theo ông Iain Frew, khi không gian mạng và công nghệ số phát triển với tốc độ\nchóng mặt, vấn đề an ninh mạng ngày càng trở nên phức tạp. Ông cho rằng Việt\nNam đã thể hiện cam kết mạnh mẽ trong việc định hình và quản lý các công nghệ\nmới.\nTiềm năng to lớn\nđược nhắc lại nhiều lần.";
    let l = layout(input);
    assert_eq!(
        l,
        vec![
            (0, Sentence, "Theo ông Iain Frew, khi không gian mạng và công nghệ số phát triển với tốc độ\nchóng mặt, vấn đề an ninh mạng ngày càng trở nên phức tạp."),
            // `Việt` + `Nam` breaks before an uppercase line: a new
            // paragraph by the rule, the price of one-line web paragraphs.
            (0, Sentence, "Ông cho rằng Việt"),
            (1, Sentence, "Nam đã thể hiện cam kết mạnh mẽ trong việc định hình và quản lý các công nghệ\nmới."),
            (2, Sentence, "Tiềm năng to lớn\nđược nhắc lại nhiều lần."),
        ]
    );
    assert_eq!(
        crate::text::model_text(l[0].2),
        "Theo ông Iain Frew, khi không gian mạng và công nghệ số phát triển với tốc độ chóng mặt, vấn đề an ninh mạng ngày càng trở nên phức tạp."
    );
    // A finished line is never continued, even by a lowercase line.
    let l = layout("Sự kiện diễn ra tại Hà Nội.\nvà thu hút nhiều đại biểu.");
    assert_eq!(l.iter().map(|s| s.0).collect::<Vec<_>>(), vec![0, 1]);
}

// ---- sentence boundaries ----------------------------------------

#[test]
fn terminators_and_closing_marks() {
    assert_eq!(
        texts("Liệu Việt Nam có đạt mục tiêu tăng trưởng 8%? Các chuyên gia tin là có! Thật bất ngờ?! \"Đó là điều chúng ta phải làm.\" Ông nói vậy… Rồi ông rời đi."),
        vec![
            "Liệu Việt Nam có đạt mục tiêu tăng trưởng 8%?",
            "Các chuyên gia tin là có!",
            "Thật bất ngờ?!",
            "\"Đó là điều chúng ta phải làm.\"",
            "Ông nói vậy…",
            "Rồi ông rời đi.",
        ]
    );
    assert_eq!(
        texts("The storm killed at least 12 people (officials said the toll could rise.) Rescue teams were deployed. [Reuters.] The next sentence."),
        vec![
            "The storm killed at least 12 people (officials said the toll could rise.)",
            "Rescue teams were deployed.",
            "[Reuters.]",
            "The next sentence.",
        ]
    );
}

#[test]
fn plausible_sentence_starts() {
    // Digit, opening quote, dash, bracket, Vietnamese capitals.
    assert_eq!(
        texts("Gần 70 nước tham gia ký. 70 nước đã ký ngay trong ngày đầu. “Đây là dấu mốc”, ông nói. - Tăng cường hợp tác quốc tế. (Ảnh minh họa) Ông Frew phát biểu. Ưu tiên hàng đầu là an ninh mạng. Ở Hà Nội, trời mưa."),
        vec![
            "Gần 70 nước tham gia ký.",
            "70 nước đã ký ngay trong ngày đầu.",
            "“Đây là dấu mốc”, ông nói.",
            "- Tăng cường hợp tác quốc tế.",
            "(Ảnh minh họa) Ông Frew phát biểu.",
            "Ưu tiên hàng đầu là an ninh mạng.",
            "Ở Hà Nội, trời mưa.",
        ]
    );
    // Lowercase after a period is not a new sentence (nor is a quoted
    // lowercase term); a brand like iPhone is.
    assert_eq!(texts("Giá tăng 5%. so với năm ngoái.").len(), 1);
    assert_eq!(
        texts("hành vi “cố ý làm trái...” “gây hậu quả nghiêm trọng” bị xử lý.").len(),
        1
    );
    assert_eq!(
        texts("Apple ra mắt sản phẩm mới. iPhone 17 có giá từ 25 triệu đồng.").len(),
        2
    );
}

#[test]
fn vietnamese_titles_never_end_a_sentence() {
    for s in [
        "Theo PGS.TS. Nguyễn Văn Minh, Trường Đại học Kinh tế Quốc dân, lạm phát sẽ được kiểm soát.",
        "Hội nghị diễn ra tại TP. Hồ Chí Minh sáng 25/10.",
        "ThS. Lê Thị Hoa và BS. Trần Văn Nam đã có mặt tại bệnh viện.",
        "Ông là TS. Phạm Quang Huy, giảng viên Đại học Bách khoa.",
        "Buổi biểu diễn có sự tham gia của NSƯT. Thanh Hòa và NSND. Thu Hiền.",
        "Cháy nhà dân trên đường Lê Lợi, P. Bến Thành, Q. 1 khiến hai người bị thương.",
        "GS. Ngô Bảo Châu và KS. Nguyễn Hữu An cùng dự lễ trao giải.",
        "Lễ tốt nghiệp có bài phát biểu của Th.S. Đỗ Minh Tuấn và CN. Lý Thu Trang.",
        "Vụ việc xảy ra ở TT. Phùng, huyện Đan Phượng vào tối qua.",
    ] {
        assert_eq!(texts(s), vec![s]);
    }
}

#[test]
fn english_titles_never_end_a_sentence() {
    for s in [
        "Mr. Biden met Mrs. Harris and Dr. Fauci at the White House on Tuesday.",
        "Sen. Elizabeth Warren and Rep. Nancy Pelosi spoke after Gov. Gavin Newsom.",
        "Prof. Jane Smith said Gen. Mark Milley had been briefed.",
        "Ms. Nguyen told reporters the deal was done.",
    ] {
        assert_eq!(texts(s), vec![s]);
    }
}

#[test]
fn abbreviations_end_sentences_only_before_a_sentence_starter() {
    assert_eq!(
        texts("The summit was held in the U.S. The president said it was a success."),
        vec![
            "The summit was held in the U.S.",
            "The president said it was a success."
        ]
    );
    assert_eq!(
        texts("Officials from the U.S. Navy joined the exercise.").len(),
        1
    );
    assert_eq!(
        texts("Shares of Apple Inc. rose 2%. The company is based in Cupertino."),
        vec![
            "Shares of Apple Inc. rose 2%.",
            "The company is based in Cupertino."
        ]
    );
    assert_eq!(
        texts("The company was founded by Acme Inc. In 2020 it went public."),
        vec![
            "The company was founded by Acme Inc.",
            "In 2020 it went public."
        ]
    );
    assert_eq!(
        texts("The meeting began at 9 a.m. He arrived late."),
        vec!["The meeting began at 9 a.m.", "He arrived late."]
    );
    assert_eq!(texts("The meeting began at 9 a.m. Eastern time.").len(), 1);
    assert_eq!(
        texts("They bought rice, fish, vegetables, etc. But prices kept rising."),
        vec![
            "They bought rice, fish, vegetables, etc.",
            "But prices kept rising."
        ]
    );
    assert_eq!(texts("The law takes effect on Jan. 1 next year.").len(), 1);
    assert_eq!(texts("It ranked No. 1 in the world.").len(), 1);
    assert_eq!(
        texts("Harry Potter author J. K. Rowling wrote a new book.").len(),
        1
    );
    assert_eq!(
        texts("The U.K. government and the U.N. Security Council agreed.").len(),
        1
    );
    assert_eq!(
        texts("Cities like Hanoi, e.g. The capital, are growing; i.e. Fast.").len(),
        1
    );
    // Vietnamese: `v.v.` and anonymized names like `Nguyễn Văn A.`.
    assert_eq!(
        texts("Anh đã mua gạo, cá, rau v.v. Sau đó giá tiếp tục tăng."),
        vec!["Anh đã mua gạo, cá, rau v.v.", "Sau đó giá tiếp tục tăng."]
    );
    assert_eq!(
        texts("Người bị hại là anh Nguyễn Văn A. Theo cơ quan điều tra, vụ việc xảy ra lúc 22h."),
        vec![
            "Người bị hại là anh Nguyễn Văn A.",
            "Theo cơ quan điều tra, vụ việc xảy ra lúc 22h."
        ]
    );
    assert_eq!(texts("Ông Nguyễn Văn A. Bình từ chối trả lời.").len(), 1);
}

#[test]
fn sentence_starters_list_drives_the_decision() {
    for w in ["The", "However", "Ông", "Theo", "Trong", "Những"] {
        assert!(SENTENCE_STARTERS.contains(&w), "{w}");
        let input = format!("They moved to the U.S. {w} x.");
        assert_eq!(texts(&input).len(), 2, "{input}");
    }
    for w in ["Navy", "Army", "Congress", "Hà"] {
        assert!(!SENTENCE_STARTERS.contains(&w));
        assert_eq!(texts(&format!("They moved to the U.S. {w} x.")).len(), 1);
    }
}

#[test]
fn numbers_dates_urls_and_emails_do_not_split() {
    for s in [
        "Sáng 25/10, Lễ mở ký Công ước diễn ra tại Hà Nội.",
        "GDP quý III tăng 5,66% so với cùng kỳ năm trước.",
        "Ngân sách lên đến 1.000.000 USD, gấp 3.5 lần năm trước.",
        "Phiên họp bắt đầu lúc 10:30 sáng nay.",
        "Source: https://www.sggp.org.vn/xac-lap-la-chan-toan-cau-post819974.html",
        "Mọi thắc mắc xin gửi về a.b@c.vn hoặc gọi 1900.1234.",
        "Trụ sở đặt tại TP.HCM và Q.1.",
    ] {
        assert_eq!(texts(s), vec![s]);
    }
    // A URL or number that ends a sentence still ends it.
    assert_eq!(
        texts("Chi tiết xem tại https://www.sggp.org.vn. Theo báo cáo, GDP tăng 7,09%. Con số này vượt kỳ vọng."),
        vec!["Chi tiết xem tại https://www.sggp.org.vn.", "Theo báo cáo, GDP tăng 7,09%.", "Con số này vượt kỳ vọng."]
    );
}

#[test]
fn ellipsis() {
    assert_eq!(
        texts("Chúng tôi đã cố gắng và... cuối cùng đã thành công.").len(),
        1
    );
    assert_eq!(
        texts("Chúng tôi đã cố gắng rất nhiều... Cuối cùng đã thành công."),
        vec![
            "Chúng tôi đã cố gắng rất nhiều...",
            "Cuối cùng đã thành công."
        ]
    );
    assert_eq!(texts("Ông chờ đợi… Rồi tất cả im lặng.").len(), 2);
    // Elisions: at the start of a quote, in brackets, after a comma.
    assert_eq!(
        texts("Ông viết: “... Làng có luân lí, ăn ở cho phải đạo.”").len(),
        1
    );
    assert_eq!(
        texts("Mọi việc do Nghị viện quyết định (…) Chính phủ không được can thiệp vào.").len(),
        1
    );
    assert_eq!(
        texts("Các bộ đã nối mạng (Bộ Tư pháp, Bộ Tài chính),... 100% UBND cấp tỉnh cũng vậy.")
            .len(),
        1
    );
    assert_eq!(
        texts("Tình trạng quan liêu, xa rời quần chúng,... Trải qua các thời kỳ, bộ máy đã được cải thiện."),
        vec!["Tình trạng quan liêu, xa rời quần chúng,...", "Trải qua các thời kỳ, bộ máy đã được cải thiện."]
    );
}

#[test]
fn list_numbers_are_not_sentences() {
    assert_eq!(
        texts("1. Quyền được thông tin là một quyền mang tính Hiến định của công dân."),
        vec!["1. Quyền được thông tin là một quyền mang tính Hiến định của công dân."]
    );
    assert_eq!(
        texts("Ông đề nghị: 1. Phân biệt quyền lập pháp và quyền hành chính; 2. Cải cách công lí ở Đông Dương. IV. Tự do báo chí."),
        vec!["Ông đề nghị: 1. Phân biệt quyền lập pháp và quyền hành chính; 2. Cải cách công lí ở Đông Dương.", "IV. Tự do báo chí."]
    );
    assert_eq!(
        texts("Đó là: a. Bộ máy chưa thật trong sạch. b. Quản lí nhà nước chưa ngang tầm. c) Tổ chức bộ máy còn nặng nề. (ii) Uỷ ban thẩm tra."),
        vec![
            "Đó là: a. Bộ máy chưa thật trong sạch.",
            "b. Quản lí nhà nước chưa ngang tầm.",
            "c) Tổ chức bộ máy còn nặng nề.",
            "(ii) Uỷ ban thẩm tra.",
        ]
    );
    // A number ending a sentence is not a list marker.
    assert_eq!(
        texts("Đội tuyển xếp thứ 2. Theo HLV, đó là thành công.").len(),
        2
    );
}

#[test]
fn quotes() {
    assert_eq!(
        texts("“Câu một. Câu hai”, ông nói."),
        vec!["“Câu một.", "Câu hai”, ông nói."]
    );
    assert_eq!(
        texts("“Điều đặc biệt ý nghĩa là chúng ta mới có thể đạt được tiến bộ thực sự”, ông nói."),
        vec!["“Điều đặc biệt ý nghĩa là chúng ta mới có thể đạt được tiến bộ thực sự”, ông nói."]
    );
    assert_eq!(texts("“Chúng tôi sẽ tiếp tục hợp tác!”, bà nói.").len(), 1);
    assert_eq!(texts("“Chúng tôi sẽ tiếp tục hợp tác!” bà nói.").len(), 1);
    assert_eq!(
        texts("\"We will keep working together. The convention is a milestone,\" the ambassador said. He left."),
        vec!["\"We will keep working together.", "The convention is a milestone,\" the ambassador said.", "He left."]
    );
    // A bracketed citation stays with the quotation it sources.
    assert_eq!(
        texts("“Nhà nước ta là Nhà nước của nhân dân, do nhân dân, vì nhân dân.” (Điều 2 Hiến pháp năm 1992). Đây là nguyên tắc cơ bản."),
        vec!["“Nhà nước ta là Nhà nước của nhân dân, do nhân dân, vì nhân dân.” (Điều 2 Hiến pháp năm 1992).", "Đây là nguyên tắc cơ bản."]
    );
}

// ---- kinds ------------------------------------------------------

#[test]
fn bylines() {
    assert_eq!(
        kinds(
            "(Dân trí) - Sáng 25/10, Lễ mở ký Công ước diễn ra tại Hà Nội. Gần 70 nước tham gia."
        ),
        vec![
            (Byline, "(Dân trí) -"),
            (
                Sentence,
                "Sáng 25/10, Lễ mở ký Công ước diễn ra tại Hà Nội."
            ),
            (Sentence, "Gần 70 nước tham gia."),
        ]
    );
    assert_eq!(
        kinds("HÀ NỘI (Reuters) - Vietnam hosted the signing of the U.N. cybercrime convention on Saturday."),
        vec![(Byline, "HÀ NỘI (Reuters) -"), (Sentence, "Vietnam hosted the signing of the U.N. cybercrime convention on Saturday.")]
    );
    assert_eq!(
        kinds("(PLO) – Công an TP.HCM vừa bắt giữ nghi phạm.")[0],
        (Byline, "(PLO) –")
    );
    assert_eq!(
        kinds("WASHINGTON (Reuters) — The Senate passed the bill.")[0],
        (Byline, "WASHINGTON (Reuters) —")
    );
    assert_eq!(kinds("(VTC News) -"), vec![(Byline, "(VTC News) -")]);
    // Not bylines: a mixed-case subject before the bracket, a dash
    // glued to a word, a bracket that is too long.
    for s in [
        "Công ước Hà Nội (UNCC) - văn kiện đầu tiên về tội phạm mạng - đã được ký.",
        "(Reuters)-based reporting is not a byline.",
        "(Theo thông tin từ Bộ Công an và các cơ quan chức năng liên quan khác) - vụ việc đang được điều tra.",
    ] {
        assert!(check(s).iter().all(|x| x.kind != Byline), "{s}");
    }
}

#[test]
fn headings() {
    assert_eq!(
        kinds("Tiềm năng to lớn"),
        vec![(Heading, "Tiềm năng to lớn")]
    );
    assert_eq!(kinds("Comment (0)"), vec![(Heading, "Comment (0)")]);
    assert_eq!(
        kinds("Vietnam hosts the signing of the U.N. cybercrime convention")[0].0,
        Heading
    );
    // Punctuated, or two segments: not a heading.
    assert_eq!(kinds("Tiềm năng to lớn.")[0].0, Sentence);
    assert_eq!(kinds("Ông nói:")[0].0, Sentence);
    assert_eq!(
        kinds("Hôm nay trời đẹp. Tiềm năng to lớn")
            .iter()
            .map(|k| k.0)
            .collect::<Vec<_>>(),
        vec![Sentence, Sentence]
    );
    // 15 words is still a heading; 16 is a caption.
    let fifteen = "Một hai ba bốn năm sáu bảy tám chín mười mười một mười hai mười";
    assert_eq!(fifteen.split(' ').count(), 15);
    assert_eq!(kinds(fifteen)[0].0, Heading);
    assert_eq!(kinds(&format!("{fifteen} ba"))[0].0, Caption);
}

#[test]
fn captions() {
    for s in [
        "Đại sứ Anh Iain Frew đại diện Vương quốc Anh tham gia ký kết. (Ảnh: Minh Đức)",
        "Lễ mở ký Công ước Hà Nội diễn ra sáng 25/10. Ảnh: TTXVN",
        "Người dân xếp hàng chờ mua vàng tại Hà Nội (Ảnh minh họa).",
        "Delegates attend the signing ceremony in Hanoi. Photo: Reuters",
        "Delegates attend the signing ceremony in Hanoi (Photo VNA).",
    ] {
        let k = kinds(s);
        assert_eq!(k.last().map(|x| x.0), Some(Caption), "{s}: {k:?}");
    }
    // A long unpunctuated closing line is a caption; `(Ảnh hưởng` is not a credit.
    assert_eq!(
        kinds("Đồng Bộ trưởng về Ngoại giao và Thương mại Australia Matt Thistlethwaite đại diện Australia tham gia ký kết Công ước")[0].0,
        Caption
    );
    assert_eq!(
        kinds("Giá xăng tăng mạnh (ảnh hưởng bởi giá dầu thế giới).")[0].0,
        Sentence
    );
}
