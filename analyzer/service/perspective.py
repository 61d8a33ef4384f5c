"""Perspective API v1alpha1, read and written exactly as its clients expect.

Pure functions, no web framework: ``parse_analyze`` turns a request body (already JSON-decoded)
into an ``AnalyzeRequest`` or raises ``ApiError`` with Google's message style;
``analyze_response`` turns our scores back into Perspective's JSON. The attribute names map
onto our canonical labels (``TOXICITY`` -> ``toxicity``, ``PROFANITY`` -> ``obscene``...);
an attribute is available when a loaded model provides its label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analyzer.service.errors import ApiError

# Perspective's attribute -> our canonical label. Sentiment is our extension.
ATTRIBUTES: dict[str, str] = {
    "TOXICITY": "toxicity",
    "SEVERE_TOXICITY": "severe_toxicity",
    "IDENTITY_ATTACK": "identity_attack",
    "INSULT": "insult",
    "PROFANITY": "obscene",
    "OBSCENE": "obscene",
    "THREAT": "threat",
    "SEXUALLY_EXPLICIT": "sexual_explicit",
    "NEGATIVE": "negative",
    "NEUTRAL": "neutral",
    "POSITIVE": "positive",
}
EXPERIMENTAL = "_EXPERIMENTAL"  # Perspective's experimental names score like the stable ones
SCORE_TYPE = "PROBABILITY"
MAX_TEXT_BYTES = 20_480  # Perspective's own cap on comment.text (UTF-8 bytes)
SUPPORTED_LANGUAGES = ("en",)
TEXT_TYPES = ("PLAIN_TEXT", "HTML")

ANALYZE_FIELDS = frozenset(
    {
        "comment",
        "context",
        "requestedAttributes",
        "languages",
        "doNotStore",
        "clientToken",
        "sessionId",
        "communityId",
        "spanAnnotations",
    }
)
SUGGEST_FIELDS = frozenset({"comment", "context", "attributeScores", "languages", "communityId", "clientToken"})


@dataclass
class AttributeRequest:
    """One requested attribute: its Perspective name, our label, and the threshold below
    which its score is left out of the response."""

    name: str
    label: str
    threshold: float | None = None


@dataclass
class AnalyzeRequest:
    text: str
    attributes: list[AttributeRequest]
    languages: list[str] = field(default_factory=list)
    do_not_store: bool = False
    client_token: str | None = None
    session_id: str | None = None
    community_id: str | None = None
    span_annotations: bool = False
    parent_text: str | None = None
    article_text: str | None = None


@dataclass
class SuggestRequest:
    text: str
    labels: dict[str, float]  # our label -> the reviewer's probability
    languages: list[str] = field(default_factory=list)
    community_id: str | None = None
    client_token: str | None = None
    parent_text: str | None = None


# ---------------------------------------------------------------------- validation helpers
def _check_fields(body: Mapping[str, Any], allowed: frozenset[str], where: str = "") -> None:
    for key in body:
        if key not in allowed:
            place = f" at '{where}'" if where else ""
            raise ApiError.invalid(f'Invalid JSON payload received. Unknown name "{key}"{place}: Cannot find field.')


def _object(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ApiError.invalid(f"Invalid value at '{name}': expected an object, got {_kind(value)}.")
    return value


def _string(value: Any, name: str, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ApiError.invalid(f"Invalid value at '{name}' ({_kind(value)}): expected a string.")
    return value


def _bool(value: Any, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ApiError.invalid(f"Invalid value at '{name}' ({_kind(value)}): expected true or false.")
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )


def _comment_text(body: Mapping[str, Any], max_bytes: int) -> str:
    from analyzer.parsers.base import html_to_text

    if "comment" not in body or body["comment"] is None:
        raise ApiError.invalid("Comment must be specified.")
    comment = _object(body["comment"], "comment")
    _check_fields(comment, frozenset({"text", "type"}), "comment")
    text = _string(comment.get("text"), "comment.text")
    if not text:
        raise ApiError.invalid("Comment text was too short.")
    kind = _string(comment.get("type"), "comment.type") or "PLAIN_TEXT"
    if kind not in TEXT_TYPES:
        raise ApiError.invalid(f"Invalid value at 'comment.type' ({kind!r}): use {' or '.join(TEXT_TYPES)}.")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ApiError.invalid(f"Comment text too long: {size} bytes, the limit is {max_bytes}.")
    if kind == "HTML":
        text = html_to_text(text)
    return text


def _languages(body: Mapping[str, Any]) -> list[str]:
    raw = body.get("languages")
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise ApiError.invalid("Invalid value at 'languages': expected a list of language codes.")
    langs = [x.strip().lower().split("-")[0] for x in raw if x.strip()]
    unsupported = [x for x in langs if x not in SUPPORTED_LANGUAGES]
    if unsupported:
        raise ApiError.invalid(
            f"Attribute(s) do not support request languages: {', '.join(unsupported)}; "
            f"supported: {', '.join(SUPPORTED_LANGUAGES)}",
            reason="LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
        )
    return langs


def _context(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(parent comment text, article text) from ``context``: either ``entries`` or
    ``articleAndParentComment``, never both."""
    raw = body.get("context")
    if raw is None:
        return None, None
    ctx = _object(raw, "context")
    _check_fields(ctx, frozenset({"entries", "articleAndParentComment"}), "context")
    if ctx.get("entries") is not None and ctx.get("articleAndParentComment") is not None:
        raise ApiError.invalid("Specify at most one of 'context.entries' and 'context.articleAndParentComment'.")
    if ctx.get("entries") is not None:
        entries = ctx["entries"]
        if not isinstance(entries, list):
            raise ApiError.invalid("Invalid value at 'context.entries': expected a list.")
        texts = []
        for i, entry in enumerate(entries):
            entry = _object(entry, f"context.entries[{i}]")
            _check_fields(entry, frozenset({"text", "type"}), f"context.entries[{i}]")
            texts.append(_string(entry.get("text"), f"context.entries[{i}].text") or "")
        # Perspective gives no roles to entries; the last one is the closest to the comment
        return (texts[-1] if texts else None), None
    pair = ctx.get("articleAndParentComment")
    if pair is None:
        return None, None
    pair = _object(pair, "context.articleAndParentComment")
    _check_fields(pair, frozenset({"article", "parentComment"}), "context.articleAndParentComment")
    out: list[str | None] = []
    for key in ("parentComment", "article"):
        part = pair.get(key)
        if part is None:
            out.append(None)
            continue
        part = _object(part, f"context.articleAndParentComment.{key}")
        _check_fields(part, frozenset({"text", "type"}), f"context.articleAndParentComment.{key}")
        out.append(_string(part.get("text"), f"context.articleAndParentComment.{key}.text"))
    return out[0], out[1]


def attribute_label(name: str) -> str | None:
    """Our label for a Perspective attribute name, or None when it names none."""
    key = name.strip().upper()
    if key.endswith(EXPERIMENTAL):
        key = key[: -len(EXPERIMENTAL)]
    return ATTRIBUTES.get(key)


def available_attributes(labels: Sequence[str]) -> list[str]:
    """The attribute names a server with these labels can answer."""
    return [name for name, label in ATTRIBUTES.items() if label in labels]


def _attributes(body: Mapping[str, Any], labels: Sequence[str]) -> list[AttributeRequest]:
    raw = body.get("requestedAttributes")
    if raw is None or (isinstance(raw, Mapping) and not raw):
        raise ApiError.invalid("Attributes must be specified: requestedAttributes is empty.")
    requested = _object(raw, "requestedAttributes")
    out: list[AttributeRequest] = []
    for name, spec in requested.items():
        label = attribute_label(name)
        if label is None or label not in labels:
            raise ApiError.invalid(
                f"Requested attribute {name} is not available; available: {', '.join(available_attributes(labels))}.",
                reason="ATTRIBUTE_NOT_SUPPORTED",
            )
        spec = _object(spec if spec is not None else {}, f"requestedAttributes.{name}")
        _check_fields(spec, frozenset({"scoreType", "scoreThreshold"}), f"requestedAttributes.{name}")
        score_type = spec.get("scoreType")
        if score_type is not None and score_type != SCORE_TYPE:
            raise ApiError.invalid(
                f"Score type {score_type!r} for {name} is not available; only {SCORE_TYPE} is.",
                reason="SCORE_TYPE_NOT_SUPPORTED",
            )
        threshold = spec.get("scoreThreshold")
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
                raise ApiError.invalid(
                    f"Invalid value at 'requestedAttributes.{name}.scoreThreshold': a number from 0 to 1."
                )
            threshold = float(threshold)
        out.append(AttributeRequest(name, label, threshold))
    return out


# ---------------------------------------------------------------------- requests
def parse_analyze(body: Any, labels: Sequence[str], *, max_text_bytes: int = MAX_TEXT_BYTES) -> AnalyzeRequest:
    """An ``AnalyzeCommentRequest`` checked the way Perspective checks it."""
    body = _object(body, "request body")
    _check_fields(body, ANALYZE_FIELDS)
    text = _comment_text(body, max_text_bytes)
    attributes = _attributes(body, labels)
    languages = _languages(body)
    parent, article = _context(body)
    return AnalyzeRequest(
        text=text,
        attributes=attributes,
        languages=languages,
        do_not_store=_bool(body.get("doNotStore"), "doNotStore"),
        client_token=_string(body.get("clientToken"), "clientToken"),
        session_id=_string(body.get("sessionId"), "sessionId"),
        community_id=_string(body.get("communityId"), "communityId"),
        span_annotations=_bool(body.get("spanAnnotations"), "spanAnnotations"),
        parent_text=parent,
        article_text=article,
    )


def parse_suggest(body: Any, *, max_text_bytes: int = MAX_TEXT_BYTES) -> SuggestRequest:
    """A ``SuggestCommentScoreRequest``: the comment and the scores a reviewer says are right."""
    body = _object(body, "request body")
    _check_fields(body, SUGGEST_FIELDS)
    text = _comment_text(body, max_text_bytes)
    raw = body.get("attributeScores")
    if not raw:
        raise ApiError.invalid("attributeScores must be specified.")
    scores = _object(raw, "attributeScores")
    labels: dict[str, float] = {}
    for name, spec in scores.items():
        label = attribute_label(name)
        if label is None:
            raise ApiError.invalid(f"Unknown attribute {name}; known: {', '.join(ATTRIBUTES)}.")
        spec = _object(spec, f"attributeScores.{name}")
        _check_fields(spec, frozenset({"summaryScore", "spanScores"}), f"attributeScores.{name}")
        summary = _object(spec.get("summaryScore"), f"attributeScores.{name}.summaryScore")
        _check_fields(summary, frozenset({"value", "type"}), f"attributeScores.{name}.summaryScore")
        value = summary.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ApiError.invalid(f"Invalid value at 'attributeScores.{name}.summaryScore.value': 0 to 1.")
        labels[label] = float(value)
    parent, _article = _context(body)
    return SuggestRequest(
        text=text,
        labels=labels,
        languages=_languages(body),
        community_id=_string(body.get("communityId"), "communityId"),
        client_token=_string(body.get("clientToken"), "clientToken"),
        parent_text=parent,
    )


# ---------------------------------------------------------------------- responses
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|\n+|$)")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the sentences of ``text``, without the blanks
    around them; end exclusive."""
    spans: list[tuple[int, int]] = []
    for m in _SENTENCE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def utf16_offsets(text: str) -> list[int]:
    """``out[i]``: the UTF-16 code-unit offset of character ``i`` (and ``out[len]`` the length),
    which is how Perspective's clients (JavaScript strings) count."""
    out = [0]
    for ch in text:
        out.append(out[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return out


def _score(value: float) -> dict[str, Any]:
    return {"value": round(float(value), 6), "type": SCORE_TYPE}


def analyze_response(
    req: AnalyzeRequest,
    scores: Mapping[str, float],
    span_scores: Sequence[tuple[tuple[int, int], Mapping[str, float]]] = (),
    detected: Sequence[str] = (),
) -> dict[str, Any]:
    """Perspective's ``AnalyzeCommentResponse``. An attribute under its ``scoreThreshold``
    is left out (as Perspective does)."""
    offsets = utf16_offsets(req.text) if span_scores else []
    attributes: dict[str, Any] = {}
    for attr in req.attributes:
        value = scores.get(attr.label)
        if value is None or (attr.threshold is not None and value < attr.threshold):
            continue
        entry: dict[str, Any] = {"summaryScore": _score(value)}
        if req.span_annotations:
            entry["spanScores"] = [
                {"begin": offsets[a], "end": offsets[b], "score": _score(s[attr.label])}
                for (a, b), s in span_scores
                if attr.label in s
            ]
        attributes[attr.name] = entry
    out: dict[str, Any] = {
        "attributeScores": attributes,
        # the language we scored in; the detector's guess is reported beside it, not obeyed
        "languages": list(req.languages or SUPPORTED_LANGUAGES[:1]),
        "detectedLanguages": list(detected),
    }
    if req.client_token is not None:
        out["clientToken"] = req.client_token
    return out


def suggest_response(req: SuggestRequest, detected: Sequence[str] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"detectedLanguages": list(detected)}
    if req.client_token is not None:
        out["clientToken"] = req.client_token
    return out
