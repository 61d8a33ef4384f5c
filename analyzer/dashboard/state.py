"""Session-state keys that more than one page reads or writes. They live here, not in a
view, because a view never imports another (docs/ARCHITECTURE.md)."""

from __future__ import annotations

FLASH = "flash"  # a message one page leaves for the page it sends the reader to (e.g. an import summary)
