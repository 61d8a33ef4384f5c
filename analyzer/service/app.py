"""The ASGI app: Perspective's routes, our ``/v1`` routes, discovery, health.

``create_app(service)`` takes a ready ``Service``; ``app_from_env`` builds one from the
settings ``analyzer serve`` passes to each worker process.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timezone
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from analyzer.service import perspective
from analyzer.service.config import ServiceConfig
from analyzer.service.core import Service
from analyzer.service.discovery import document
from analyzer.service.errors import ApiError
from analyzer.service.guard import Guard, encode
from analyzer.service.storage import ApiComment, comment_key, thread_key
from analyzer.store.api import VerdictIn

log = logging.getLogger("analyzer.service")


class JSON(JSONResponse):
    """JSON that is always valid UTF-8 (see ``guard.encode``)."""

    def render(self, content: Any) -> bytes:
        return encode(content)


def _error(exc: ApiError) -> JSON:
    return JSON(exc.body(), status_code=exc.code, headers=exc.headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "body"
        parts.append(f"'{where}': {err.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts)


def create_app(service: Service) -> FastAPI:
    """The app serving ``service``: errors as Perspective-shaped JSON, health and discovery,
    Perspective's routes, our ``/v1`` routes, CORS where configured; all behind the ``Guard``."""
    app = FastAPI(
        title="Thread Analyzer service",
        description="Local toxicity and sentiment scoring: Perspective-compatible routes (see the discovery "
        "document at /$discovery/rest?version=v1alpha1) and these native routes.",
        version="1",
        lifespan=_lifespan(service),
        default_response_class=JSON,
    )
    app.state.service = service
    _add_error_handlers(app)
    _add_meta_routes(app, service)
    _add_perspective_routes(app, service)
    from analyzer.service.native import router

    app.include_router(router)
    if service.config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=service.config.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Goog-Api-Key"],
        )
    return Guard(app, service)  # type: ignore[return-value]  # an ASGI app wrapping the FastAPI one


def _lifespan(service: Service) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The service started with the app (model process, batchers, writer) and stopped with it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    return lifespan


def _add_error_handlers(app: FastAPI) -> None:
    """Every error, ours, a request that does not validate or an unknown route, as one JSON body."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSON:
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSON:
        return _error(ApiError.invalid(_validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSON:
        message = {404: "Not found.", 405: "Method not allowed."}.get(exc.status_code, str(exc.detail))
        return _error(ApiError(exc.status_code, f"{message} ({request.method} {request.url.path})"))


def _add_meta_routes(app: FastAPI, service: Service) -> None:
    """Liveness (models, store, batch counts; no key needed) and Perspective's discovery document."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSON:
        return JSON(
            {
                "status": "ok",
                "models": [m["version"] for m in service.models()],
                "store": service.store is not None,
                "batches": service.batcher.batches,
                "texts": service.batcher.texts,
            }
        )

    @app.get("/$discovery/rest", include_in_schema=False)
    async def discovery(request: Request) -> JSON:
        version = request.query_params.get("version", "v1alpha1")
        if version != "v1alpha1":
            raise ApiError(404, f"No discovery document for version {version!r}; this server speaks v1alpha1.")
        root = str(request.base_url)
        return JSON(document(root if root.endswith("/") else root + "/"))


def _add_perspective_routes(app: FastAPI, service: Service) -> None:
    """Perspective's ``comments:analyze`` and ``comments:suggestscore``, as its clients call them."""

    @app.post("/v1alpha1/comments:analyze", include_in_schema=False)
    async def analyze(request: Request) -> JSON:
        req = perspective.parse_analyze(
            request.state.json, service.labels, max_text_bytes=service.config.max_text_bytes
        )
        spans = perspective.sentence_spans(req.text) if req.span_annotations else []
        texts = [req.text] + [req.text[a:b] for a, b in spans]
        scored = await service.score(texts)
        summary = dict(scored[0].scores)
        if req.parent_text:  # Perspective ignores context; a loaded context model reads it
            in_context = await service.score_in_context(req.parent_text, req.text)
            if in_context is not None:
                summary.update(in_context.scores)
        detected = service.detect(req.text)
        body = perspective.analyze_response(req, summary, list(zip(spans, [s.scores for s in scored[1:]])), detected)
        if not req.do_not_store and service.writer is not None:
            await service.save(
                [_api_comment(request, req.text, req.community_id, req.session_id, req.client_token, scored[0])]
            )
        return JSON(body)

    @app.post("/v1alpha1/comments:suggestscore", include_in_schema=False)
    async def suggestscore(request: Request) -> JSON:
        req = perspective.parse_suggest(request.state.json, max_text_bytes=service.config.max_text_bytes)
        if service.writer is None:
            raise ApiError(
                400,
                "This server keeps no store, so it cannot record suggested scores: start it with --db.",
                reason="STORE_NOT_CONFIGURED",
            )
        scored = await service.score([req.text])
        comment = _api_comment(request, req.text, req.community_id, None, req.client_token, scored[0])
        labels = _verdict_labels(req.labels)
        if not labels:
            raise ApiError.invalid("None of the suggested attributes can be recorded as a verdict label.")
        verdict = VerdictIn(
            thread_id=comment.thread_id,
            comment_id=comment.id,
            reviewer=getattr(request.state, "key_name", None) or "api",
            decision="relabel",
            labels=labels,
            community_id=req.community_id,
            client_token=req.client_token,
            note="comments:suggestscore " + ", ".join(f"{k}={v:g}" for k, v in req.labels.items()),
        )
        await service.save([comment], [verdict])
        return JSON(perspective.suggest_response(req, service.detect(req.text)))


def _api_comment(
    request: Request, text: str, community: str | None, session: str | None, token: str | None, scored: Any
) -> ApiComment:
    extra: dict[str, Any] = {}
    api = {
        k: v
        for k, v in (
            ("session_id", session),
            ("client_token", token),
            ("client", getattr(request.state, "client", None)),
        )
        if v
    }
    if api:
        extra["api"] = api
    return ApiComment(
        thread_key(None, community),
        comment_key(text, community),
        text,
        scored,
        created_at=datetime.now(timezone.utc),
        extra=extra,
    )


def _verdict_labels(suggested: dict[str, float]) -> dict[str, Any]:
    """Perspective's suggested probabilities as verdict labels: 0/1 at 0.5 for toxicity
    labels; the likeliest sentiment class."""
    from analyzer.scoring.labels import DEFAULT_THRESHOLD, SENTIMENT_LABELS, TOXICITY_LABELS

    out: dict[str, Any] = {k: int(v >= DEFAULT_THRESHOLD) for k, v in suggested.items() if k in TOXICITY_LABELS}
    sentiment = {k: v for k, v in suggested.items() if k in SENTIMENT_LABELS}
    if sentiment:
        out["sentiment"] = max(sentiment, key=lambda k: sentiment[k])
    return out


def build_service(config: ServiceConfig) -> Service:
    """Models loaded, store opened, keys read: a ``Service`` for ``config``."""
    from analyzer.pipeline import load_models
    from analyzer.service.keys import KeyRing, read_keys

    config.check()
    keys = KeyRing(read_keys(config.api_keys)) if config.api_keys else KeyRing([])
    classifiers = load_models(config.model_dirs, precision=config.precision)
    store = None
    if config.db:
        from analyzer.store import Store

        store = Store.open(config.db)
    return Service(config, classifiers, store=store, keys=keys)


def app_from_env() -> Any:
    """The app of one ``--workers`` process (uvicorn's factory)."""
    return create_app(build_service(ServiceConfig.from_env()))
