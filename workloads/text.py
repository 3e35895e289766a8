"""Provides visible(): text from outside concviz made safe to show, control characters spelled out.

Results, error messages, trace files, URLs and file names can hold terminal escape sequences
(``ESC ] 0 ;`` sets the window title, ``ESC ] 52 ;`` writes the clipboard, ``ESC [ 2 J`` clears
the screen), bidirectional overrides that make text read other than it is, and lone surrogates
that no terminal encoding accepts. Shown raw, they act on the user's terminal instead of being
read. Every such string passes through :func:`visible` where it enters concviz's data, so the
screens and the command line only ever print what a reader can see.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

# Categories whose characters act instead of showing: controls (C0, DEL, C1), format characters
# (bidi overrides and isolates, zero-width marks, soft hyphen), surrogates, line and paragraph
# separators. Spaces other than " ", private-use and not-yet-assigned characters print as
# glyphs (or as nothing) and do no harm, so they stay.
_UNSAFE_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_DEPTH = 8  # nested data deeper than this is not shown (run info is a few levels deep)


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


@lru_cache(maxsize=8)
def _controls(keep: str) -> re.Pattern[str]:
    """C0, DEL and C1 controls except those in ``keep``: the common case, done in C."""
    kept = {ord(char) for char in keep}
    codes = [code for code in (*range(0x20), *range(0x7F, 0xA0)) if code not in kept]
    return re.compile("[" + "".join(f"\\x{code:02x}" for code in codes) + "]")


def _safe(char: str, keep: str) -> bool:
    return (
        char.isprintable() or char in keep or unicodedata.category(char) not in _UNSAFE_CATEGORIES
    )


def visible(text: str, keep: str = "") -> str:
    """``text`` with every character that would act on a terminal written out as an escape.

    ESC becomes ``\\x1b``, BEL ``\\x07``, a tab ``\\t``, a right-to-left override ``\\u202e``, a
    lone surrogate ``\\udc80``. ``keep`` names the characters the caller shows as they are
    (``"\\n"`` for a multi-line stack, ``"\\n\\t"`` for a log). Text with nothing to escape is
    returned as it is, after one C-speed check: results pass here once per task.
    """
    if text.isprintable():
        return text
    text = _controls(keep).sub(lambda match: _escape(match.group()), text)
    if text.isprintable() or all(_safe(char, keep) for char in text):
        return text
    return "".join(char if _safe(char, keep) else _escape(char) for char in text)


def visible_data(value: Any, depth: int = 0) -> Any:
    """JSON-like data (run info, a run's details) with every string in it made visible.

    Keys too. Lists stay lists and tuples tuples; containers nested deeper than a run's info
    ever is are left out (empty), so a structure that contains itself ends too.
    """
    if isinstance(value, str):
        return value if value.isprintable() else visible(value)
    if isinstance(value, dict):
        if depth >= _DEPTH:
            return {}
        return {
            visible(key) if isinstance(key, str) else key: visible_data(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [visible_data(item, depth + 1) for item in value] if depth < _DEPTH else []
    if isinstance(value, tuple):
        return tuple(visible_data(item, depth + 1) for item in value) if depth < _DEPTH else ()
    return value
