"""One benchmark's section of benchmarks/README.md, between its start and end markers, replaced
in place (or appended the first time): each script writes only its own tables."""

from __future__ import annotations

import re
from pathlib import Path


def write_section(path: Path, text: str, start: str, end: str) -> None:
    """Put `text` (which begins with `start` and ends with `end`) into the file at `path`."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in old and end in old:
        new = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: text, old, flags=re.S)
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)


def publish(text: str, readme: str | Path | None, start: str, end: str) -> None:
    """Print a benchmark's whole section, and put it into `readme` when one is named."""
    print(text)
    if readme:
        write_section(Path(readme), text, start, end)
