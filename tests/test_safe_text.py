"""dashboard.shell.safe_text.md: text from files and other visitors stays text inside Streamlit's markdown.
The browser test (test_e2e_browser.py) checks what Streamlit's renderer makes of it."""

from __future__ import annotations

import re
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.shell.safe_text import MAX_SHOWN, md, plain

ATTACKS = [
    "[**Session expired: sign in again**](http://evil.example/login)",
    "![t](http://evil.example/pixel.png)",
    "<img src=x onerror=alert(1)>", "<a href='http://evil.example'>x</a>",
    "http://evil.example/a", "www.evil.example", "mail me: a@evil.example",
    ":red[alarm] :material/warning: :rainbow[x]", "$\\frac{1}{2}$", "# Heading", "- item", "1. item",
    "> quote", "| a | b |", "&lt;script&gt;", "`code`", "**bold** _it_ ~~strike~~", "line\nbreak\r\n# h",
]


# what remark-gfm turns into a link in a text node, after escapes are resolved
BARE_LINK = re.compile(r"(?i)(https?|ftp|mailto):|www\.|[\w.+-]@[\w-]")


def resolved(markdown: str) -> str:
    """The text node a markdown renderer builds: escapes resolved (invisible joiners kept)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def unescaped(text: str, chars: str) -> list[str]:
    """Characters of `chars` in `text` not preceded by an escaping backslash."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 2
            continue
        if text[i] in chars:
            out.append(text[i])
        i += 1
    return out


def test_attacks_become_literal_text():
    for a in ATTACKS:
        m = md(a)
        assert not unescaped(m, "[]()<>!*_`~$|&#@\n"), (a, m)
        assert not re.search(r"(?<!\\):[A-Za-z/]", m), (a, m)  # no directive, icon or URL scheme
        assert not BARE_LINK.search(resolved(m)), (a, m)  # no GFM autolink in the text it renders
        assert not re.match(r"\s*([-+>]|\d+[.)]\s)", m), (a, m)  # no list, quote or heading
        assert plain(m) == a.replace("\r\n", " ").replace("\n", " ")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "äé€…", max_size=200)
       | st.lists(st.sampled_from(["http", "://", "www", ".", "@", "a", "b", " ", "\\", ":", "mailto"]),
                  max_size=30).map("".join))
def test_every_text_round_trips_and_every_escape_is_a_real_one(text):
    m = md(text)
    # CommonMark escapes only ASCII punctuation: a backslash before anything else would show
    assert all(m[i + 1] in string.punctuation for i in range(len(m) - 1)
               if m[i] == "\\" and (i == 0 or m[i - 1] != "\\" or _escaped_at(m, i - 1)))
    assert plain(m) == re.sub(r"[\r\n\t\v\f]+", " ", text)
    assert not unescaped(m, "[]()<>!`$|&@")
    assert not BARE_LINK.search(resolved(m))


def _escaped_at(m: str, i: int) -> bool:
    """True when the backslash at i is itself escaped (preceded by an odd run of backslashes)."""
    run = 0
    while i - run - 1 >= 0 and m[i - run - 1] == "\\":
        run += 1
    return run % 2 == 1


def test_long_values_are_cut():
    assert len(plain(md("x" * 10_000))) == MAX_SHOWN
