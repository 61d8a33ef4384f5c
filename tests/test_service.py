"""``analyzer serve`` as its clients see it: a real server process on loopback with the
default models and a real store, called through Google's own API client and raw HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from service_kit import Server, start_server, stop

TOXIC = "You are a worthless idiot and everyone here hates you."
KIND = "Thank you so much, this was a lovely and helpful answer."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    tmp = tmp_path_factory.mktemp("serve")
    srv = start_server(["--db", str(tmp / "api.db")], tmp / "serve.log")
    srv.db = tmp / "api.db"  # type: ignore[attr-defined]
    yield srv
    assert stop(srv.proc) in (0, -15), srv.log_text()  # uvicorn re-raises SIGTERM after draining


def analyze(server: Server, body: object, **kw: object) -> httpx.Response:
    with server.client() as c:
        return c.post("/v1alpha1/comments:analyze", json=body, **kw)  # type: ignore[arg-type]


def error_of(r: httpx.Response, code: int) -> str:
    assert r.status_code == code, r.text
    err = r.json()["error"]
    assert err["code"] == code and isinstance(err["message"], str) and err["status"]
    return str(err["message"])


# ---------------------------------------------------------------------- Google's client
def test_google_api_client_flow(server: Server) -> None:
    """Exactly what a Perspective integration does, with only the URL changed."""
    from googleapiclient import discovery
    from googleapiclient.errors import HttpError

    client = discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey="any-key",
        discoveryServiceUrl=f"{server.url}/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        cache_discovery=False,
    )
    text = f"{TOXIC} {KIND}"
    response = (
        client.comments()
        .analyze(
            body={
                "comment": {"text": text},
                "requestedAttributes": {"TOXICITY": {}, "INSULT": {"scoreThreshold": 0.99999}},
                "spanAnnotations": True,
                "clientToken": "google-client",
                "communityId": "google-flow",
            }
        )
        .execute()
    )
    tox = response["attributeScores"]["TOXICITY"]
    assert tox["summaryScore"]["type"] == "PROBABILITY" and tox["summaryScore"]["value"] > 0.5
    spans = tox["spanScores"]
    assert [(s["begin"], s["end"]) for s in spans] == [(0, len(TOXIC)), (len(TOXIC) + 1, len(text))]
    assert spans[0]["score"]["value"] > 0.5 > spans[1]["score"]["value"]
    assert "INSULT" not in response["attributeScores"]  # under its scoreThreshold
    assert response["clientToken"] == "google-client" and response["languages"] == ["en"]

    ack = (
        client.comments()
        .suggestscore(
            body={
                "comment": {"text": text},
                "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.0}}},
                "communityId": "google-flow",
                "clientToken": "fix-1",
            }
        )
        .execute()
    )
    assert ack["clientToken"] == "fix-1"

    with pytest.raises(HttpError) as info:
        client.comments().analyze(
            body={"comment": {"text": "hello"}, "requestedAttributes": {"FLIRTATION": {}}}
        ).execute()
    assert info.value.resp.status == 400
    assert "FLIRTATION" in str(info.value) and "TOXICITY" in str(info.value)  # names what is available


def test_discovery_document_points_here(server: Server) -> None:
    with server.client() as c:
        doc = c.get("/$discovery/rest", params={"version": "v1alpha1"}).json()
        assert doc["rootUrl"] == server.url + "/"
        assert set(doc["resources"]["comments"]["methods"]) == {"analyze", "suggestscore"}
        assert error_of(c.get("/$discovery/rest", params={"version": "v9"}), 404)


# ---------------------------------------------------------------------- raw HTTP, field by field
def test_plain_and_html_comments_score_the_same_text(server: Server) -> None:
    attrs = {"TOXICITY": {}}
    plain = analyze(server, {"comment": {"text": TOXIC}, "requestedAttributes": attrs, "doNotStore": True}).json()
    html = analyze(
        server,
        {"comment": {"text": f"<p>{TOXIC}</p>", "type": "HTML"}, "requestedAttributes": attrs, "doNotStore": True},
    ).json()
    assert plain["attributeScores"]["TOXICITY"]["summaryScore"] == html["attributeScores"]["TOXICITY"]["summaryScore"]
    assert "clientToken" not in plain  # echoed only when sent


def test_every_attribute_the_models_give_and_sentiment(server: Server) -> None:
    with server.client() as c:
        available = c.get("/v1/models").json()["attributes"]
    assert {"TOXICITY", "INSULT", "IDENTITY_ATTACK"} <= set(available)
    body = {"comment": {"text": KIND}, "requestedAttributes": {a: {} for a in available}, "doNotStore": True}
    scores = analyze(server, body).json()["attributeScores"]
    assert set(scores) == set(available)
    assert scores["POSITIVE"]["summaryScore"]["value"] > scores["NEGATIVE"]["summaryScore"]["value"]
    experimental = analyze(
        server, {"comment": {"text": KIND}, "requestedAttributes": {"TOXICITY_EXPERIMENTAL": {}}, "doNotStore": True}
    ).json()
    assert (
        experimental["attributeScores"]["TOXICITY_EXPERIMENTAL"]["summaryScore"] == scores["TOXICITY"]["summaryScore"]
    )


def test_span_offsets_count_utf16_code_units(server: Server) -> None:
    text = "Great job 😀! You are an idiot."
    body = {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}, "spanAnnotations": True}
    spans = analyze(server, {**body, "doNotStore": True}).json()["attributeScores"]["TOXICITY"]["spanScores"]
    units = len(text.encode("utf-16-le")) // 2
    assert spans[0]["begin"] == 0 and spans[0]["end"] == len("Great job 😀!") + 1  # the emoji is 2 units
    assert spans[-1]["end"] == units


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"requestedAttributes": {"TOXICITY": {}}}, "Comment must be specified"),
        ({"comment": {"text": ""}, "requestedAttributes": {"TOXICITY": {}}}, "too short"),
        ({"comment": {"text": "x" * 20_481}, "requestedAttributes": {"TOXICITY": {}}}, "too long"),
        ({"comment": {"text": "hi"}, "requestedAttributes": {}}, "Attributes must be specified"),
        (
            {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreType": "STD_DEV_ALPHA"}}},
            "Score type",
        ),
        ({"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 2}}}, "scoreThreshold"),
        ({"comment": {"text": "hi"}, "requestedAttributes": {"THREAT": {}}}, "available: TOXICITY"),
        ({"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["de"]}, "languages: de"),
        ({"comment": {"text": "hi", "type": "MARKDOWN"}, "requestedAttributes": {"TOXICITY": {}}}, "comment.type"),
        ({"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "colour": 1}, 'Unknown name "colour"'),
        ({"comment": {"text": 5}, "requestedAttributes": {"TOXICITY": {}}}, "comment.text"),
        ({"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "doNotStore": "yes"}, "doNotStore"),
        (
            {
                "comment": {"text": "hi"},
                "requestedAttributes": {"TOXICITY": {}},
                "context": {"entries": [{"text": "a"}], "articleAndParentComment": {"article": {"text": "b"}}},
            },
            "at most one",
        ),
        ([1, 2], "expected an object"),
    ],
)
def test_bad_requests_get_googles_400(server: Server, body: object, needle: str) -> None:
    assert needle in error_of(analyze(server, body), 400)


def test_context_and_languages_are_accepted(server: Server) -> None:
    for context in (
        {"entries": [{"text": "What do you think of the new policy?"}]},
        {"articleAndParentComment": {"article": {"text": "Policy news"}, "parentComment": {"text": "I like it."}}},
    ):
        r = analyze(
            server,
            {
                "comment": {"text": "It is fine."},
                "requestedAttributes": {"TOXICITY": {}},
                "context": context,
                "languages": ["en-US"],
                "sessionId": "s-1",
                "doNotStore": True,
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["languages"] == ["en"]


# ---------------------------------------------------------------------- hostile bytes
@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", 400),
        (b'{"comment": {"text": "\xff\xfe"}}', 400),
        (b"[" * 50_000 + b"]" * 50_000, 400),
        (b'{"comment": {"text": "a"}, "requestedAttributes": {"TOXICITY": {}}, "x": NaN}', 400),
        (b"x" * 1_100_000, 413),
    ],
)
def test_hostile_bodies_are_4xx_in_googles_shape(server: Server, raw: bytes, code: int) -> None:
    with server.client() as c:
        r = c.post("/v1alpha1/comments:analyze", content=raw, headers={"content-type": "application/json"})
    error_of(r, code)


def test_lone_surrogates_are_replaced_not_crashed_on(server: Server) -> None:
    raw = b'{"comment": {"text": "bad \\ud800 text"}, "requestedAttributes": {"TOXICITY": {}}, "clientToken": "\\udc00", "doNotStore": true}'
    with server.client() as c:
        r = c.post("/v1alpha1/comments:analyze", content=raw)
    assert r.status_code == 200 and r.json()["clientToken"] == "\ufffd"


def test_unknown_route_and_method(server: Server) -> None:
    with server.client() as c:
        error_of(c.get("/v1alpha1/comments:analyze"), 405)
        error_of(c.post("/v1alpha1/comments:nothing", json={}), 404)


# ---------------------------------------------------------------------- our own API
def test_native_score_batch_with_threads_and_limits(server: Server) -> None:
    with server.client() as c:
        r = c.post(
            "/v1/comments:score",
            json={
                "comments": [
                    {
                        "id": "n1",
                        "thread_id": "native",
                        "text": KIND,
                        "author": "ann",
                        "created_at": "2026-12-01T10:00:00Z",
                    },
                    {"id": "n2", "thread_id": "native", "parent_id": "n1", "text": TOXIC, "author": "bob"},
                ]
            },
        )
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["stored"] is True
        first, second = out["comments"]
        assert first["id"] == "n1" and "toxicity" in first["scores"] and "positive" in first["scores"]
        assert "toxicity" in second["flagged"] and "toxicity" not in first["flagged"]
        assert all("@" in v for v in second["models"].values()) and second["windowed"] is False
        # a later call's reply keeps its stored parent
        r = c.post(
            "/v1/comments:score",
            json={"comments": [{"id": "n3", "thread_id": "native", "parent_id": "n2", "text": "why?"}]},
        )
        assert r.status_code == 200
        too_many = {"comments": [{"text": "x"}] * 1001}
        assert "limit is 1000" in error_of(c.post("/v1/comments:score", json=too_many), 400)
        assert "comments" in error_of(c.post("/v1/comments:score", json={"comments": "x"}), 400)
        assert "extra" in error_of(c.post("/v1/comments:score", json={"comments": [], "oops": 1}), 400).lower()

    from analyzer.store import Store

    with Store.open(server.db, create=False) as store:  # type: ignore[attr-defined]
        native = store.load_thread("api:native")
    parents = {c.id: (c.parent_id, c.depth) for c in native.thread.comments}
    assert parents["n1"] == (None, 1) and parents["n2"] == ("n1", 2) and parents["n3"] == ("n2", 3)  # top level = 1
    assert {c.id: c.author for c in native.thread.comments}["n2"] == "bob"


def test_native_thread_analysis_from_a_file(server: Server, shared_data: Path) -> None:
    sample = next((shared_data / "threads" / "hackernews").glob("*.json"))
    with server.client() as c:
        r = c.post(
            "/v1/threads:analyze",
            json={"content": sample.read_text(encoding="utf-8"), "name": sample.name, "do_not_store": True},
        )
    assert r.status_code == 200, r.text
    thread = r.json()["threads"][0]
    assert len(thread["comments"]) > 10
    report = thread["report"]
    assert report["thread_id"] == thread["id"]
    assert report["summary"]["comments"] in (len(thread["comments"]), len(thread["comments"]) - 1)  # the post apart
    assert "escalation" in report and "authors" in report and "turning_point" in report


def test_native_thread_analysis_refuses_a_bad_file(server: Server) -> None:
    with server.client() as c:
        msg = error_of(c.post("/v1/threads:analyze", json={"content": "{broken", "name": "t.json"}), 400)
        assert "t.json" in msg
        error_of(c.post("/v1/threads:analyze", json={"content": "a", "comments": []}), 400)


def test_models_and_health(server: Server) -> None:
    with server.client() as c:
        models = c.get("/v1/models").json()["models"]
        assert models and all(m["fingerprint"] and m["labels"] and m["thresholds"] for m in models)
        assert c.get("/healthz").json()["status"] == "ok"
        assert "/v1/comments:score" in c.get("/openapi.json").json()["paths"]
        assert c.get("/docs").status_code == 200


# ---------------------------------------------------------------------- the store
def test_store_receives_api_comments_and_verdicts(server: Server) -> None:
    community = "store-check"
    analyze(server, {"comment": {"text": TOXIC}, "requestedAttributes": {"TOXICITY": {}}, "communityId": community})
    analyze(
        server,
        {
            "comment": {"text": "never stored"},
            "requestedAttributes": {"TOXICITY": {}},
            "communityId": community,
            "doNotStore": True,
        },
    )
    with server.client() as c:
        r = c.post(
            "/v1alpha1/comments:suggestscore",
            json={
                "comment": {"text": TOXIC},
                "attributeScores": {
                    "TOXICITY": {"summaryScore": {"value": 0.1}},
                    "INSULT": {"summaryScore": {"value": 0.9}},
                },
                "communityId": community,
                "clientToken": "verdict-1",
            },
        )
    assert r.status_code == 200, r.text

    from analyzer.store import Store

    with Store.open(server.db, create=False) as store:  # type: ignore[attr-defined]
        loaded = store.load_thread(f"api:community:{community}")
        texts = [c.text for c in loaded.thread.comments]
        assert texts == [TOXIC]  # once, though sent twice; doNotStore left out
        cid = loaded.thread.comments[0].id
        assert loaded.scores[cid]["toxicity"] > 0.5
        verdicts = store.verdicts(thread_id=f"api:community:{community}")
        assert len(verdicts) == 1
        v = verdicts[0]
        assert v["decision"] == "relabel" and v["labels"] == {"toxicity": 0, "insult": 1}
        assert v["source"] == "api" and v["community_id"] == community and v["client_token"] == "verdict-1"


def test_dashboard_shows_api_traffic(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """The thread list and the comment page read what the service stored, verdict included."""
    import streamlit as st
    from dashboard_data import REPO, open_page
    from streamlit.testing.v1 import AppTest

    community = "dashboard-check"
    analyze(
        server,
        {"comment": {"text": TOXIC + " Go away."}, "requestedAttributes": {"TOXICITY": {}}, "communityId": community},
    )
    with server.client() as c:
        c.post(
            "/v1alpha1/comments:suggestscore",
            json={
                "comment": {"text": TOXIC + " Go away."},
                "attributeScores": {"INSULT": {"summaryScore": {"value": 1}}},
                "communityId": community,
            },
        ).raise_for_status()
    monkeypatch.setenv("THREAD_ANALYZER_DB", str(server.db))  # type: ignore[attr-defined]
    st.cache_data.clear()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception
    listed = "\n".join(str(df.value.to_csv()) for df in at.dataframe)
    assert f"API: community:{community}" in listed
    from analyzer.service.storage import comment_key

    at = open_page(
        at, "comment", thread=f"api:community:{community}", comment=comment_key(TOXIC + " Go away.", community)
    )
    page = "\n".join(str(e.value) for kind in ("text", "markdown", "caption") for e in at.get(kind))
    page += "\n".join(str(df.value.to_csv()) for df in at.dataframe)
    assert TOXIC in page and "relabel" in page and "api" in page
    st.cache_data.clear()
