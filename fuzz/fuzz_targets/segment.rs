//! The sentence segmenter on any text: spans in bounds, on char
//! boundaries, in order and not overlapping, never starting or ending with
//! whitespace, ids and paragraphs consecutive, and every non-blank
//! character inside exactly one segment (the segments cover the text).
#![no_main]

use libfuzzer_sys::fuzz_target;

use dich::text::segment;

/// What the segmenter treats as blank (Unicode whitespace and the BOM).
fn blank(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let segs = segment(input);
    let mut prev_end = 0;
    let mut prev_para = 0;
    for (i, s) in segs.iter().enumerate() {
        assert_eq!(s.id, i, "ids are consecutive");
        assert!(s.start < s.end, "segment {i} is empty: {s:?}");
        assert!(
            s.end <= input.len(),
            "segment {i} ends past the input: {s:?}"
        );
        assert!(
            s.start >= prev_end,
            "segment {i} overlaps the previous one: {s:?}"
        );
        let text = input
            .get(s.start..s.end)
            .unwrap_or_else(|| panic!("segment {i} is not on char boundaries: {s:?}"));
        assert_eq!(
            s.text(input),
            text,
            "input[start..end] is the segment's text"
        );
        assert!(
            !text.starts_with(blank) && !text.ends_with(blank),
            "segment {i} {text:?} is not trimmed"
        );
        // Between two segments there is only whitespace.
        let gap = &input[prev_end..s.start];
        assert!(
            gap.chars().all(blank),
            "text {gap:?} before segment {i} is in no segment"
        );
        if i > 0 {
            assert!(
                s.paragraph == prev_para || s.paragraph == prev_para + 1,
                "paragraphs are consecutive: {s:?}"
            );
        } else {
            assert_eq!(s.paragraph, 0);
        }
        prev_end = s.end;
        prev_para = s.paragraph;
    }
    assert!(
        input[prev_end..].chars().all(blank),
        "the tail {:?} is in no segment",
        &input[prev_end..]
    );
});
