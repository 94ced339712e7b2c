"""The one exception type users see: its message is a complete one-line explanation of what is
wrong, in the library's words.

The library names no command: where one action would mend the problem, the error says which in
`fix` (a Fix), with the index it concerns in `index`, and each front end words that action in
its own terms (the CLI, the shell and the server's log name the kzqa command: qa/front/hints.py)."""

from __future__ import annotations

from enum import Enum


class Fix(Enum):
    """The action that would mend a problem (for a front end to word), and what `index` means for it."""

    BUILD = "build"  # build the index: it was never built, or its first build did not finish (index None: any report)
    REBUILD = "rebuild"  # build the index again from its report (index None: the one in use)
    UPGRADE = "upgrade"  # a newer kzqa wrote the index: upgrade kzqa, or rebuild it to replace it
    REPLACE = "replace"  # the index holds another report: use another name, or rebuild it to replace it
    RENAME = "rename"  # the index name is kept for another report: use another name
    CLEAR = "clear"  # a file kzqa did not write has the index's name: remove it, or use another name
    INDEX_DIR = "index-dir"  # the index folder cannot be used: give another
    EVAL_SET = "eval-set"  # no eval set where one was looked for: give one
    OUTLINE = "outline"  # a reference that names nothing: passage ids come with answers, headings in the outline


class KzqaError(Exception):
    """A problem the user can act on (bad input, unusable index, missing file)."""

    def __init__(self, message: str = "", fix: Fix | None = None, index: str | None = None) -> None:
        super().__init__(message)
        self.fix = fix
        self.index = index


class IndexDamaged(KzqaError):
    """The index folder exists but its files are unreadable, truncated or inconsistent."""
