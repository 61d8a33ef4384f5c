"""Every crash the fuzzers (and the hostile corpus) found, kept as a regression test, plus
quick runs of the fuzzing harness itself: the hypothesis strategies for every parser, the
atheris target for every parser, and the benchmark script.

Found by ``benchmarks/fuzz_parsers.py`` (atheris, and hypothesis for the first) and fixed in the parsers:

- Hacker News API items whose ``type`` is a list or an object: TypeError (unhashable) when
  testing it against the story types.
- Disqus: an XML declaration naming an unknown encoding raised LookupError from expat.
- CSV: a time that is a superscript digit ('¹' passes str.isdigit, float() refuses it): ValueError.
- JSON Lines: a time whose zone is out of range ('+3000'), which dateutil accepts: ValueError
  when the time was written out.
- JSON Lines: a time with a 32-digit minutes field made dateutil raise decimal.InvalidOperation
  (an ArithmeticError, not a ValueError).
- Disqus, Hacker News, YouTube: comment HTML with a marked section Python's HTML parser gives
  up on ('<![GDATA[', '<![ b') raised bs4's ParserRejectedMarkup.
- CSV, JSON Lines, YouTube: a slightly broken time ('2019-63-28T11:33:46.000Z', 'Wed Jan 07
  11A:07:51 +0000 2015', ' ago') fell through to dateparser guessing among all its languages,
  one parser built per value: a second or more each (libFuzzer timeouts at 30 s).

Found by the hostile corpus (``tests/test_hostile.py``) and fixed:

- a lone surrogate (JSON '\\ud83d') in a comment crashed scoring (UnicodeEncodeError); in ids,
  two ids differing only there crashed the import (IntegrityError; in ``test_hostile.py``);
- Hacker News API items in a parent loop, and Reddit and HN duplicate ids, were repaired
  silently instead of being reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # the fuzzing harness (`fuzz/`) lives at the repository root
    sys.path.insert(0, str(REPO))

from fuzz.contract import TARGETS, check  # noqa: E402
from fuzz.seeds import seeds  # noqa: E402
from fuzz.strategies import inputs  # noqa: E402

pytest_plugins = ["conftest_models"]

# ---------------------------------------------------------------------- inputs that crashed
DISQUS_UNKNOWN_ENCODING = (
    b'<?xml version="1.0" encoding="etf-8"?>\n<disqus xmlns="http://disqus.com" '
    b'xmlns:dsq="http://disqus.com/disqu\x9b-internals">\n<thread dsq:id="1"><title>T</title></thread>\n'
    b'<post dsq:id="2"><message><![CDATA[<p>hi</p>]]></message><thread dsq:id="1" /></post>\n</disqus>\n'
)
CSV_BROKEN_TIME = (
    b'id\tparent_id\tthread_id\tauead_id\tauthor\tcreated_at\ttext\n1\t\tt\tann\t2024-01-01T00:00:00Z\t"hello\t '
    b'""world"""\n2\t1\tt\tbob\t1700000000\treply\n3\t9\tt\t ago\t"multi\nline"\n'
)
JSONL_BROKEN_TIME = (
    json.dumps(
        {
            "id": "552783667052167168",
            "conversation_id": "552783667052167168",
            "reply_to": None,
            "speaker": "euronews",
            "timestamp": "Wed Jan 07 11A:07:51 +0000 2015",
            "text": "France: 10 people dead after shooting at HQ",
        }
    ).encode()
    + b"\n"
    + json.dumps(
        {"id": "2", "conversation_id": "552783667052167168", "reply_to": "552783667052167168", "text": "reply"}
    ).encode()
    + b"\n"
)
YOUTUBE_BROKEN_TIME = json.dumps(
    {
        "authorDisplayName": "Oeurn Ravuth",
        "authorChannelId": {"value": "UCqPku3cxM-ED3poX8YtGqeg"},
        "videoId": "wtLJPvx7-ys",
        "textDisplay": "This video is awesome! GOOD",
        "textOriginal": "This video is awesome! GOOD",
        "likeCount": 0,
        "publishedAt": "2019-63-28T11:33:46.000Z",
        "updatedAt": "2019-03-28T11:33:46.000Z",
    },
    indent=2,
).encode()

HN_LIST_AS_TYPE = (
    b'[{"id": 1, "typd": "story", "by": "pg", "title": "S", "kids": [1], "time": 1600000000}, '
    b'{"id": 3, "type": [3], "time": 1600000001}, {"id": 3, "type": "commenz", "dead": true}]'
)
HN_OBJECT_AS_TYPE = b'[{"id": 1, "type": {"story": 1}, "kids": [2]}, {"id": 2, "type": "comment", "parent": 1}]'

DISQUS_MARKED_SECTION = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
    b'xmlns:dsq="http://disqus.com/disqus-internals">\n<thread dsq:id="1"><title>T</title></thread>\n'
    b'<post dsq:id="2"><message><![CDATA[<p>hi <![GDATA[<p>x</p>]]></message><thread dsq:id="1" /></post>\n</disqus>\n'
)
HN_MARKED_SECTION = json.dumps(
    {"id": 1, "title": "T", "comments": [{"id": 2, "level": 0, "user": "u", "content": "a <![ b <p>c"}]}
).encode()

CSV_SUPERSCRIPT_TIME = "text,time\nhello,\u00b9\nworld,\u0663\u0660\n".encode()
JSONL_ZONE_OUT_OF_RANGE = (
    b'[{"text": "a"}, {"text": "b", "speaker": "n", "timestamp": "Wed Jan 07 11:18:0M +3000 2015"}, '
    b'{"text": "c", "timestamp": "2015-01-07 11:18 -2500"}]'
)

JSONL_LONG_MINUTES = json.dumps(
    {"id": "1", "text": "x", "timestamp": "Wed Jan 07 11:" + "1" * 30 + "4:38 +0000 2015"}
).encode()

CRASHES = [
    ("jsonl", JSONL_LONG_MINUTES),
    ("csv", CSV_SUPERSCRIPT_TIME),
    ("jsonl", JSONL_ZONE_OUT_OF_RANGE),
    ("disqus", DISQUS_MARKED_SECTION),
    ("hackernews", HN_MARKED_SECTION),
    ("hackernews", HN_LIST_AS_TYPE),
    ("auto", HN_LIST_AS_TYPE),
    ("hackernews", HN_OBJECT_AS_TYPE),
    ("disqus", DISQUS_UNKNOWN_ENCODING),
    ("auto", DISQUS_UNKNOWN_ENCODING),
    ("csv", CSV_BROKEN_TIME),
    ("jsonl", JSONL_BROKEN_TIME),
    ("youtube", YOUTUBE_BROKEN_TIME),
    ("auto", YOUTUBE_BROKEN_TIME),
]


@pytest.mark.parametrize("target,data", CRASHES, ids=[f"{t}-{i}" for i, (t, _) in enumerate(CRASHES)])
def test_inputs_that_crashed_now_meet_the_contract(target: str, data: bytes) -> None:
    start = time.monotonic()
    check(data, target)
    assert time.monotonic() - start < 30, "as slow as the timeout the fuzzer reported"


def test_times_python_cannot_represent_are_left_empty() -> None:
    from analyzer.parsers import parse_bytes

    (thread,) = parse_bytes(JSONL_ZONE_OUT_OF_RANGE, name="z.json")
    assert [c.created_at for c in thread.comments] == [None, None, None]
    assert [c.extra.get("created_raw") for c in thread.comments][1:] == [
        "Wed Jan 07 11:18:0M +3000 2015",
        "2015-01-07 11:18 -2500",
    ]
    (thread,) = parse_bytes(CSV_SUPERSCRIPT_TIME, name="s.csv")
    assert thread.comments[1].created_at is not None and thread.comments[1].created_at.year == 1970  # Arabic-Indic 30


def test_html_the_html_parser_rejects_is_read_as_text() -> None:
    from analyzer.parsers import parse_bytes
    from analyzer.parsers.base import html_to_text

    assert html_to_text("a <![ b <p>c &amp; d") == "a c & d"
    (thread,) = parse_bytes(HN_MARKED_SECTION, name="hn.json")
    assert thread.comments[0].text == "a c"


def test_unknown_xml_encoding_is_a_one_line_input_error() -> None:
    from analyzer.errors import InputError
    from analyzer.parsers import parse_bytes

    with pytest.raises(InputError, match=r"x\.xml:line 1: invalid XML: unknown encoding: etf-8") as info:
        parse_bytes(DISQUS_UNKNOWN_ENCODING, name="x.xml")
    assert info.value.__cause__ is None


def test_a_column_of_unreadable_times_costs_milliseconds_each() -> None:
    """300 distinct broken times (each one reaches dateparser): seconds, not minutes."""
    from analyzer.parsers import parse_bytes

    rows = "".join(f"{i},2019-{13 + i % 80}-28T11:{i % 60:02d}:46Z x{i},text {i}\n" for i in range(300))
    start = time.monotonic()
    (thread,) = parse_bytes(("id,created_at,text\n" + rows).encode(), name="times.csv")
    assert time.monotonic() - start < 30
    assert all(c.created_at is None and c.extra["created_raw"] for c in thread.comments)
    good = parse_bytes(b"id,created_at,text\n1,March 3rd 2021 at 5pm,x\n2,3 weeks ago,y\n", name="ok.csv")[0]
    assert [c.created_at is not None for c in good.comments] == [True, True]  # dateparser still reads English


def test_a_lone_surrogate_is_replaced_and_the_comment_can_be_scored(toxicity_model_dir: Path) -> None:
    from analyzer.parsers import parse_bytes
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.scorer import Scorer

    data = b'{"id": "a", "text": "half \\ud83d a pair \\ud83d\\ude00", "author": "x\\udc00"}\n'
    (thread,) = parse_bytes(data, name="s.jsonl")
    (c,) = thread.comments
    assert c.text == "half \ufffd a pair \U0001f600" and c.author == "x\ufffd"
    (scored,) = Scorer([Classifier.from_pretrained(toxicity_model_dir)]).score_records(thread.records())
    assert scored["scores"] and all(0 <= v <= 1 for v in scored["scores"].values())


def test_a_lone_surrogate_given_straight_to_the_engine_is_scored_and_explained(toxicity_model_dir: Path) -> None:
    """Texts that never went through a parser (a library caller, a Parquet column) reach the
    Scorer, the cache key and ``explain`` as they are: half a character must not crash them."""
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.scorer import Scorer

    clf = Classifier.from_pretrained(toxicity_model_dir)
    half, whole = Scorer([clf]).score_texts(["half \ud83d here", "half \ufffd here"])
    assert half.scores and half.scores == whole.scores
    from analyzer.scoring.explain import explain

    words = explain(clf, "half \ud83d here", clf.labels[0], method="occlusion")
    assert [w for w, _ in words] == ["half", "\ufffd", "here"]


def test_lone_surrogates_in_platform_extras_are_replaced_so_parse_output_is_utf8(tmp_path: Path) -> None:
    """Extras keep platform fields as JSON gives them; a half character there made the
    output of ``analyzer parse`` invalid UTF-8."""
    import json as _json

    from click.testing import CliRunner

    from analyzer.cli import cli
    from analyzer.parsers import parse_bytes

    data = b'{"id": "a", "text": "t", "flair": "x\\ud83d", "meta": {"k\\udc00": ["\\ud800", 1]}}\n'
    (thread,) = parse_bytes(data, name="s.jsonl")
    extra = thread.comments[0].extra
    assert "\ud83d" not in _json.dumps(extra, ensure_ascii=False) and "x\ufffd" in _json.dumps(
        extra, ensure_ascii=False
    )
    src = tmp_path / "s.jsonl"
    src.write_bytes(data)
    result = CliRunner().invoke(cli, ["parse", str(src)])
    assert result.exit_code == 0, result.output
    result.stdout_bytes.decode("utf-8")  # strict: valid UTF-8


# ---------------------------------------------------------------------- the harness itself
@pytest.mark.parametrize("target", TARGETS)
def test_every_parser_meets_its_contract_on_generated_inputs(target: str) -> None:
    """Property-based fuzzing of each parser (``fuzz.strategies``): random bytes, documents
    shaped like the format, mutated seeds. ``THREAD_ANALYZER_FUZZ_EXAMPLES`` raises the count."""

    @settings(
        max_examples=int(os.environ.get("THREAD_ANALYZER_FUZZ_EXAMPLES", "40")),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(inputs(target))
    def run(data: bytes) -> None:
        check(data, target)

    run()


def test_the_contract_catches_broken_threads() -> None:
    """Trees built without ``Thread.build`` (which would repair them) fail the contract."""
    from analyzer.thread import Comment, Thread
    from fuzz.contract import ContractViolation, check_thread

    def tree(*comments: Comment) -> Thread:
        return Thread("t", None, list(comments))

    check_thread(tree(Comment("a", "x", depth=1), Comment("b", "y", parent_id="a", depth=2)))
    broken = {
        "duplicate": tree(Comment("a", "x", depth=1), Comment("a", "y", depth=1)),
        "missing parent": tree(Comment("a", "x", parent_id="ghost", depth=1)),
        "wrong depth": tree(Comment("a", "x", depth=1), Comment("b", "y", parent_id="a", depth=5)),
        "cycle": tree(Comment("a", "x", parent_id="b", depth=2), Comment("b", "y", parent_id="a", depth=3)),
        "surrogate": tree(Comment("a", "half \ud83d", depth=1)),
    }
    missed = []
    for name, thread in broken.items():
        try:
            check_thread(thread)
        except ContractViolation:
            continue
        missed.append(name)
    assert missed == []


@pytest.mark.parametrize("target", [t for t in TARGETS if t != "auto"])
def test_the_seeds_parse_cleanly(target: str) -> None:
    """The fuzzers start from inputs each parser accepts (else mutations never get deep)."""
    assert all(check(data, target) for data in seeds(target, shared=None))


@pytest.mark.slow
def test_the_atheris_target_runs_for_every_parser(tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    for target in TARGETS:
        run = subprocess.run(
            [
                sys.executable,
                str(REPO / "fuzz" / "fuzz_parsers.py"),
                target,
                "-runs=150",
                "-max_len=4096",
                f"-artifact_prefix={tmp_path}/",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert run.returncode == 0, f"{target}: {run.stderr[-3000:]}"
        assert "Done 150 runs" in run.stderr, run.stderr[-2000:]
    bad = subprocess.run(
        [sys.executable, str(REPO / "fuzz" / "fuzz_parsers.py"), "nope"], capture_output=True, text=True, timeout=300
    )
    assert bad.returncode != 0 and "FORMAT:" in bad.stderr


@pytest.mark.slow
def test_the_fuzz_benchmark_tabulates_inputs_and_crashes(tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "fuzz_parsers.py"),
            "--seconds",
            "3",
            "--targets",
            "csv,hackernews",
            "--artifacts",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    table = run.stdout.splitlines()
    assert table[0].split() == ["parser", "engine", "seconds", "inputs", "tried", "crashes", "found"]
    body = [line.split() for line in table if line.split()[:1] in (["csv"], ["hackernews"])]
    assert {(row[0], row[1]) for row in body} == {
        (t, e) for t in ("csv", "hackernews") for e in ("hypothesis", "atheris")
    }
    assert all(int(row[3].replace(",", "")) > 0 and row[4] == "0" for row in body)
    assert list(tmp_path.iterdir()) == []  # no crash saved
