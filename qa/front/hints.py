"""The kzqa command that mends a library error: what the CLI, the shell and the server's log add
to the message of an error that carries a Fix (qa/errors.py), so that the library itself names
no command and each action is worded once, here."""

from __future__ import annotations

from ..errors import Fix


def index_command(name: str | None) -> str:
    """The command that builds index `name` (None or the default name: the shipped report's)."""
    from ..index.naming import DEFAULT_NAME

    return "kzqa index" if name in (None, DEFAULT_NAME) else f"kzqa index FILE --name {name}"


def hint(exc: BaseException, building: bool = False) -> str:
    """What follows the message of `exc`, from its separator on ("" when it carries no Fix).
    `building`: the user is running `kzqa index`, so an option of it is hint enough."""
    return words(getattr(exc, "fix", None), getattr(exc, "index", None), building)


def words(fix: Fix | None, name: str | None = None, building: bool = False) -> str:
    """A Fix as the kzqa command (or option) that takes it, for index `name`, from its separator on."""
    command = index_command(name)
    if fix is Fix.BUILD:
        return "; build them with: kzqa index FILE-OR-FOLDER" if name is None else f"; build it with: {command}"
    if fix is Fix.REBUILD:
        return f"; rebuild {'the index' if name is None else 'it'} with: {command} --rebuild"
    if fix is Fix.UPGRADE:
        return "; upgrade kzqa, or give --rebuild to replace it" if building else f"; upgrade kzqa, or replace it with: {command} --rebuild"
    if fix is Fix.REPLACE:
        return "; give another --name, or --rebuild to replace it"
    if fix is Fix.RENAME:
        return " (--name)"
    if fix is Fix.CLEAR:
        return "; remove it or give another --name"
    if fix is Fix.INDEX_DIR:
        return "; give another --index-dir"
    if fix is Fix.EVAL_SET:
        return " (give one with --questions FILE)"
    if fix is Fix.OUTLINE:
        return "; `kzqa toc` lists the sections and headings"
    return ""


def explain(exc: BaseException, building: bool = False) -> str:
    """The message of `exc` with the command that mends it."""
    return f"{exc}{hint(exc, building)}"
