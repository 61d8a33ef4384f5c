"""``analyzer serve`` exposed: keys, rate limits, quotas, refusal to listen openly without
keys, draining on SIGTERM, a consistent store after SIGKILL, and fuzzing of every route.
A tiny real model keeps the server quick to start; behaviour does not depend on scores."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_kit import Server, start_server, stop

pytest_plugins = ["conftest_models", "conftest_store"]


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    from analyzer.service.keys import add_key

    path = tmp_path_factory.mktemp("keys") / "keys.json"
    keys = {
        "open": add_key(path, "open"),
        "limited": add_key(path, "limited", rate=0.5, burst=2),
        "quota": add_key(path, "quota", daily_quota=3),
    }
    return path, keys


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, toxicity_model_dir: Path, keys_file) -> Server:
    tmp = tmp_path_factory.mktemp("keyed")
    srv = start_server(
        ["--model", str(toxicity_model_dir), "--api-keys", str(keys_file[0]), "--db", str(tmp / "k.db")],
        tmp / "serve.log",
    )
    yield srv
    stop(srv.proc)


BODY = {"comment": {"text": "hello there"}, "requestedAttributes": {"TOXICITY": {}}}


def post(srv: Server, path: str = "/v1alpha1/comments:analyze", body: object = BODY, **kw: object) -> httpx.Response:
    with srv.client() as c:
        return c.post(path, json=body, **kw)  # type: ignore[arg-type]


def test_key_file_holds_only_hashes(keys_file) -> None:
    path, keys = keys_file
    stored = path.read_text()
    assert all(k not in stored for k in keys.values())
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_keys_are_required_and_checked(keyed: Server, keys_file) -> None:
    key = keys_file[1]["open"]
    r = post(keyed)
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"
    r = post(keyed, params={"key": "not-a-key"})
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
    assert post(keyed, params={"key": key}).status_code == 200  # Perspective's way
    assert post(keyed, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert post(keyed, headers={"X-Goog-Api-Key": key}).status_code == 200
    with keyed.client() as c:
        assert c.get("/healthz").status_code == 200  # health needs no key
        assert c.get("/v1/models").status_code == 401


def test_rate_limit_answers_429_with_retry_after(keyed: Server, keys_file) -> None:
    key = keys_file[1]["limited"]
    codes = [post(keyed, params={"key": key}) for _ in range(4)]
    assert [r.status_code for r in codes[:2]] == [200, 200]
    limited = codes[-1]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert post(keyed, params={"key": keys_file[1]["open"]}).status_code == 200  # other keys unaffected


def test_daily_quota(keyed: Server, keys_file) -> None:
    key = keys_file[1]["quota"]
    codes = [post(keyed, params={"key": key}).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = post(keyed, params={"key": key})
    assert r.status_code == 429 and "Daily quota" in r.json()["error"]["message"]


def serve_once(*args: str) -> subprocess.CompletedProcess[str]:
    """``analyzer serve ARGS`` that is expected to stop at once (refused settings)."""
    return subprocess.run(
        [sys.executable, "-m", "analyzer.cli", "serve", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_refuses_an_open_address_without_keys(toxicity_model_dir: Path) -> None:
    r = serve_once("--host", "0.0.0.0", "--model", str(toxicity_model_dir))
    assert r.returncode == 2 and "refusing to listen on 0.0.0.0" in r.stderr and "Traceback" not in r.stderr


def test_a_bad_forward_batch_is_one_line(toxicity_model_dir: Path) -> None:
    r = serve_once("--forward-batch", "0", "--model", str(toxicity_model_dir))
    assert r.returncode == 2 and "forward-batch must be positive" in r.stderr and "Traceback" not in r.stderr


def test_forward_passes_of_a_few_texts_give_the_batch_scores(toxicity_model_dir: Path) -> None:
    """On a CPU the service scores a micro-batch in length-sorted passes of ``forward_batch``
    texts; the scores are those of batch scoring (padding changes no probability)."""
    from analyzer.pipeline import load_models
    from analyzer.scoring.scorer import Scorer
    from analyzer.service.config import ServiceConfig
    from analyzer.service.core import Service

    classifiers = load_models([str(toxicity_model_dir)], precision="float32")
    service = Service(ServiceConfig(forward_batch=3), classifiers)
    assert [service.scorer.batch_size_for(c) for c in classifiers] == [3] * len(classifiers)
    texts = ["you are an idiot", "thanks, that helped a lot", "ok", "this is a much longer comment " * 6, "no"]
    passes = service.scorer.score_texts(texts)
    whole = Scorer(classifiers).score_texts(texts)
    for a, b in zip(passes, whole):
        assert a.scores.keys() == b.scores.keys() and a.scores
        assert all(abs(a.scores[k] - b.scores[k]) < 1e-4 for k in a.scores)


def test_a_bad_key_file_is_one_line(tmp_path: Path, toxicity_model_dir: Path) -> None:
    bad = tmp_path / "keys.json"
    bad.write_text('{"keys": [{"name": 1}]}')
    r = serve_once("--api-keys", str(bad), "--model", str(toxicity_model_dir))
    assert r.returncode == 2 and "keys[0]" in r.stderr and str(bad) in r.stderr and "Traceback" not in r.stderr


def test_caps_on_items_and_text(keyed: Server, keys_file) -> None:
    key = {"key": keys_file[1]["open"]}
    r = post(keyed, "/v1/comments:score", {"comments": [{"text": "x"}] * 1001}, params=key)
    assert r.status_code == 400 and "1000" in r.json()["error"]["message"]
    r = post(keyed, "/v1/comments:score", {"comments": [{"text": "é" * 11_000}]}, params=key)
    assert r.status_code == 400 and "20480" in r.json()["error"]["message"]


# ---------------------------------------------------------------------- signals
def test_sigterm_drains_in_flight_requests(tmp_path: Path, toxicity_model_dir: Path) -> None:
    # batches wait 1.5 s for company: the request is surely in flight when SIGTERM comes
    srv = start_server(["--model", str(toxicity_model_dir), "--max-wait-ms", "1500"], tmp_path / "serve.log")
    result: dict[str, httpx.Response] = {}
    worker = threading.Thread(target=lambda: result.setdefault("r", post(srv)))
    worker.start()
    time.sleep(0.5)
    srv.proc.send_signal(signal.SIGTERM)
    worker.join(30)
    assert result["r"].status_code == 200, srv.log_text()
    assert "TOXICITY" in result["r"].json()["attributeScores"]
    srv.proc.wait(30)
    assert "Traceback" not in srv.log_text()


def test_sigkill_under_load_leaves_whole_requests(tmp_path: Path, toxicity_model_dir: Path) -> None:
    db = tmp_path / "kill.db"
    args = ["--model", str(toxicity_model_dir), "--db", str(db)]
    srv = start_server(args, tmp_path / "serve.log")
    stop_at = time.monotonic() + 2.5
    sent: list[int] = []

    def load(worker: int) -> None:
        i = 0
        with srv.client(timeout=10) as c:
            while time.monotonic() < stop_at:
                n = worker * 100_000 + i
                comments = [
                    {"id": f"{n}-{k}", "thread_id": f"req-{n}", "text": f"comment {k} of {n}"} for k in range(5)
                ]
                try:
                    c.post("/v1/comments:score", json={"comments": comments})
                    sent.append(n)
                except httpx.HTTPError:
                    return
                i += 1

    workers = [threading.Thread(target=load, args=(w,)) for w in range(6)]
    for w in workers:
        w.start()
    time.sleep(1.5)
    os.kill(srv.proc.pid, signal.SIGKILL)
    for w in workers:
        w.join(30)
    srv.proc.wait(10)
    assert sent, srv.log_text()

    from analyzer.store import Store

    with Store.open(db, create=False) as store:
        sizes = {}
        for row in store.list_threads(limit=None):
            loaded = store.load_thread(row["thread_id"])
            sizes[row["thread_id"]] = len(loaded.thread.comments)
            assert all(c.id in loaded.scores for c in loaded.thread.comments)  # every stored comment has its scores
    assert sizes and set(sizes.values()) == {5}  # each request whole, none half

    again = start_server(args, tmp_path / "again.log")
    try:
        r = post(again, "/v1/comments:score", {"comments": [{"id": "after", "thread_id": "after", "text": "back"}]})
        assert r.status_code == 200 and r.json()["stored"] is True
    finally:
        stop(again.proc)


# ---------------------------------------------------------------------- fuzzing
@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory, toxicity_model_dir: Path) -> Server:
    tmp = tmp_path_factory.mktemp("fuzz")
    srv = start_server(["--model", str(toxicity_model_dir), "--db", str(tmp / "fuzz.db")], tmp / "serve.log")
    yield srv
    stop(srv.proc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
FIELDS = ["comment", "requestedAttributes", "languages", "context", "spanAnnotations", "doNotStore", "clientToken"]
perspective_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"comment": st.fixed_dictionaries({"text": st.text(max_size=200)}) | json_values},
        optional={k: json_values for k in FIELDS[1:]}
        | {"requestedAttributes": st.dictionaries(st.sampled_from(["TOXICITY", "INSULT", "THREAT", "x"]), json_values)},
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=perspective_bodies, route=st.sampled_from(["analyze", "suggestscore"]))
def test_fuzz_perspective_routes(open_server: Server, body: object, route: str) -> None:
    with open_server.client() as c:
        r = c.post(f"/v1alpha1/comments:{route}", content=json.dumps(body).encode())
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        err = r.json()["error"]
        assert err["code"] == 400 and err["status"] == "INVALID_ARGUMENT" and err["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=300))
def test_fuzz_raw_bytes(open_server: Server, raw: bytes) -> None:
    with open_server.client() as c:
        r = c.post("/v1alpha1/comments:analyze", content=raw)
    assert r.status_code == 400 or (r.status_code == 200 and "attributeScores" in r.json()), r.text


def test_schemathesis_native_routes(open_server: Server) -> None:
    """Every /v1 route, fuzzed from its OpenAPI schema: never a server error, responses as documented."""
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    schema = schemathesis.openapi.from_url(f"{open_server.url}/openapi.json")
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=open_server.url)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except Exception as exc:  # collect all, report together
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.postgres
def test_two_workers_share_one_postgresql_store(tmp_path: Path, toxicity_model_dir: Path, pg_database) -> None:
    """`--workers 2` on one PostgreSQL store: concurrent calls from both processes all stored."""
    from conftest_store import PG_SKIP, fresh_pg_schema

    if pg_database is None:
        pytest.skip(PG_SKIP)
    url = fresh_pg_schema(pg_database)
    srv = start_server(["--model", str(toxicity_model_dir), "--db", url, "--workers", "2"], tmp_path / "serve.log")
    try:

        def send(i: int) -> int:
            body = {
                "comments": [
                    {"id": f"w{i}-{k}", "thread_id": "shared", "text": f"reply {k} from call {i}"} for k in range(3)
                ]
            }
            return post(srv, "/v1/comments:score", body).status_code

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(send, range(40)))
        assert codes == [200] * 40, srv.log_text()
    finally:
        stop(srv.proc)
    from analyzer.store import Store

    with Store.open(url, create=False) as store:
        loaded = store.load_thread("api:shared")
    assert len(loaded.thread.comments) == 120 and all(c.id in loaded.scores for c in loaded.thread.comments)


def test_perspective_context_feeds_a_context_model(tmp_path: Path, toxicity_model_dir: Path, tiny_model) -> None:
    """With a context model loaded, `context` (entries or parentComment) changes the score;
    without one it is accepted and changes nothing."""
    pair = tiny_model(
        tmp_path / "pair",
        labels=["toxic", "insult"],
        problem_type="multi_label_classification",
        analyzer={"task": "toxicity", "context": "parent", "max_length": 48},
        seed=3,
    )
    srv = start_server(["--model", str(toxicity_model_dir), "--model", str(pair)], tmp_path / "serve.log")
    try:

        def score(context: dict | None) -> float:
            body = {"comment": {"text": "you first"}, "requestedAttributes": {"TOXICITY": {}}, "doNotStore": True}
            if context is not None:
                body["context"] = context
            r = post(srv, body=body)
            assert r.status_code == 200, r.text
            return r.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"]

        alone = score(None)
        kind = score({"entries": [{"text": "what a lovely idea, thank you"}]})
        rude = score({"articleAndParentComment": {"parentComment": {"text": "go away you stupid idiot"}}})
        assert kind != rude and alone not in (kind, rude)
        assert score({"entries": [{"text": "what a lovely idea, thank you"}]}) == kind

        # a whole thread: every reply (and top-level comment, with the post) read in context,
        # and the thread's metrics say they used those scores
        comments = [
            {"id": "a", "text": "go away you stupid idiot"},
            {"id": "b", "parent_id": "a", "text": "you first"},
            {"id": "c", "text": "what a lovely idea, thank you"},
            {"id": "d", "parent_id": "c", "text": "you first"},
        ]
        r = post(srv, "/v1/threads:analyze", body={"comments": comments, "do_not_store": True})
        assert r.status_code == 200, r.text
        (thread,) = r.json()["threads"]
        by_id = {c["id"]: c for c in thread["comments"]}
        assert by_id["b"]["scores"] == by_id["d"]["scores"]  # alone: the same words
        assert by_id["b"]["context_scores"] != by_id["d"]["context_scores"]  # under different parents
        assert by_id["a"]["context_scores"] is None  # no post, no parent: nothing to read it with
        assert thread["report"]["scores_used"] == "in context" and thread["report"]["context_available"]
    finally:
        stop(srv.proc)
