"""Every real sample parses, checked against the sources' own ids; bad input is refused
with an ``InputError`` naming the file and place."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from analyzer.errors import AnalyzerError, InputError
from analyzer.limits import Limits
from analyzer.parsers import FORMATS, detect_format, input_units, iter_records, parse_bytes, parse_path
from analyzer.parsers.base import TimeParser
from analyzer.thread import FLAG_ORPHAN, Thread

NOW = datetime(2022, 5, 10, 12, 0, tzinfo=timezone.utc)
FOUR_MONTHS_AGO = datetime(2022, 1, 10, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def threads_dir(shared_data: Path) -> Path:
    return shared_data / "threads"


def one(threads: list[Thread]) -> Thread:
    assert len(threads) == 1
    return threads[0]


# ---------------------------------------------------------------------- every sample
EXPECTED_FORMATS = {
    "disqus": "disqus",
    "hackernews": "hackernews",
    "pasted": "pasted",
    "reddit": "reddit",
    "youtube": "youtube",
}


# Sample folders of the platforms read today. ../shared/data/threads also holds samples of
# platforms issue 14 adds (bluesky, discourse, mastodon, twitter, reddit-pushshift); they join
# this list with their parsers.
READ_TODAY = [
    "bluesky",
    "discourse",
    "disqus",
    "hackernews",
    "mastodon",
    "pasted",
    "reddit",
    "reddit-pushshift",
    "twitter",
    "twitter-rumoureval",
    "youtube",
]


def test_every_sample_parses(threads_dir: Path) -> None:
    units = input_units([threads_dir / name for name in READ_TODAY])
    names = {u.name for u in units}
    assert "reddit_3hahrw_morechildren.json" not in names  # merged into its thread
    assert not any("LICENSE" in n or "README" in n or n.endswith(".md") for n in names)
    assert len(units) >= 30
    total = 0
    for unit in units:
        threads = parse_path(unit, now=NOW)
        assert threads, unit
        for t in threads:
            assert t.source and t.format in FORMATS
            recs = list(t.records())
            assert len(recs) == len(t.comments) + (t.post is not None)
            total += len(recs)
            json.dumps(recs)  # records are JSON-ready
        if unit.is_file() and unit.parent.name in EXPECTED_FORMATS:
            assert detect_format(unit.read_bytes(), name=unit.name) == EXPECTED_FORMATS[unit.parent.name]
    assert total > 14_000


# ---------------------------------------------------------------------- pasted page
# (id, author, author_inferred, parent, depth, start of text)
PASTED = [
    ("c1", None, False, "post", 1, "Nest stop……USA."),
    ("c2", None, False, "post", 1, "Shades of things to come"),
    ("c3", "Namvet", True, "post", 1, "Let’s see. The Kazakhs"),
    ("c4", "Dan W.", False, "c3", 2, "The people who peacefully protested"),
    ("c5", None, False, "post", 1, "Any of us who are inclined to pray"),
    ("c6", "Max", True, "post", 1, "Putin is just putting his empire"),
    ("c7", "Dan W.", False, "c6", 2, "He may be trying to separate"),
    ("c8", "Phillip Ridenour", False, "c7", 3, "Read: Biden is in the White House"),
    ("c9", "Dan W.", False, "post", 1, "That’s true. Since 1945"),
    ("c10", None, False, "post", 1, "Russia, china and Iran"),
    ("c11", "Jack", True, "post", 1, "Ronald Reagan would speak about it"),
    ("c12", "RyansDad", True, "c11", 2, "Ha! This “Blackhouse”?"),
    ("c13", None, False, "c12", 3, "I took Jack’s comment"),
    ("c14", "Dan W.", False, "post", 1, "Russia (formerly U.S.S.R.) invades"),
    ("c15", None, False, "c14", 2, "Personally Dan, I see no vital"),
    ("c16", None, False, "c14", 2, "The latter would be good"),
    ("c17", None, False, "post", 1, "I bet the Democrat members"),
    ("c18", "BC1776", True, "post", 1, "Here we go, Putin going full Soviet."),
    ("c19", "No Name", False, "c18", 2, "No one, except U. S. citizens"),
    ("c20", None, False, "post", 1, "What century are we in?"),
    ("c21", None, False, "post", 1, "The price our allies pay"),
]


@pytest.fixture(scope="module")
def pasted(threads_dir: Path) -> Thread:
    return one(parse_path(threads_dir / "pasted" / "000_f069c0dac730660c.txt", now=NOW))


def test_pasted_article(pasted: Thread) -> None:
    post = pasted.post
    assert post is not None and post.id == "post" and post.kind == "post"
    assert post.author == "Ben Solis" and not post.author_inferred
    assert post.extra["title"] == "Russian Forces Enter Kazakhstan; Protesters Demand Withdrawal and Free Elections"
    assert post.extra["breadcrumb"] == "Instagram / Politics"
    assert post.extra["byline"] == "AMAC Exclusive – By Ben Solis"
    assert post.text.startswith("Russia Russian Kazakhstan putin in moscow")
    assert post.text.endswith(
        "Ben Solis is the pen name of an international affairs journalist, historian and researcher."
    )
    assert "Donate Now" not in post.text and "Newsletter" not in post.text and "Notify of" not in post.text
    assert pasted.extra["layout_profile"] == "wpdiscuz"


def test_pasted_every_comment(pasted: Thread) -> None:
    got = [
        (c.id, c.author, c.author_inferred, c.parent_id, c.depth)
        for c in pasted.traverse("preorder", include_post=False)
    ]
    by_id = {c.id: c for c in pasted.comments}
    expected_preorder = [
        "c1",
        "c2",
        "c3",
        "c4",
        "c5",
        "c6",
        "c7",
        "c8",
        "c9",
        "c10",
        "c11",
        "c12",
        "c13",
        "c14",
        "c15",
        "c16",
        "c17",
        "c18",
        "c19",
        "c20",
        "c21",
    ]
    assert [g[0] for g in got] == expected_preorder
    assert len(pasted.comments) == 21 and pasted.repairs == []
    for cid, author, inferred, parent, depth, start in PASTED:
        c = by_id[cid]
        assert (c.author, c.author_inferred, c.parent_id, c.depth) == (author, inferred, parent, depth), cid
        assert c.text.startswith(start), (cid, c.text[:60])
        assert c.created_at == FOUR_MONTHS_AGO and c.created_precision == "month"
        assert c.extra["relative_time"] == "4 months ago"
    for c in pasted.comments:
        for junk in ("Reply to", "4 months ago", "Would love your thoughts", "Notify of", "View all comments"):
            assert junk not in c.text, (c.id, junk)


def test_pasted_paragraphs_stay_together(pasted: Thread) -> None:
    c14 = pasted.get("c14")
    assert c14.text.split("\n\n") == [
        "Russia (formerly U.S.S.R.) invades Hungary, Czechoslovakia, Afganistan, Georgia, Ukraine, and Kazakhstan "
        "(not to mention many other so-called interventions) since WWII.",
        "What should we have done (or do now) militarily in each case ?",
        "Start WWIII ?",
        "Send troops and hope for the best ?",
        "Send hopes and prayers ?",
    ]
    assert pasted.get("c10").text.count("\n") == 1  # a line break inside one paragraph is kept
    assert pasted.get("c21").text == "The price our allies pay with Biden at the helm (or is he)?"
    assert pasted.get("c8").extra["reply_to_name"] == "Dan W."


def test_pasted_records(pasted: Thread) -> None:
    recs = list(pasted.records())
    assert recs[0]["kind"] == "post" and recs[0]["depth"] == 0
    c3 = next(r for r in recs if r["id"] == "c3")
    assert c3["author"] == "Namvet" and c3["author_inferred"] is True
    assert c3["created_at"] == "2022-01-10T12:00:00+00:00" and c3["extra"]["created_precision"] == "month"


PASTED_SMALL = """Site / News

A title

By Jo Writer

3 days ago

Body text.

Notify of
View all comments
Alice
2 hours ago

First.

5 minutes ago
Reply to  Bob

Nobody named Bob before, and nobody unknown before either.

an hour ago
Reply to  Alice

Answer to Alice.

Would love your thoughts, please comment.x
"""


def test_pasted_rules_edge_cases() -> None:
    t = one(parse_bytes(PASTED_SMALL.encode(), name="small.txt", now=NOW))
    c1, c2, c3 = t.comments
    assert (c1.author, c1.parent_id) == ("Alice", "post")
    # 'Reply to Bob': Bob unseen and no earlier unknown author: top-level, flagged
    assert c2.parent_id == "post" and "reply_target_unknown" in c2.flags and c2.author is None
    assert c3.parent_id == "c1"
    assert c2.created_precision == "minute" and c3.created_precision == "hour"
    assert c1.created_at == datetime(2022, 5, 10, 10, 0, tzinfo=timezone.utc)
    assert t.post is not None and t.post.author == "Jo Writer" and t.post.text == "Body text."
    assert t.post.created_precision == "day" and t.post.created_at == datetime(2022, 5, 7, 12, tzinfo=timezone.utc)


def test_pasted_without_layout_is_refused() -> None:
    with pytest.raises(InputError, match="note.txt.*(unknown format|no comment layout)"):
        parse_bytes(b"Just some notes.\nNothing else here.\n", name="note.txt")


# ---------------------------------------------------------------------- Reddit
def reddit_source(path: Path) -> tuple[dict[str, Any], dict[str, tuple[str, int]], int, int]:
    """Independent reading of the source: submission, {id: (parent, depth)}, sum of 'more'
    counts, deleted/removed bodies."""
    doc = json.loads(path.read_text())
    submission = doc[0]["data"]["children"][0]["data"]
    out: dict[str, tuple[str, int]] = {}
    more = gone = 0
    stack = [(c, 1) for c in doc[1]["data"]["children"]]
    while stack:
        thing, depth = stack.pop()
        if thing["kind"] == "more":
            more += thing["data"]["count"]
            continue
        d = thing["data"]
        out[d["id"]] = (d["parent_id"][3:], depth)
        gone += d["body"] in ("[deleted]", "[removed]")
        if d["replies"]:
            stack.extend((c, depth + 1) for c in d["replies"]["data"]["children"])
    return submission, out, more, gone


@pytest.mark.parametrize("name", ["2gmzqe", "3hahrw", "fo7p5b", "g9zfex", "jlbw48"])
def test_reddit_matches_source_ids(threads_dir: Path, name: str) -> None:
    path = threads_dir / "reddit" / f"reddit_{name}.json"
    submission, expected, more, gone = reddit_source(path)
    # parse the bytes alone: no 'load more' recording merged
    t = one(parse_bytes(path.read_bytes(), name=path.name))
    assert t.id == f"reddit:{name}" and t.post is not None and t.post.id == name
    assert t.post.extra["title"] == submission["title"] and t.post.author == submission["author"]
    assert {c.id: (c.parent_id, c.depth) for c in t.comments} == expected
    assert t.extra["not_loaded"] == more and t.post.extra["not_loaded"] == more
    assert sum(1 for c in t.comments if {"deleted", "removed"} & set(c.flags)) == gone
    assert all(c.text == "" for c in t.comments if "deleted" in c.flags)
    assert t.repairs == []


def test_reddit_counts_from_readme(threads_dir: Path) -> None:
    t = one(parse_bytes((threads_dir / "reddit" / "reddit_fo7p5b.json").read_bytes(), name="fo7p5b.json"))
    assert len(t.comments) == 492 and t.extra["not_loaded"] == 3748
    t = one(parse_bytes((threads_dir / "reddit" / "reddit_3hahrw.json").read_bytes(), name="3hahrw.json"))
    assert len(t.comments) == 476 and t.max_depth == 10


def test_reddit_morechildren_merged(threads_dir: Path) -> None:
    folder = threads_dir / "reddit"
    _, base, _, _ = reddit_source(folder / "reddit_3hahrw.json")
    recorded = json.loads((folder / "reddit_3hahrw_morechildren.json").read_text())
    loaded = {
        thing["data"]["id"]: thing["data"]["parent_id"][3:]
        for call in recorded
        for thing in call["response"]["json"]["data"]["things"]
    }
    t = one(parse_path(folder / "reddit_3hahrw.json"))  # the recording beside it is merged
    assert len(t.comments) == len(base) + len(loaded) == 476 + 57
    for cid, parent in loaded.items():
        assert t.get(cid).parent_id == parent
    assert t.get("cu5pjjs").depth == t.get("cu5pg2h").depth + 1
    assert t.extra["more"]["loaded_from_morechildren"] == 57
    assert t.extra["not_loaded"] == 0  # every counted stub was expanded
    assert t.extra["more"]["continue_thread_links"] == 6
    assert t.repairs == []


def test_reddit_morechildren_alone_is_explained(threads_dir: Path) -> None:
    path = threads_dir / "reddit" / "reddit_3hahrw_morechildren.json"
    with pytest.raises(InputError, match="load more"):
        parse_path(path)


# ---------------------------------------------------------------------- Hacker News
def hn_source(path: Path) -> dict[str, tuple[str, int, bool]]:
    doc = json.loads(path.read_text())
    out = {}
    stack = [(c, str(doc["id"])) for c in doc["comments"]]
    while stack:
        c, parent = stack.pop()
        out[str(c["id"])] = (parent, c["level"] + 1, bool(c.get("deleted")))
        stack.extend((k, str(c["id"])) for k in c["comments"])
    return out


@pytest.mark.parametrize("name", ["hn_1_y_combinator.json", "hn_25015967_biden_wins.json"])
def test_hackernews_nested_matches_source(threads_dir: Path, name: str) -> None:
    path = threads_dir / "hackernews" / name
    expected = hn_source(path)
    t = one(parse_path(path))
    assert {c.id: (c.parent_id, c.depth, "deleted" in c.flags) for c in t.comments} == expected
    assert all("<p>" not in c.text and "&#x27;" not in c.text for c in t.comments)


def test_hackernews_counts_and_text(threads_dir: Path) -> None:
    t = one(parse_path(threads_dir / "hackernews" / "hn_25015967_biden_wins.json"))
    # the data README's 1,227 authors count 'no author' (deleted comments) as one
    assert len(t.comments) == 2170 and len({c.author for c in t.comments}) == 1227
    assert t.post is not None and t.post.extra["title"].startswith("Biden wins White House")
    small = one(parse_path(threads_dir / "hackernews" / "hn_1_y_combinator.json"))
    assert small.get("15").text == '"the rising star of venture capital" -unknown VC eating lunch on SHR'
    assert small.get("234621").text.startswith(
        "I guess that news.yc is 1-indexed :)\n\nhttp://news.ycombinator.com/item?id=0"
    )
    assert small.post is not None and small.post.author == "pg" and len(small.comments) == 20


def test_hackernews_api_items() -> None:
    items = [
        {"id": 8863, "type": "story", "by": "dhouston", "title": "My YC app", "kids": [9224, 8917], "time": 1175714200},
        {"id": 8917, "type": "comment", "by": "a", "parent": 8863, "text": "second <i>kid</i>", "time": 1175714300},
        {"id": 9224, "type": "comment", "by": "b", "parent": 8863, "text": "first&#x27;s", "kids": [9300]},
        {"id": 9300, "type": "comment", "parent": 9224, "deleted": True},
        {"id": 9400, "type": "comment", "by": "c", "parent": 7000, "text": "story not in the file", "dead": True},
    ]
    threads = parse_bytes(json.dumps(items).encode(), name="items.json")
    assert detect_format(json.dumps(items).encode()) == "hackernews"
    by_id = {t.id: t for t in threads}
    story = by_id["hn:8863"]
    assert [c.id for c in story.traverse(include_post=False)] == ["9224", "9300", "8917"]  # kids order
    assert story.get("8917").text == "second kid" and story.get("9224").text == "first's"
    assert story.get("9300").flags == ["deleted"] and story.get("9300").depth == 2
    lone = by_id["hn:7000"]
    assert lone.post is None and lone.get("9400").parent_id is None and lone.get("9400").flags == ["dead"]


# ---------------------------------------------------------------------- YouTube
def test_youtube_thread_with_replies(threads_dir: Path) -> None:
    t = one(parse_path(threads_dir / "youtube" / "modeldata__comments__comment_thread_info.json"))
    top = "UgydxWWoeA7F1OdqypJ4AaABAg"
    assert t.id == "youtube:D-lhorsDlUQ"
    assert t.get(top).parent_id is None and t.get(top).author == "Loren Robilio"
    reply = t.get("UgydxWWoeA7F1OdqypJ4AaABAg.8wWQ3tdHcFx8xcDheui-qb")
    assert reply.parent_id == top and reply.depth == 2 and reply.author == "Dian Anggraeni"


def test_youtube_all_files_match_source(threads_dir: Path) -> None:
    for path in sorted((threads_dir / "youtube").glob("*.json")):
        doc = json.loads(path.read_text())
        expected: dict[str, str | None] = {}
        items = doc.get("items", [doc]) if isinstance(doc, dict) else []
        for item in items:
            snippet = item.get("snippet", item)
            if "topLevelComment" in snippet:
                top = snippet["topLevelComment"]
                expected[top["id"]] = None
                for r in item.get("replies", {}).get("comments", []):
                    expected[r["id"]] = top["id"]
            elif "id" in item:
                expected[item["id"]] = snippet.get("parentId")
        for r in doc.get("comments", []) if "comments" in doc else []:
            expected[r["id"]] = r["snippet"].get("parentId")
        threads = parse_path(path)
        got = {}
        for t in threads:
            for c in t.comments:
                got[c.id] = c.extra.get("missing_parent_id", c.parent_id)
        if expected:
            assert got == expected, path.name
        else:  # a bare snippet without an id
            assert sum(len(t) for t in threads) == 1


def test_youtube_not_loaded_replies(threads_dir: Path) -> None:
    threads = parse_path(threads_dir / "youtube" / "apidata__comment_threads__comment_threads_all_to_me.json")
    assert {t.id for t in threads} == {"youtube:JE8xdDp5B8Q", "youtube:channel:UCa-vrCLQHviTOVnEKDOdetQ"}
    assert sum(t.extra.get("not_loaded", 0) for t in threads) == 1


def test_youtube_orphan_replies_flagged(threads_dir: Path) -> None:
    t = one(parse_path(threads_dir / "youtube" / "apidata__comments__comments_by_parent_paged_1.json"))
    assert all(
        FLAG_ORPHAN in c.flags and c.extra["missing_parent_id"] == "Ugw5zYU6n9pmIgAZWvN4AaABAg" for c in t.comments
    )
    assert [r.kind for r in t.repairs] == [FLAG_ORPHAN]


# ---------------------------------------------------------------------- Disqus
def test_disqus_matches_source(threads_dir: Path) -> None:
    path = threads_dir / "disqus" / "seancorfield_disqus.xml"
    ns = {"d": "http://disqus.com", "dsq": "http://disqus.com/disqus-internals"}
    dsq_id = "{http://disqus.com/disqus-internals}id"
    root = ET.parse(path).getroot()
    posts = root.findall("d:post", ns)
    expected = {}
    for p in posts:
        parent = p.find("d:parent", ns)
        expected[p.get(dsq_id)] = (
            f"disqus:{p.find('d:thread', ns).get(dsq_id)}",
            parent.get(dsq_id) if parent is not None else None,
        )
    threads = parse_path(path)
    got = {}
    for t in threads:
        assert t.post is not None and t.post.extra["title"]
        for c in t.comments:
            got[c.id] = (t.id, c.parent_id if c.parent_id != t.post.id else None)
    assert got == expected and len(got) == 147
    assert sum(1 for t in threads for c in t.comments if "deleted" in c.flags) == 17
    assert all(not t.repairs for t in threads)
    replies = [c for t in threads for c in t.comments if c.depth > 1]
    assert len(replies) == 75


def test_disqus_refuses_dtd_and_bad_xml() -> None:
    bomb = b"""<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>
<disqus xmlns="http://disqus.com"><post>&b;</post></disqus>"""
    with pytest.raises(InputError, match="bomb.xml:line 1: XML with a DTD is refused"):
        parse_bytes(bomb, name="bomb.xml")
    broken = b'<?xml version="1.0"?>\n<disqus xmlns="http://disqus.com">\n<post>\n</disqus>\n'
    with pytest.raises(InputError, match=r"broken.xml:line 4 column \d+: invalid XML: mismatched tag"):
        parse_bytes(broken, name="broken.xml")
    with pytest.raises(InputError, match="not a Disqus export"):
        parse_bytes(b"<disqusx/>", name="x.xml", format="disqus")


# ---------------------------------------------------------------------- tables
def test_rumoureval_utterances_with_defaults(threads_dir: Path) -> None:
    path = threads_dir / "twitter-rumoureval" / "utterances.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    threads = parse_path(path)
    assert detect_format(path.read_bytes(), name=path.name) == "jsonl"
    assert len(threads) == 325
    nodes = {c.id: (t, c) for t in threads for c in (t.post, *t.comments) if c is not None}
    assert len(nodes) == len(rows) == 5568
    orphans = 0
    for row in rows:
        t, c = nodes[row["id"]]
        assert t.id == row["conversation_id"] and c.author == row["speaker"] and c.text == row["text"]
        assert c.created_at is not None and c.created_at.tzinfo is not None
        if row["reply_to"] is None:
            assert c.kind == "post" and c.depth == 0 and row["depth"] == 0
        elif FLAG_ORPHAN in c.flags:
            orphans += 1
            assert c.extra["missing_parent_id"] == row["reply_to"]
        else:
            assert c.parent_id == row["reply_to"] and c.depth == row["depth"]
    assert orphans == 2
    assert max(t.max_depth for t in threads) == 24
    first = nodes["552783667052167168"][1]
    assert first.created_at == datetime(2015, 1, 7, 11, 7, 51, tzinfo=timezone.utc)
    assert first.extra["stance_sdqc"] == "support"


def test_rumoureval_structure_and_raw_folders(threads_dir: Path) -> None:
    base = threads_dir / "twitter-rumoureval"
    structures = parse_path(base / "threads.jsonl")
    assert len(structures) == 325 and all(t.format == "pheme" for t in structures)
    first = json.loads((base / "threads.jsonl").read_text().splitlines()[0])
    t0 = structures[0]
    assert t0.id == first["conversation_id"] and t0.post is not None and "text_missing" in t0.post.flags
    assert t0.get("552789345628069888").depth == 3

    folder = base / "raw_example" / "552783667052167168"
    t = one(parse_path(folder))
    replies = {p.stem: json.loads(p.read_text()) for p in (folder / "replies").glob("*.json")}
    assert t.post is not None and t.post.id == "552783667052167168" and t.post.author == "euronews"
    assert {c.id: c.parent_id for c in t.comments} == {k: v["in_reply_to_status_id_str"] for k, v in replies.items()}
    assert t.extra["not_loaded"] == 2  # in structure.json, not in replies/


def test_csv_text_only_is_one_flat_thread() -> None:
    t = one(parse_bytes(b'text\nfirst comment\n"second, with a comma"\nthird\n', name="notes.csv"))
    assert t.id == "notes" and t.post is None
    assert [(c.id, c.text, c.parent_id, c.depth) for c in t.comments] == [
        ("1", "first comment", None, 1),
        ("2", "second, with a comma", None, 1),
        ("3", "third", None, 1),
    ]


def test_csv_with_custom_columns_and_tsv() -> None:
    data = (
        "msg_id\tin_thread\tanswer_to\twho\twhen\tmsg\tscore\n"
        "1\tT\t\tann\t2021-03-04\thello\t5\n"
        "2\tT\t1\tbob\t1614816000\thi ann\t\n"
    )
    cols = {
        "id": "msg_id",
        "thread": "in_thread",
        "parent": "answer_to",
        "author": "who",
        "time": "when",
        "text": "msg",
    }
    t = one(parse_bytes(data.encode(), name="x.tsv", columns=cols))
    a, b = t.comments
    assert (a.author, a.parent_id, a.extra, a.created_precision) == ("ann", None, {"score": "5"}, "day")
    assert (b.parent_id, b.depth, b.created_at) == ("1", 2, datetime(2021, 3, 4, tzinfo=timezone.utc))
    with pytest.raises(InputError, match="no column 'nope'"):
        parse_bytes(data.encode(), name="x.tsv", columns={"text": "nope"})
    with pytest.raises(InputError, match="no text column"):
        parse_bytes(b"a,b\n1,2\n", name="x.csv")


def test_jsonl_post_row_and_reddit_style_parents() -> None:
    rows = [
        {"id": "c1", "link_id": "s1", "parent_id": "s1", "body": "top"},
        {"id": "c2", "link_id": "s1", "parent_id": "c1", "body": "reply", "user": {"screen_name": "zed"}},
    ]
    data = "\n".join(json.dumps(r) for r in rows).encode()
    t = one(parse_bytes(data, name="dump.jsonl"))
    assert t.id == "s1" and t.post is None
    assert [(c.id, c.parent_id, c.depth) for c in t.comments] == [("c1", None, 1), ("c2", "c1", 2)]
    assert t.get("c2").author == "zed" and t.repairs == []
    arr = one(parse_bytes(json.dumps([{"text": "a"}, {"text": "b"}]).encode(), name="arr.json"))
    assert [c.text for c in arr.comments] == ["a", "b"]


# ---------------------------------------------------------------------- bad input
BAD = [
    (b"", "empty.json", r"empty.json: the file is empty"),
    (b"  \n\n", "blank.csv", r"blank.csv: the file is empty"),
    (b"\x00\x01\x02binary\x00", "blob.bin", r"blob.bin: this is a binary file"),
    (b"text\nok\ncaf\xe9\n", "latin1.csv", r"latin1.csv:line 3: not UTF-8 text"),
    (b'{"id": 1, "text": "a"}\n{"id": 2, "text": \n', "broken.jsonl", r"broken.jsonl:line 2: invalid JSON"),
    (b'{"id": 1, "text": "a"}\n[1, 2]\n', "list.jsonl", r"list.jsonl:line 2: expected a JSON object"),
    (b'[{"kind": "Listing", "data": ', "trunc.json", r"trunc.json:line 1 column \d+: invalid JSON"),
    (b'{"weird": true}', "odd.json", r"odd.json: JSON of an unknown shape"),
    (b"<html><body>hi</body></html>", "page.html", r"page.html: this is an HTML page"),
    (b"[" * 100_000 + b"]" * 100_000, "deep.json", r"deep.json: JSON of an unknown shape"),  # read, then refused
    (
        b'{"text": "a", "t": ' + b"[" * 50_000 + b"]" * 50_000 + b"}\n{}\n",
        "deep.jsonl",
        r"deep.jsonl:line 1: JSON nested too deeply",
    ),
]


@pytest.mark.parametrize("data,name,message", BAD, ids=[b[1] for b in BAD])
def test_bad_input_is_one_line_input_error(data: bytes, name: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_bytes(data, name=name)
    assert "\n" not in str(info.value) and info.value.__cause__ is None


def test_unknown_format_name() -> None:
    with pytest.raises(InputError, match="unknown format 'word'"):
        parse_bytes(b"text\nx\n", name="a.csv", format="word")


def test_missing_file_and_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.json: no such file"):
        parse_path(tmp_path / "nope.json")
    (tmp_path / "a.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="a.csv"):
        parse_path(tmp_path)  # a folder stops at its first bad file


def test_oversize_file_refused_with_limit_named(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"text\n" + b"x" * 2000 + b"\n")
    with pytest.raises(
        InputError, match=r"big.csv: the file is 2.0 kB, over the 1.0 kB limit.*THREAD_ANALYZER_MAX_FILE_BYTES"
    ):
        parse_path(path, limits=Limits(max_file_bytes=1000))
    with pytest.raises(InputError, match="over the 1.0 kB limit"):
        parse_bytes(path.read_bytes(), name="big.csv", limits=Limits(max_file_bytes=1000))


def test_limits_truncate_and_refuse() -> None:
    t = one(parse_bytes(b"text\n" + b"y" * 50 + b"\nshort\n", name="t.csv", limits=Limits(max_comment_chars=10)))
    long, short = t.comments
    assert long.text == "y" * 10 and long.flags == ["truncated"] and long.extra["original_length"] == 50
    assert short.flags == [] and "original_length" not in short.extra
    with pytest.raises(InputError, match=r"thread t has 2 comments, over the limit of 1.*MAX_COMMENTS_PER_THREAD"):
        parse_bytes(b"text\na\nb\n", name="t.csv", limits=Limits(max_comments_per_thread=1))


def test_limits_from_env() -> None:
    env = {"THREAD_ANALYZER_MAX_FILE_BYTES": "1_000", "THREAD_ANALYZER_MAX_COMMENT_CHARS": " 7 "}
    assert Limits.from_env(env) == Limits(max_file_bytes=1000, max_comment_chars=7)
    assert Limits.from_env({}) == Limits()
    with pytest.raises(AnalyzerError, match="THREAD_ANALYZER_MAX_COMMENTS_PER_THREAD must be a positive"):
        Limits.from_env({"THREAD_ANALYZER_MAX_COMMENTS_PER_THREAD": "lots"})


# ---------------------------------------------------------------------- times
@pytest.mark.parametrize(
    "value,expected,precision",
    [
        ("4 months ago", datetime(2022, 1, 10, 12, tzinfo=timezone.utc), "month"),
        ("an hour ago", datetime(2022, 5, 10, 11, tzinfo=timezone.utc), "hour"),
        ("2 weeks ago", datetime(2022, 4, 26, 12, tzinfo=timezone.utc), "week"),
        ("1 year ago", datetime(2021, 5, 10, 12, tzinfo=timezone.utc), "year"),
        ("yesterday", datetime(2022, 5, 9, 12, tzinfo=timezone.utc), "day"),
        ("just now", NOW, "minute"),
        ("2019-06-23T02:49:00.000Z", datetime(2019, 6, 23, 2, 49, tzinfo=timezone.utc), None),
        ("2019-06-23 02:49", datetime(2019, 6, 23, 2, 49, tzinfo=timezone.utc), None),
        ("2019-06-23", datetime(2019, 6, 23, tzinfo=timezone.utc), "day"),
        ("Wed Jan 07 11:07:51 +0000 2015", datetime(2015, 1, 7, 11, 7, 51, tzinfo=timezone.utc), None),
        (1410935671, datetime(2014, 9, 17, 6, 34, 31, tzinfo=timezone.utc), None),
        ("1410935671000", datetime(2014, 9, 17, 6, 34, 31, tzinfo=timezone.utc), None),
        ("June 5, 2021 3:10 pm", datetime(2021, 6, 5, 15, 10, tzinfo=timezone.utc), None),
        ("not a time", None, None),
        (None, None, None),
    ],
)
def test_time_parsing(value: Any, expected: datetime | None, precision: str | None) -> None:
    assert TimeParser(NOW)(value) == (expected, precision)


def test_iter_records_over_paths(threads_dir: Path) -> None:
    recs = list(iter_records([threads_dir / "reddit" / "reddit_2gmzqe.json", threads_dir / "pasted"], now=NOW))
    assert [r["kind"] for r in recs].count("post") == 2 and len(recs) == 3 + 22
