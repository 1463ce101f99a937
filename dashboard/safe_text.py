"""User-supplied text made harmless where it is shown or exported: file and ZIP member names, typed paths.

Streamlit renders Markdown in ``st.markdown``, alerts, captions and image captions: a file called
``![x](https://host/p.png).png`` would make every viewer's browser fetch from that host, and ``:red[...]`` or
``$...$`` would restyle the page. :func:`name` backslash-escapes every ASCII punctuation character (CommonMark
escapes each one, so the text shows literally). :func:`csv_rows` neutralises spreadsheet formulas (OWASP CSV
injection): a cell starting with ``= + - @``, a tab or a carriage return gets a leading apostrophe.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Any

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def name(text: Any) -> str:
    """``text`` (a file name, a ZIP member, any user-supplied string) as Markdown that shows it literally.

    Control characters become spaces (a newline would start a new Markdown block).
    """
    return _PUNCTUATION.sub(r"\\\1", _CONTROL.sub(" ", str(text)))


def csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'``; any other value unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Batch rows with every text cell passed through :func:`csv_cell` (numbers stay numbers)."""
    return [{key: csv_cell(value) for key, value in row.items()} for row in rows]
