"""Every parse runs under one guard: whatever a parser raises leaves as an ``InputError``
naming the file, and every thread it returns is held to the size limits (and cleaned of
lone surrogates) before anyone else sees it. Random bytes must not crash the tool that
reads them."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from analyzer.errors import InputError
from analyzer.limits import env_var
from analyzer.parsers.base import FLAG_TRUNCATED, Context, Source
from analyzer.text import clean_json_value, without_lone_surrogates
from analyzer.thread import Thread


def guard(src: Source, fmt: str | None, run: Callable[[], list[Thread]]) -> list[Thread]:
    """Run a parse; anything but an ``InputError`` becomes one (chained, so tests can tell
    a deliberate refusal from a parser bug)."""
    try:
        with _gc_paused():
            return run()
    except InputError:
        raise
    except RecursionError as exc:
        raise src.fail("nested too deeply to read") from exc
    except MemoryError as exc:
        raise src.fail("too large to parse in the memory available") from exc
    except Exception as exc:
        what = f"as {fmt}" if fmt else "in any known format"
        raise src.fail(f"could not be read {what}: {type(exc).__name__}: {exc}") from exc


def guard_iter(src: Source, fmt: str, threads: Iterator[Thread], ctx: Context) -> Iterator[Thread]:
    """``guard`` for a stream of threads: each step guarded, each thread held to the limits."""
    while True:
        batch = guard(src, fmt, lambda: list(itertools.islice(threads, 1)))
        if not batch:
            return
        apply_limits(batch, src, ctx)
        yield batch[0]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing allocates millions of objects that all stay alive; Python's cycle collector
    would rescan them again and again (40% of the time for big files). Parsers make no
    reference cycles that outlive a comment, so collecting is left for afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def apply_limits(threads: list[Thread], src: Source, ctx: Context) -> None:
    """Refuse oversized threads; cut overlong texts, flagging them with their length.

    Also replaces lone surrogates in texts, author names and platform extras with U+FFFD:
    JSON can escape half a character ("\\ud83d"), and no encoder, tokenizer or database
    accepts one."""
    max_comments = ctx.limits.max_comments_per_thread
    max_chars = ctx.limits.max_comment_chars
    for t in threads:
        if len(t.comments) > max_comments:
            raise src.fail(
                f"thread {t.id} has {len(t.comments):,} comments, over the limit of {max_comments:,} "
                f"(raise it with {env_var('max_comments_per_thread')})"
            )
        nodes = itertools.chain((t.post,), t.comments) if t.post is not None else t.comments
        cut = 0
        for c in nodes:  # inline, not a call per comment: this runs over millions of them
            c.text = without_lone_surrogates(c.text)
            if c.author is not None:
                c.author = without_lone_surrogates(c.author)
            if c.extra:
                c.extra = clean_json_value(c.extra)
            if len(c.text) > max_chars:
                c.extra["original_length"] = len(c.text)
                c.text = c.text[:max_chars]
                c.flags.append(FLAG_TRUNCATED)
                cut += 1
        if cut:
            t.extra["truncated_comments"] = cut  # summaries say so, naming the limit
