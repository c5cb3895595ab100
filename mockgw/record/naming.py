"""Readable, stable names: `2.x/agent-which-rivers-flow`, numbered on a clash, in first-recorded order."""

from __future__ import annotations

import re

WORDS_IN_NAME = 3
MAX_NAME = 48


def slug(text: str, words: int = WORDS_IN_NAME) -> str:
    """The first few words of `text`, lower-case, joined by `-` (`Which rivers flow through Paris?` →
    `which-rivers-flow`)."""
    found = re.findall(r"[a-z0-9]+", text.lower())[:words]
    return "-".join(found)[:MAX_NAME].strip("-")


def generation(profile: str) -> str:
    """The folder of a profile's generation, as the bundled library is laid out (`1.x`, `2.x`)."""
    return f"{profile.split('.', 1)[0]}.x"


class Names:
    """Hands out unique names: the first `agent-alice`, then `agent-alice-2`, …"""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def take(self, base: str) -> str:
        name, n = base, 1
        while name in self._used:
            n += 1
            name = f"{base}-{n}"
        self._used.add(name)
        return name
