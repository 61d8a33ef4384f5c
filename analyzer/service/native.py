"""Our own API, ``/v1``: many comments per call, whole threads, and the models.

Request and response shapes are pydantic models, so ``/docs`` shows them and
schemathesis can fuzz them; unknown fields are refused (a typo is an error, not a
silently ignored option).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from analyzer.scoring.labels import DEFAULT_THRESHOLD, TOXICITY_LABELS
from analyzer.service.errors import ApiError
from analyzer.service.storage import ApiComment, comment_key, thread_key

if TYPE_CHECKING:
    from analyzer.scoring.scorer import Scored
    from analyzer.service.core import Service

MAX_ID = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommentIn(_Strict):
    text: str = Field(description="The comment's text (plain text).")
    id: str | None = Field(None, max_length=MAX_ID, description="Your id; default: one made from the text.")
    thread_id: str | None = Field(None, max_length=MAX_ID, description="Groups comments into a stored thread.")
    parent_id: str | None = Field(None, max_length=MAX_ID, description="The id of the comment this one answers.")
    author: str | None = Field(None, max_length=MAX_ID)
    created_at: datetime | None = Field(None, description="ISO 8601; without a zone, UTC.")


class ScoreRequest(_Strict):
    comments: list[CommentIn] = Field(description="The comments to score.")
    community_id: str | None = Field(None, max_length=MAX_ID, description="Groups comments without a thread_id.")
    do_not_store: bool = Field(False, description="Score only; store nothing even when the server has a store.")


class CommentScores(BaseModel):
    id: str
    thread_id: str | None
    scores: dict[str, float] = Field(description="Canonical label -> probability.")
    flagged: list[str] = Field(description="Toxicity labels at or over their model's threshold.")
    models: dict[str, str] = Field(description="Label -> name@fingerprint of the model that gave it.")
    windowed: bool = Field(description="Whether the text was longer than a model reads at once.")
    context_scores: dict[str, float] | None = Field(
        default=None,
        description="With a context model: canonical label -> probability of the comment read with "
        "its parent (a top-level comment with the post).",
    )


class ScoreResponse(BaseModel):
    comments: list[CommentScores]
    stored: bool


class ThreadRequest(_Strict):
    comments: list[CommentIn] | None = Field(None, description="The thread as records (parent_id links them).")
    content: str | None = Field(None, description="A file's text in any format `analyzer parse` reads.")
    content_base64: str | None = Field(None, description="A file's bytes, base64 (e.g. a .zst dump).")
    name: str = Field("thread.json", max_length=MAX_ID, description="File name: helps detect the format.")
    format: str | None = Field(None, max_length=40, description="The format, when detection should not guess.")
    do_not_store: bool = False


class ThreadResult(BaseModel):
    id: str
    comments: list[CommentScores]
    report: dict[str, Any] = Field(description="The metrics `analyzer report` gives.")


class ThreadResponse(BaseModel):
    threads: list[ThreadResult]
    stored: bool


class ModelOut(BaseModel):
    name: str
    task: str | None
    fingerprint: str
    version: str
    precision: str
    labels: list[str]
    thresholds: dict[str, float]
    max_length: int


class ModelsResponse(BaseModel):
    models: list[ModelOut]
    attributes: list[str] = Field(description="Perspective attribute names these models answer.")


def _service(request: Request) -> Service:
    return request.app.state.service


def _check_texts(service: Service, texts: list[str]) -> None:
    cap = service.config.max_text_bytes
    for i, text in enumerate(texts):
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > cap:
            raise ApiError.invalid(f"comments[{i}].text is {size} bytes, over the limit of {cap}.")


def _result(service: Service, cid: str, tid: str | None, s: Scored) -> CommentScores:
    thresholds = service.thresholds()
    flagged = [k for k, v in s.scores.items() if k in TOXICITY_LABELS and v >= thresholds.get(k, DEFAULT_THRESHOLD)]
    return CommentScores(id=cid, thread_id=tid, scores=s.scores, flagged=flagged, models=s.models, windowed=s.windowed)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class ErrorDetail(BaseModel):
    code: int
    message: str
    status: str
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    """Every refusal, in Google's shape."""

    error: ErrorDetail


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": what}
    for code, what in (
        (400, "Invalid request (Google's INVALID_ARGUMENT)."),
        (401, "API key missing."),
        (403, "API key not valid."),
        (413, "Body too large."),
        (429, "Rate limit or daily quota reached; see Retry-After."),
        (504, "The request took too long."),
    )
}

router = APIRouter(prefix="/v1", tags=["Thread Analyzer"], responses=_ERRORS)


@router.post("/comments:score", response_model=ScoreResponse)
async def score_comments(body: ScoreRequest, request: Request) -> ScoreResponse:
    """Score up to `max_items` comments in one call (and store them, when the server has a store)."""
    service = _service(request)
    if len(body.comments) > service.config.max_items:
        raise ApiError.invalid(f"{len(body.comments)} comments in one call; the limit is {service.config.max_items}.")
    texts = [c.text for c in body.comments]
    _check_texts(service, texts)
    scored = await service.score(texts)
    ids = [c.id or comment_key(c.text, body.community_id) for c in body.comments]
    stored = False
    if not body.do_not_store and service.writer is not None and body.comments:
        stored = await service.save(
            [
                ApiComment(
                    thread_key(c.thread_id, body.community_id),
                    cid,
                    c.text,
                    s,
                    parent_id=c.parent_id,
                    author=c.author,
                    created_at=_utc(c.created_at) or datetime.now(timezone.utc),
                    extra={"api": {"client": request.state.client}} if getattr(request.state, "client", None) else {},
                )
                for c, cid, s in zip(body.comments, ids, scored)
            ]
        )
    return ScoreResponse(
        comments=[_result(service, cid, c.thread_id, s) for c, cid, s in zip(body.comments, ids, scored)],
        stored=stored,
    )


def _parse_thread_body(body: ThreadRequest, service: Service) -> list[Any]:
    """Threads from the request: records, or a file's content parsed like `analyzer parse`."""
    from analyzer.errors import AnalyzerError
    from analyzer.parsers import parse_bytes
    from analyzer.pipeline import check_format
    from analyzer.thread import Comment, Thread

    given = [x is not None for x in (body.comments, body.content, body.content_base64)]
    if sum(given) != 1:
        raise ApiError.invalid("Give exactly one of 'comments', 'content' and 'content_base64'.")
    if body.comments is not None:
        if len(body.comments) > service.config.max_items:
            raise ApiError.invalid(f"{len(body.comments)} comments; the limit is {service.config.max_items}.")
        _check_texts(service, [c.text for c in body.comments])
        tid = next((c.thread_id for c in body.comments if c.thread_id), None) or "thread"
        comments = [
            Comment(
                id=c.id or comment_key(c.text, tid),
                text=c.text,
                parent_id=c.parent_id,
                author=c.author,
                created_at=_utc(c.created_at),
                created_precision="exact" if c.created_at else None,
            )
            for c in body.comments
        ]
        return [Thread.build(tid, comments, source="api", format="api")]
    if body.content is not None:
        data = body.content.encode("utf-8", "surrogatepass")
    else:
        try:
            data = base64.b64decode(body.content_base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise ApiError.invalid("content_base64 is not valid base64.") from None
    try:
        check_format(body.format)
        return parse_bytes(data, name=body.name, format=body.format)
    except AnalyzerError as exc:
        raise ApiError.invalid(str(exc)) from None


@router.post("/threads:analyze", response_model=ThreadResponse)
async def analyze_threads(body: ThreadRequest, request: Request) -> ThreadResponse:
    """A whole thread (as records or as a file): every comment's scores and the thread's metrics."""
    import asyncio

    from analyzer import analytics
    from analyzer.scored_thread import ScoredThread

    service = _service(request)
    loop = asyncio.get_running_loop()
    threads = await loop.run_in_executor(None, _parse_thread_body, body, service)
    total = sum(len(t.comments) + (t.post is not None) for t in threads)
    if total > service.config.max_items * 10:
        raise ApiError.invalid(f"{total} comments in one call; the limit is {service.config.max_items * 10}.")
    nodes = [(t, c) for t in threads for c in t.traverse("preorder")]
    scored = await service.score([c.text for _, c in nodes])
    thresholds = service.thresholds()
    parents = {t.id: t.parent_texts() for t in threads}
    paired = [(t.id, c.id, parents[t.id][c.id], c.text) for t, c in nodes if c.id in parents[t.id]]
    in_context = await service.score_pairs([(p, text) for _, _, p, text in paired])
    context: dict[tuple[str, str], dict[str, float]] = {}
    if in_context is not None:
        context = {(tid, cid): r.scores for (tid, cid, _, _), r in zip(paired, in_context)}
    results: dict[str, ThreadResult] = {}
    per_thread: dict[str, dict[str, dict[str, float]]] = {}
    per_thread_context: dict[str, dict[str, dict[str, float]]] = {}
    for (thread, c), s in zip(nodes, scored):
        res = results.setdefault(thread.id, ThreadResult(id=thread.id, comments=[], report={}))
        result = _result(service, c.id, thread.id, s)
        if (thread.id, c.id) in context:
            result.context_scores = context[thread.id, c.id]
            per_thread_context.setdefault(thread.id, {})[c.id] = context[thread.id, c.id]
        res.comments.append(result)
        per_thread.setdefault(thread.id, {})[c.id] = s.scores
    for thread in threads:
        if thread.id in results:
            results[thread.id].report = dict(  # a Report: what the route's schema describes
                analytics.report(
                    ScoredThread(
                        thread,
                        per_thread.get(thread.id, {}),
                        thresholds=dict(thresholds),
                        context_scores=per_thread_context.get(thread.id, {}),
                        context_thresholds=service.context_thresholds(),
                    )
                )
            )
    stored = False
    if not body.do_not_store and service.writer is not None and nodes:
        stored = await service.save(
            [
                ApiComment(
                    thread_key(t.id, None),
                    c.id,
                    c.text,
                    s,
                    parent_id=c.parent_id,
                    author=c.author,
                    created_at=c.created_at,
                    extra=dict(c.extra),
                )
                for (t, c), s in zip(nodes, scored)
            ]
        )
    return ThreadResponse(threads=list(results.values()), stored=stored)


@router.get("/models", response_model=ModelsResponse)
async def models(request: Request) -> ModelsResponse:
    """The loaded models: labels, thresholds, fingerprints, and the Perspective attributes they answer."""
    from analyzer.service.perspective import available_attributes

    service = _service(request)
    return ModelsResponse(
        models=[ModelOut(**m) for m in service.models()], attributes=available_attributes(service.labels)
    )
