"""The gate every request passes before a route sees it (a plain ASGI middleware):
body-size cap (413), strict UTF-8 and JSON with a nesting cap (400), API keys (401/403),
rate limits and quotas (429 with ``Retry-After``), and a request timeout (504). Every
refusal is in Google's error shape, never a traceback.

The JSON body is parsed here once and handed on in ``request.state.json``; lone
surrogates (``"\\ud800"``) become U+FFFD, which keeps every UTF-16 offset where it was.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from analyzer.service.errors import ApiError
from analyzer.text import without_lone_surrogates

if TYPE_CHECKING:
    from analyzer.service.core import Service

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("analyzer.service")
PUBLIC = ("/healthz", "/$discovery/rest", "/docs", "/openapi.json", "/redoc")


def encode(payload: Any) -> bytes:
    """JSON bytes that are always valid UTF-8 (ASCII, in fact): a lone surrogate echoed back
    becomes an escape, not an encoding error."""
    return json.dumps(payload, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


async def send_json(send: Send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    body = encode(payload)
    raw = [(b"content-type", b"application/json; charset=UTF-8"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def depth_of(value: Any) -> int:
    """Nesting depth of a JSON value, iteratively (a hostile body must not recurse us)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, d)
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, d)
            stack.extend((v, d + 1) for v in node)
    return deepest


def _clean(value: Any) -> tuple[Any, bool]:
    """``value`` with lone surrogates replaced in every string; and whether any was."""
    changed = False

    def fix(s: str) -> str:
        nonlocal changed
        out = without_lone_surrogates(s)
        changed = changed or out != s
        return out

    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        holder, key = stack.pop()
        node = holder[key]
        if isinstance(node, str):
            holder[key] = fix(node)
        elif isinstance(node, list):
            stack.extend((node, i) for i in range(len(node)))
        elif isinstance(node, dict):
            for k in list(node):
                nk = fix(k) if isinstance(k, str) else k
                if nk != k:
                    node[nk] = node.pop(k)
                stack.append((node, nk))
    return root[0], changed


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes, max_depth: int) -> Any:
    """The decoded body, or a 400 ``ApiError`` saying what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError.invalid(f"Invalid JSON payload received. Invalid UTF-8 at byte {exc.start}.") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError.invalid(f"Invalid JSON payload received. Nested deeper than {max_depth} levels.") from None
    except ValueError as exc:
        raise ApiError.invalid(f"Invalid JSON payload received. {exc}.") from None
    if depth_of(value) > max_depth:
        raise ApiError.invalid(f"Invalid JSON payload received. Nested deeper than {max_depth} levels.")
    return value


class Guard:
    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            replay = await self._admit(scope, receive)
            if replay is None:
                return  # the client went away
            await asyncio.wait_for(self.app(scope, replay, tracked), self.service.config.request_timeout)
        except ApiError as exc:
            if not started:
                await send_json(send, exc.code, exc.body(), exc.headers)
        except asyncio.TimeoutError:
            if not started:
                err = ApiError(504, f"The request took longer than {self.service.config.request_timeout:g} s.")
                await send_json(send, 504, err.body())
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await send_json(send, 500, ApiError(500, "Internal error; the server log has the details.").body())

    async def _admit(self, scope: Scope, receive: Receive) -> Receive | None:
        config = self.service.config
        path = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        state = scope.setdefault("state", {})
        if not path.startswith(PUBLIC) and scope.get("method") != "OPTIONS":  # CORS preflights carry no key
            key = self.service.keys.identify(_presented_key(scope, headers))
            client = key.name if key is not None else _client_address(scope)
            self.service.limiter.check(client, key)
            state["client"] = client
            state["key_name"] = key.name if key is not None else None
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > config.max_body_bytes:
            raise ApiError(413, f"Request body of {length} bytes is over the limit of {config.max_body_bytes} bytes.")
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > config.max_body_bytes:
                raise ApiError(413, f"Request body is over the limit of {config.max_body_bytes} bytes.")
            if not message.get("more_body"):
                break
        data = bytes(body)
        if scope.get("method") == "POST" and not path.startswith(PUBLIC):
            value, changed = _clean(parse_json(data, config.max_json_depth))
            state["json"] = value
            if changed:
                data = encode(value)
            if not headers.get("content-type", "").startswith("application/json"):
                # the body is JSON (we just parsed it), whatever curl's default header says
                scope["headers"] = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-type"]
                scope["headers"].append((b"content-type", b"application/json"))
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        return replay


def _presented_key(scope: Scope, headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if headers.get("x-goog-api-key"):
        return headers["x-goog-api-key"].strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("key")
    return values[0] if values else None


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return f"address {client[0]}" if client else "anonymous"
