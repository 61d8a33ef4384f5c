"""The discovery document of ``commentanalyzer v1alpha1`` as this server answers it.

Google's API client builds its ``comments().analyze()`` and ``comments().suggestscore()``
from this document; with ``rootUrl`` pointing here, the client talks to us unchanged.
Written from Perspective's public documentation of the request and response fields.
"""

from __future__ import annotations

from typing import Any


def _obj(description: str, **props: Any) -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": props}


def _str(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": name}


SCHEMAS: dict[str, Any] = {
    "TextEntry": _obj("A piece of text.", text=_str("UTF-8 text."), type=_str("PLAIN_TEXT or HTML.")),
    "ArticleAndParentComment": _obj(
        "The article and the comment this one replies to.",
        article=_ref("TextEntry"),
        parentComment=_ref("TextEntry"),
    ),
    "Context": _obj(
        "Context of the comment: entries, or the article and parent comment (not both).",
        entries={"type": "array", "items": _ref("TextEntry")},
        articleAndParentComment=_ref("ArticleAndParentComment"),
    ),
    "AttributeParameters": _obj(
        "How one attribute is scored.",
        scoreType=_str("PROBABILITY (the only type this server gives)."),
        scoreThreshold={"type": "number", "format": "float", "description": "Leave out scores below this."},
    ),
    "Score": _obj("A score.", value={"type": "number", "format": "float"}, type=_str("PROBABILITY.")),
    "SpanScore": _obj(
        "The score of a span (a sentence), offsets in UTF-16 code units, end exclusive.",
        begin={"type": "integer", "format": "int32"},
        end={"type": "integer", "format": "int32"},
        score=_ref("Score"),
    ),
    "AttributeScores": _obj(
        "The scores of one attribute.",
        summaryScore=_ref("Score"),
        spanScores={"type": "array", "items": _ref("SpanScore")},
    ),
    "AnalyzeCommentRequest": _obj(
        "Score a comment.",
        comment=_ref("TextEntry"),
        context=_ref("Context"),
        requestedAttributes={"type": "object", "additionalProperties": _ref("AttributeParameters")},
        spanAnnotations={"type": "boolean"},
        languages={"type": "array", "items": {"type": "string"}},
        doNotStore={"type": "boolean"},
        clientToken=_str("Echoed in the response."),
        sessionId=_str("Groups requests of one session."),
        communityId=_str("The community (forum, site) the comment belongs to."),
    ),
    "AnalyzeCommentResponse": _obj(
        "The scores of a comment.",
        attributeScores={"type": "object", "additionalProperties": _ref("AttributeScores")},
        languages={"type": "array", "items": {"type": "string"}},
        detectedLanguages={"type": "array", "items": {"type": "string"}},
        clientToken=_str("As sent."),
    ),
    "SuggestCommentScoreRequest": _obj(
        "A reviewer's scores for a comment, stored as a verdict.",
        comment=_ref("TextEntry"),
        context=_ref("Context"),
        attributeScores={"type": "object", "additionalProperties": _ref("AttributeScores")},
        languages={"type": "array", "items": {"type": "string"}},
        communityId=_str("The community the comment belongs to."),
        clientToken=_str("Echoed in the response."),
    ),
    "SuggestCommentScoreResponse": _obj(
        "Acknowledges a suggested score.",
        detectedLanguages={"type": "array", "items": {"type": "string"}},
        requestedLanguages={"type": "array", "items": {"type": "string"}},
        clientToken=_str("As sent."),
    ),
}

for _name, _schema in SCHEMAS.items():
    _schema["id"] = _name


def _method(name: str, request: str, response: str, description: str) -> dict[str, Any]:
    path = f"v1alpha1/comments:{name}"
    return {
        "id": f"commentanalyzer.comments.{name}",
        "path": path,
        "flatPath": path,
        "httpMethod": "POST",
        "parameters": {},
        "parameterOrder": [],
        "request": _ref(request),
        "response": _ref(response),
        "description": description,
        "scopes": ["https://www.googleapis.com/auth/userinfo.email"],
    }


def document(root_url: str) -> dict[str, Any]:
    """The discovery document with ``rootUrl`` = ``root_url`` (ending in '/')."""
    query = {"type": "string", "location": "query"}
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": "commentanalyzer:v1alpha1",
        "name": "commentanalyzer",
        "canonicalName": "Comment Analyzer",
        "version": "v1alpha1",
        "revision": "20261202",
        "title": "Perspective Comment Analyzer API (Thread Analyzer, local)",
        "description": "Local, Perspective-compatible scoring of comments by Thread Analyzer.",
        "protocol": "rest",
        "rootUrl": root_url,
        "servicePath": "",
        "baseUrl": root_url,
        "batchPath": "batch",
        "mtlsRootUrl": root_url,
        "parameters": {
            "key": {**query, "description": "API key (or an Authorization: Bearer header)."},
            "alt": {**query, "default": "json", "enum": ["json"], "enumDescriptions": ["JSON responses"]},
            "prettyPrint": {"type": "boolean", "location": "query", "default": "true"},
            "fields": {**query, "description": "Ignored."},
            "quotaUser": {**query, "description": "Ignored."},
        },
        "schemas": SCHEMAS,
        "resources": {
            "comments": {
                "methods": {
                    "analyze": _method(
                        "analyze", "AnalyzeCommentRequest", "AnalyzeCommentResponse", "Analyzes a comment."
                    ),
                    "suggestscore": _method(
                        "suggestscore",
                        "SuggestCommentScoreRequest",
                        "SuggestCommentScoreResponse",
                        "Stores a reviewer's scores for a comment as a verdict.",
                    ),
                }
            }
        },
    }
