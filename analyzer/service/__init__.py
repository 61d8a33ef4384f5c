"""``analyzer serve``: the local scoring service (a drop-in for Perspective API, plus whole
threads). Needs the ``[serve]`` extra (FastAPI, uvicorn).

Modules, by what they hold: ``config`` (settings), ``core`` (models, micro-batching, the
store writer), ``perspective`` (Perspective's JSON in and out), ``discovery`` (the discovery
document Google's client reads), ``native`` (our own ``/v1`` routes), ``guard`` (caps, keys,
rate limits, errors in Google's shape), ``keys``, ``batching``, ``storage``, ``app``.
"""
