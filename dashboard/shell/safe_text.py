"""Text that came from a file, an upload or another visitor, made safe to put inside the
markdown that Streamlit renders (st.markdown, st.caption, st.error, metric labels, …).

    st.caption(f"trained on {md(entry.dataset)}")

Backslash-escaped (CommonMark: an escaped character is always literal text) is every
character that can open a construct: links and images (`[ ] ( ) !`), HTML and autolinks
(`< >`, `@` of an e-mail, `:` of `http://`), emphasis and code (`*`, `_`, `~`, backticks), tables (`|`),
entities (`&`), LaTeX (`$`), Streamlit's colour and icon directives (`:red[`, `:material/`)
and a block marker at the start (`#`, `>`, `-`, `+`, `1.`). Line breaks become spaces, so
a value cannot start a block of its own. Other punctuation stays as it is, so the text reads
the same in the page source and in tests.

Escapes cannot stop GFM's bare-URL links: Streamlit's renderer (remark-gfm) finds `http://`,
`www.` and `name@host` in the text after escapes are resolved (measured in headless Chromium,
tests/test_e2e_hosted.py). There an invisible WORD JOINER (U+2060) goes inside the pattern
("http⁠://", "www⁠.", "name⁠@host"): it reads and copies the same, and no link is formed.
"""

from __future__ import annotations

import re

_ALWAYS = re.compile(r"([\\`*_\[\](){}<>!$~|&#@])")
_COLON = re.compile(r":(?=[A-Za-z0-9/])")  # :red[…], :material/…:, :smile:, http://
_JOINER = "\u2060"
_SCHEME = re.compile(r"(?i)(https?|ftp|mailto|www)(?=\\?[:.])")  # http://…, www.…
_AT = re.compile(r"(?=\\@)")  # name@host.org (the @ is escaped by then)
_BLOCK_START = re.compile(r"^(\s*)([-+>=])")  # a list item, quote or heading underline
_ORDERED_START = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")  # "1. " starts an ordered list
_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")
MAX_SHOWN = 300  # a value longer than this is cut: a file can hold megabytes of "name"


def md(value, limit: int = MAX_SHOWN) -> str:
    """`value` as literal text inside markdown."""
    text = _BREAKS.sub(" ", str(value))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = _COLON.sub(r"\\:", _ALWAYS.sub(r"\\\1", text))
    text = _AT.sub(_JOINER, _SCHEME.sub(lambda m: m.group(1) + _JOINER, text))
    text = _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return _ORDERED_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def plain(markdown: str) -> str:
    """The text `md` escaped, as a reader sees it (what tests compare)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(_JOINER, "")
