"""A dump's lines, read once from start to end: zstd decompressed on the fly (frame after
frame, with the long window Pushshift writes), every line a JSON object or an ``InputError``
naming its number. Nothing here knows what the objects mean (``reddit_dump`` does)."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from analyzer.parsers.base import Source

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAX_WINDOW = 2**31  # Pushshift compresses with --long=31
_SNIFF = 65536


def is_zstd(head: bytes) -> bool:
    """Whether these first bytes open a zstd frame (a compressed dump, whatever its name)."""
    return head.startswith(ZSTD_MAGIC)


def head_of(path: Path) -> bytes:
    """The first bytes of a file, decompressed when it is zstd ('' when unreadable)."""
    try:
        with path.open("rb") as f:
            raw = f.read(_SNIFF)
            if not is_zstd(raw):
                return raw
            f.seek(0)
            import zstandard

            reader = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW).stream_reader(f)
            return reader.read(_SNIFF)
    except Exception:  # unreadable, corrupt: the parse that follows says why
        return b""


@contextlib.contextmanager
def _lines(src: Source) -> Iterator[IO[bytes]]:
    """A binary line reader over the file or bytes, decompressing zstd on the fly."""
    with contextlib.ExitStack() as stack:
        raw: IO[bytes]
        if src.path is not None and not src.data:
            raw = stack.enter_context(src.path.open("rb"))
        else:
            raw = io.BytesIO(src.data)
        head = raw.read(4)
        raw.seek(0)
        if is_zstd(head):
            raw = stack.enter_context(io.BufferedReader(_ZstdStream(raw), buffer_size=1 << 20))
        yield raw


class _ZstdStream(io.RawIOBase):
    """Decompressed bytes of a zstd file, frame after frame, with the long window dumps use.
    A stream cut off inside a frame is an error (``zstandard``'s stream reader would just
    stop, and the dump would silently lose its end). Input goes in small pieces, so that a
    crafted file (zstd encodes 128 KiB of one byte in four) cannot blow up one output."""

    _PIECE = 2048

    def __init__(self, raw: IO[bytes]) -> None:
        import zstandard

        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW)
        self._obj = self._dctx.decompressobj()
        self._fed = False  # the current frame has had input
        self._input = memoryview(b"")
        self._out = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._out and not self._done:
            self._step()
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _step(self) -> None:
        if not self._input:
            chunk = self._raw.read(1 << 20)
            if not chunk:
                if self._fed and not self._obj.eof:
                    raise ValueError("the zstd stream ends inside a frame (the file is cut off)")
                self._done = True
                return
            self._input = memoryview(chunk)
        piece, self._input = self._input[: self._PIECE], self._input[self._PIECE :]
        self._fed = True
        out = self._obj.decompress(piece)
        if self._obj.eof:  # the frame ended inside this piece: the rest starts the next frame
            rest = self._obj.unused_data
            self._obj = self._dctx.decompressobj()
            self._fed = False
            if rest:
                self._input = memoryview(bytes(rest) + bytes(self._input))
        self._out = memoryview(out)


def rows(src: Source, max_line: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; anything else is an InputError."""
    with _lines(src) as f:
        number = 0
        while True:
            try:
                line = f.readline(max_line + 1)
            except Exception as exc:  # zstd: corrupt or cut-off frames
                raise src.fail(
                    f"the compressed data is damaged or cut off ({type(exc).__name__}: {exc})",
                    where=f"after line {number}",
                ) from None
            if not line:
                return
            number += 1
            if len(line) > max_line and not line.endswith(b"\n"):
                raise src.fail(f"a line over {max_line:,} bytes: not a Reddit dump line", where=f"line {number}")
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except RecursionError:
                raise src.fail("JSON nested too deeply to read", where=f"line {number}") from None
            except ValueError as exc:
                msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                raise src.fail(f"invalid JSON: {msg}", where=f"line {number}") from None
            if not isinstance(row, dict):
                raise src.fail("expected a JSON object", where=f"line {number}")
            yield number, row
