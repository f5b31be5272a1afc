#!/usr/bin/env python3
"""Reference scores from sacreBLEU for dich's BLEU, chrF, chrF++ and TER.

dich reimplements sacreBLEU's corpus metrics (src/eval). This script writes
small line-aligned test sets (hyp.txt, ref.txt and for some a second system
hyp_b.txt) under tests/fixtures/sacrebleu/<case>/, and expected.json with
what sacreBLEU gives for them with its default settings: corpus scores,
signatures and printed lines, BLEU's verbose fields, TER's edit counts,
chrF's and chrF++'s sentence scores, and for hyp_b the paired bootstrap
result (informational only: dich draws resamples with its own generator).

Floats are written as strings (Python's repr) so that they are read back
exactly. Files are read back the way sacreBLEU's command line reads them
(newline="\\n", each line rstripped), and every corpus score is also checked
against the `sacrebleu` command itself.

`tests/eval_sacrebleu.rs` checks that dich reproduces every number.

Run (outside the repo's build, e.g. in a throwaway venv):

    python3 -m venv /tmp/sb
    /tmp/sb/bin/pip install sacrebleu==2.4.3
    /tmp/sb/bin/python scripts/sacrebleu_fixtures.py tests/fixtures/sacrebleu
"""

import json
import os
import subprocess
import sys
import unicodedata

import sacrebleu
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest

VERSION = "2.4.3"

CASES = {}

# English news-like text: punctuation, numbers, dates, currency, quotes, and
# HTML entities (13a unescapes &quot; &amp; &lt; &gt;).
CASES["en_news"] = {
    "ref": [
        "The Prime Minister said on Tuesday that GDP grew 7.09% in 2024, the fastest pace since 2019.",
        '"We will not back down," she told reporters in Hanoi &amp; Ho Chi Minh City.',
        "Shares of Vingroup (VIC) fell 3.5 per cent to 41,200 dong - their lowest level in 12-month trading.",
        "The U.S.-Vietnam trade deal, signed on 10/9/2023, covers $1.5 billion of goods.",
        "Officials expect 1.2 million visitors during the Sept. 2-4 holiday; hotels are 95% booked.",
        'He asked: "Why can\'t we do better?" -- and nobody answered.',
        "Temperatures dropped to -5°C in Sa Pa, according to the <b>national</b> weather centre.",
        "It's the company's third recall this year: 12,000 cars were affected.",
        "Exports to the EU rose 12.5% year-on-year, to US$4.3bn, the ministry said [1].",
    ],
    "hyp": [
        "The prime minister said Tuesday that GDP grew by 7.09% in 2024, the fastest rate since 2019.",
        "&quot;We will not back down,&quot; she told journalists in Hanoi & Ho Chi Minh City.",
        "Vingroup (VIC) shares dropped 3.5 percent to 41,200 dong, their lowest in 12 months.",
        "The US-Vietnam trade agreement signed on 10/9/2023 covers $1.5bn worth of goods.",
        "Officials expect 1.2 million tourists over the Sept. 2-4 holiday, with hotels 95% full.",
        'He asked: "Why can\'t we do better?" - nobody answered.',
        "Temperatures fell to -5°C in Sa Pa, according to the &lt;b&gt;national&lt;/b&gt; weather center.",
        "It is the company's third recall this year; 12,000 cars were affected.",
        "Exports to the EU increased 12.5 % on year to US$ 4.3 bn, according to the ministry.",
    ],
}

# Vietnamese -> English: hypotheses are dich's model output for the seed
# article (tests/fixtures/translation_vi_seed.json), references written by
# hand; hyp_b is a worse, literal system for the paired test.
CASES["vi_en"] = {
    "ref": [
        "The event was hosted by Vietnam at the National Convention Center in Hanoi.",
        "The signing in Hanoi is regarded as a special milestone that underlines Vietnam's international standing, demonstrates its proactive role in multilateral cooperation, and reflects the international community's recognition of Vietnam's contributions to drafting the Convention.",
        "British Ambassador Iain Frew stressed the need for countries to act together, share information, cooperate on investigations and coordinate with one another through the new convention against cybercrime.",
        "British Ambassador Iain Frew signed on behalf of the United Kingdom.",
        "He said Vietnam has shown a strong commitment to shaping and governing new technologies, ensuring that their deployment always goes hand in hand with the principles and commitments of the international Convention.",
        "“I see enormous potential in Vietnam, as its technology and financial services sectors are growing rapidly.",
        "He said that every year the United Kingdom runs programmes that bring together technology and cybersecurity companies, helping firms both protect themselves and work with the government.",
        "Many British companies came to Vietnam on this occasion and saw promising opportunities for cooperation, especially in financial technology.",
        "According to the Australian diplomat, this is a turning point, as for the first time the international community has a dedicated global convention to prevent, investigate and prosecute cybercrime.",
        "The Convention also sets out clearly how evidence is shared and protected to preserve its integrity, so that legal procedures in each country can be carried out effectively.",
        "The goal is to work together to protect people, businesses and the economy from cybersecurity threats.",
        "Cybercrime is now one of the fastest-growing threats to societies, economies and governance systems around the world.",
        "From ransomware attacks on hospitals and cities to the spread of online fraud and exploitation, no country is immune.",
        "Criminal networks operate regardless of borders, and our legal cooperation must be just as agile and comprehensive.",
        "Together, we can ensure that cyberspace remains a driver of progress, not a tool of exploitation.",
    ],
    "hyp": [
        "The event was organized by Vietnam at the National Conference Center in Hanoi.",
        "The signing at the National Conference Center was considered a significant milestone, highlighting the international status of Vietnam, demonstrating its proactive role in multilateral cooperation, and reflecting the global recognition of Vietnam's contributions to the process of building the Convention.",
        "The British Ambassador Iain Frew emphasized the need for all countries to work together, share information, cooperate in investigating and coordinating across countries through a new international agreement on cybercrime.",
        "The British Ambassador Iain Frew participated in the ceremony.",
        "He believes that Vietnam has shown strong commitment in formulating and managing new technologies, ensuring that the deployment is always linked to the principles and commitments of the international convention.",
        "I see a lot of potential in Vietnam, as the technology and financial services sectors are growing rapidly.",
        "He said, every year, the United Kingdom organizes programs to gather technology and cybersecurity companies, helping companies to protect themselves and collaborate with the government.",
        "Many English companies have come to Vietnam this time and have seen many opportunities for collaboration, particularly in the field of financial technology.",
        "According to the Australian Foreign Minister, this is a significant moment, when the first global consensus was established to combat, investigate, and track cybercrime.",
        "The agreement also specifies how to share and protect evidence to ensure the effectiveness of legal procedures in each country.",
        "The goal is to protect citizens, businesses, and the economy from cyber threats.",
        "The current cybercrime is one of the fastest-growing threats to society, the economy, and the global management system.",
        "From ransomware attacks on hospitals and cities to the spread of cyber espionage and online exploitation, no country is immune.",
        "Cybercrime networks operate without regard to borders, and our legal cooperation must be flexible and comprehensive as well.",
        "Together, we can ensure that the internet remains a driving force for progress, rather than a tool for division.",
    ],
    "hyp_b": [
        "Event by Viet Nam host organize at National Conference Center Ha Noi.",
        "The signing at Ha Noi is evaluated as special milestone, emphasizing international position of Viet Nam.",
        "The UK ambassador Iain Frew emphasized the necessity of acting together and sharing information between nations.",
        "UK Ambassador Iain Frew represented the United Kingdom to join the signing.",
        "He thinks Viet Nam showed strong commitment in shaping and managing new technologies.",
        '"I notice huge potential in Viet Nam, when technology and financial service industry develop quickly.',
        "He said, every year, UK organizes programs gathering tech and cyber security businesses.",
        "Many UK businesses came to Viet Nam this time and saw promising cooperation chances.",
        "According to the Australia diplomat, this is turning moment, when first time international community has global convention.",
        "The convention also regulates clearly how to share and protect evidence for integrity.",
        "Target is together protecting people, businesses and economy from cyber security risks.",
        "Cyber crime currently is one of the fastest developing threats for society, economy and management system in whole world.",
        "From ransomware attacks into hospitals and cities to spreading of fraud and online exploitation, no nation is immune.",
        "The crime networks act without distinguishing borders, and our legal cooperation also must be flexible and comprehensive like that.",
        "Together, we can make sure that cyber space still is motivation for progress, not tool for exploitation.",
    ],
}

# English -> Vietnamese: hypotheses are dich's model output
# (tests/fixtures/translation_en_seed.json), references written by hand.
CASES["en_vi"] = {
    "ref": [
        "Thực tế đã chứng minh rằng không một quốc gia nào có thể đơn độc chống lại tội phạm mạng.",
        "Các hoạt động tấn công mạng, lừa đảo và đánh cắp dữ liệu hiện nay mang tính xuyên quốc gia, vận hành qua những mạng lưới tinh vi và công nghệ hiện đại.",
        "Khi “luật chơi” được thiết lập công bằng và minh bạch, mọi quốc gia, dù lớn hay nhỏ, đều có cơ hội bình đẳng để bảo vệ lợi ích và chủ quyền số của mình.",
        "Hơn nữa, sự hợp tác giữa các quốc gia trong khuôn khổ Công ước không chỉ dừng lại ở an ninh mạng.",
        "Nó thể hiện một tầm nhìn toàn cầu, nơi luật pháp quốc tế được củng cố, niềm tin được khôi phục và hợp tác trở thành nền tảng cho phát triển bền vững.",
        "Trên nền tảng đó, các quốc gia có thể chia sẻ thông tin, hỗ trợ kỹ thuật, phối hợp điều tra xuyên biên giới và xây dựng các chuẩn mực pháp lý và đạo đức chung cho thời đại số.",
        "Với Công ước Hà Nội, thế giới đang chứng kiến một bước ngoặt trọng đại, khi tinh thần hợp tác quốc tế được nâng lên thành ý chí chính trị toàn cầu.",
        "Nguồn: https://www.sggp.org.vn/xac-lap-la-chan-toan-cau-post819974.html",
        "Bình luận (0)",
    ],
    "hyp": [
        "Điều thực tế đã chứng minh rằng một quốc gia không thể đối phó với tội phạm mạng độc lập.",
        "Tác vụ tấn công mạng hiện tại, fraud, và truy cập dữ liệu là transnational, hoạt động qua mạng sophisticated và công nghệ hiện đại.",
        "Khi quy tắc chơi được đặt rõ ràng và công khai, mỗi quốc gia, lớn hay nhỏ, đều có cơ hội bằng nhau để bảo vệ lợi ích và quyền riêng của mình về mạng thông tin và quyền riêng.",
        "Vì vậy, sự hợp tác giữa các quốc gia trong khuôn khổ của Quy định cũng vượt qua chỉ bảo vệ mạng thông tin.",
        "Đây là một hình ảnh toàn cầu, trong đó luật quốc tế được nâng cao, tin cậy được hồi phục, và sự hợp tác trở thành nền tảng cho phát triển bền vững.",
        "Dựa trên nền tảng này, các quốc gia có thể chia sẻ thông tin, cung cấp hỗ trợ kỹ thuật, điều phối các vụ án quốc tế, và xây dựng các tiêu chuẩn pháp lý và đạo đức chung cho thế giới thông tin.",
        "Khi Quốc tế hóa Hanoi, thế giới đang nhìn thấy một điểm quan trọng quan trọng, khi niềm tin trong sự hợp tác quốc tế được nâng cao lên một tầm cao quốc tế.",
        "Nguồn: https://www.sggp.org.vn/xac-lap-la-chan-toan-cau-post819974.html",
        "Bình luận (0)",
    ],
}

# Empty and whitespace-only lines on either side, trailing whitespace, CRLF
# line ends, and no newline after the last line.
CASES["empty_lines"] = {
    "ref_text": (
        "A short sentence.\n"
        "\n"
        "Another line here.\n"
        "Trailing spaces   \n"
        "Third.\n"
        "\n"
        "  \t\n"
        "Last line."
    ),
    "hyp_text": (
        "A short sentence.\r\n"
        "\r\n"
        "\n"
        "Trailing spaces\r\n"
        "Third!\n"
        "Extra words with no reference.\n"
        "\n"
        "last line .\n"
    ),
}

# Hypotheses much shorter than the references: the brevity penalty.
CASES["short_hyp"] = {
    "ref": [
        "The government announced a comprehensive package of measures on Monday to support small businesses affected by the floods.",
        "Prices for rice, vegetables and pork rose sharply in northern provinces after the storm.",
        "Schools in three districts will remain closed until the end of the week.",
    ],
    "hyp": [
        "The government announced measures.",
        "Prices rose sharply.",
        "Schools closed.",
    ],
}

# Case differences: BLEU and chrF are case-sensitive, TER lowercases
# (including Vietnamese capitals and the Greek final sigma).
CASES["case"] = {
    "ref": [
        "Hanoi is the capital of Vietnam.",
        "THE MEETING WILL START AT 9 A.M.",
        "Đà Nẵng và Hội An thu hút nhiều du khách.",
        "iPhone sales in Vietnam rose.",
        "οδος και σοφος",
    ],
    "hyp": [
        "HANOI IS THE CAPITAL OF VIETNAM.",
        "The meeting will start at 9 a.m.",
        "ĐÀ NẴNG VÀ HỘI AN THU HÚT NHIỀU DU KHÁCH.",
        "IPhone Sales In Vietnam Rose.",
        "ΟΔΟΣ ΚΑΙ ΣΟΦΟΣ",
    ],
}


def _lcg_words(n, vocab, seed):
    """Deterministic pseudo-random words (no RNG library needed)."""
    out, x = [], seed
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
        out.append(vocab[(x >> 33) % len(vocab)])
    return out


_LONG_REF = (
    "the national assembly on friday approved a revised land law that takes effect next year "
    "and changes how compensation is calculated when the state reclaims land for public projects "
    "while officials said the new rules would reduce disputes and speed up infrastructure work "
    "critics warned that farmers in rural provinces could still receive less than market value "
    "and urged the government to publish detailed guidance before the law enters into force"
).split()
# A 12-word block moved to the end, 54 positions away (beyond Tercom's shift
# size and distance limits), plus two substitutions.
_LONG_HYP = _LONG_REF[:5] + _LONG_REF[17:] + _LONG_REF[5:17]
_LONG_HYP[30] = "parliament"
_LONG_HYP[50] = "experts"
_VOCAB = "a b c d e f g".split()

# Reorderings that need shifts, Tercom's shift size and distance limits, a
# hypothesis 1/75 of the reference's length (widened beam), and repetitive
# pairs that reach the limit of 1000 shift candidates (the last one scores
# differently without it).
CASES["ter_shifts"] = {
    "ref": [
        "he reads the news in the morning",
        "On Tuesday in Hanoi, Vietnam and Australia signed the agreement.",
        "the bird and the cat and the dog",
        "a b c d e f g h i j k l m n o p",
        " ".join(_LONG_REF),
        " ".join((_LONG_REF * 3)[:150]),
        " ".join(_lcg_words(120, _VOCAB, 7)),
        " ".join(_lcg_words(60, _VOCAB[:5], 1)),
    ],
    "hyp": [
        "in the morning he reads the news",
        "Vietnam and Australia signed the agreement on Tuesday in Hanoi.",
        "the cat and the dog and the bird",
        "l m n o p a b c d e f g h i j k",
        " ".join(_LONG_HYP),
        "the law",
        " ".join(_lcg_words(110, _VOCAB, 11)),
        # 36 edits; 28 without the candidate limit.
        " ".join(_lcg_words(60, _VOCAB[:5], 101)),
    ],
}

# Unicode: NFD vs NFC (no normalization: they differ), Python-only whitespace
# (U+001F), no-break and ideographic spaces, U+2028 inside a line, a
# byte-order mark, zero-width space, emoji, CJK, dotted capital I.
CASES["unicode"] = {
    "ref": [
        "Hello world.",
        "Thủ tướng phát biểu tại Hà Nội.",
        "10 000 người tham dự lễ hội.",
        "a b c",
        "Giá vàng 💰 tăng mạnh tại 東京 và Hà Nội.",
        "İstanbul và Hà Nội kết nghĩa.",
        "zero width space test",
        "line separator test",
    ],
    "hyp": [
        "\ufeffHello world.",
        unicodedata.normalize("NFD", "Thủ tướng phát biểu tại Hà Nội."),
        "10\u00a0000\u3000người tham dự lễ hội.",
        "a\x1fb\x1cc",
        "Giá vàng 💰 tăng mạnh ở 東京 và Hà Nội.",
        "İSTANBUL VÀ HÀ NỘI KẾT NGHĨA.",
        "zero\u200bwidth space test",
        "line\u2028separator test",
    ],
}


def text_of(lines):
    return "".join(line + "\n" for line in lines)


def read_lines(path):
    # As sacreBLEU's command line reads files.
    with open(path, encoding="utf-8", newline="\n") as f:
        return [line.rstrip() for line in f]


def bleu_entry(metric, hyps, refs):
    s = metric.corpus_score(hyps, [refs])
    sig = str(metric.get_signature())
    return {
        "score": s.score,
        "signature": sig,
        "text": s.format(width=2, signature=sig),
        "verbose": s._verbose,
        "counts": list(s.counts),
        "totals": list(s.totals),
        "precisions": list(s.precisions),
        "bp": s.bp,
        "ratio": s.ratio,
        "hyp_len": s.sys_len,
        "ref_len": s.ref_len,
    }


def chrf_entry(metric, hyps, refs):
    s = metric.corpus_score(hyps, [refs])
    sig = str(metric.get_signature())
    return {
        "score": s.score,
        "signature": sig,
        "text": s.format(width=2, signature=sig),
        "sentence_scores": [metric.sentence_score(h, [r]).score for h, r in zip(hyps, refs)],
    }


def ter_entry(metric, hyps, refs):
    s = metric.corpus_score(hyps, [refs])
    sig = str(metric.get_signature())
    return {
        "score": s.score,
        "signature": sig,
        "text": s.format(width=2, signature=sig),
        "num_edits": s.num_edits,
        "ref_length": s.ref_length,
    }


def scores(hyps, refs):
    return {
        "BLEU": bleu_entry(BLEU(), hyps, refs),
        "chrF2": chrf_entry(CHRF(), hyps, refs),
        "chrF2++": chrf_entry(CHRF(word_order=2), hyps, refs),
        "TER": ter_entry(TER(), hyps, refs),
    }


def check_cli(ref_path, hyp_path, expected):
    """The `sacrebleu` command prints the same lines as the API above."""
    exe = os.path.join(os.path.dirname(sys.executable), "sacrebleu")
    runs = [
        (["-m", "bleu", "chrf", "ter"], ["BLEU", "chrF2", "TER"]),
        (["-m", "chrf", "--chrf-word-order", "2"], ["chrF2++"]),
    ]
    for args, names in runs:
        out = subprocess.run(
            [exe, ref_path, "-i", hyp_path, "-w", "2", "-f", "text", "-q", "--no-color", *args],
            check=True, capture_output=True, text=True,
        ).stdout.strip().split("\n")
        # The command right-aligns the metric names.
        out = [line.strip() for line in out]
        want = [expected[n]["text"] for n in names]
        assert out == want, (hyp_path, out, want)


def paired(hyps, hyps_b, refs):
    metrics = {
        "BLEU": BLEU(references=[refs]),
        "chrF2": CHRF(references=[refs]),
        "chrF2++": CHRF(word_order=2, references=[refs]),
        "TER": TER(references=[refs]),
    }
    _, results = PairedTest(
        [("baseline", hyps), ("system", hyps_b)], metrics, references=None,
        test_type="bs", n_samples=1000,
    )()
    out = {}
    for name, (bl, sy) in ((k, v) for k, v in results.items() if k != "System"):
        out[name] = {
            "baseline": {"score": bl.score, "mean": float(bl.mean), "ci": float(bl.ci)},
            "system": {"score": sy.score, "mean": float(sy.mean), "ci": float(sy.ci)},
            "p_value": sy.p_value,
        }
    return out


def exact_floats(v):
    """Floats as their shortest repr in strings: serde_json's default float
    parser may be off by an ulp, Rust's `str::parse::<f64>` never is."""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dict):
        return {k: exact_floats(x) for k, x in v.items()}
    if isinstance(v, list):
        return [exact_floats(x) for x in v]
    return v


def main():
    assert sacrebleu.__version__ == VERSION, sacrebleu.__version__
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/sacrebleu"
    os.makedirs(out_dir, exist_ok=True)
    expected = {"sacrebleu_version": VERSION, "cases": {}}
    for name, case in CASES.items():
        case_dir = os.path.join(out_dir, name)
        os.makedirs(case_dir, exist_ok=True)
        files = {}
        for key in ("hyp", "ref", "hyp_b"):
            text = case.get(f"{key}_text")
            if text is None and key in case:
                text = text_of(case[key])
            if text is None:
                continue
            path = os.path.join(case_dir, f"{key}.txt")
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            files[key] = path
        hyps, refs = read_lines(files["hyp"]), read_lines(files["ref"])
        assert len(hyps) == len(refs), name
        entry = {"segments": len(refs), **scores(hyps, refs)}
        check_cli(files["ref"], files["hyp"], entry)
        if "hyp_b" in files:
            hyps_b = read_lines(files["hyp_b"])
            entry["hyp_b"] = scores(hyps_b, refs)
            check_cli(files["ref"], files["hyp_b"], entry["hyp_b"])
            entry["paired_bs"] = paired(hyps, hyps_b, refs)
        expected["cases"][name] = entry
    with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(exact_floats(expected), f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
