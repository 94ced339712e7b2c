"""Where indexes live and what they are called: the index root (KZQA_INDEX_DIR, a checkout's
index/, or the user's cache), an index's file in it, the rule for names, and the name a report
file gets (its country and year)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import Fix, KzqaError
from ..settings import MAX_INDEX_NAME_CHARS
from .format import SUFFIX


DEFAULT_NAME = "kazakhstan-2011"


ENV_INDEX_DIR = "KZQA_INDEX_DIR"


def expand_dir(path: str | Path) -> Path:
    """A folder named by the user, with ~ expanded; a one-line error when it cannot be."""
    try:
        return Path(path).expanduser()
    except RuntimeError:  # "~nouser/x"
        raise KzqaError(f"cannot find the home folder in {str(path)!r} (no such user?)") from None


def default_index_root() -> Path:
    """KZQA_INDEX_DIR, else `index/` of a source checkout, else the per-user cache folder."""
    env = os.environ.get(ENV_INDEX_DIR)
    if env:
        return expand_dir(env)
    checkout = Path(__file__).resolve().parents[2]
    pyproject = checkout / "pyproject.toml"
    if pyproject.is_file() and 'name = "kzqa"' in pyproject.read_text(encoding="utf-8", errors="replace"):
        return checkout / "index"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "kzqa"


def index_root(index_dir: str | Path | None = None) -> Path:
    """The folder of indexes: the one given, else the default (default_index_root)."""
    return expand_dir(index_dir) if index_dir else default_index_root()


@dataclass
class IndexLocation:
    root: Path
    name: str = DEFAULT_NAME

    @property
    def path(self) -> Path:
        """The index's database file."""
        return self.root / f"{self.name}{SUFFIX}"

    @property
    def legacy_folder(self) -> Path:
        """Where kzqa 0.1.0 (index format 1) kept this index: a folder with manifest.json."""
        return self.root / self.name


def resolve_location(index_dir: str | Path | None = None, name: str | None = None) -> IndexLocation:
    root = index_root(index_dir)
    name = DEFAULT_NAME if name is None else name
    problem = name_problem(name)
    if problem:
        raise KzqaError(f"invalid index name {name[:MAX_INDEX_NAME_CHARS + 20]!r}: {problem}")
    return IndexLocation(root, name)


def name_problem(name: str) -> str | None:
    """Why `name` cannot name an index (None: it can)."""
    if not name:
        return "it is empty"
    if len(name) > MAX_INDEX_NAME_CHARS:
        return f"at most {MAX_INDEX_NAME_CHARS} characters (this has {len(name)})"
    if not all((c.isascii() and c.isalnum()) or c in "-_." for c in name):
        return "use letters, digits, '-', '_' and '.'"
    if not name[0].isalnum():
        return "it must start with a letter or a digit"
    if name.endswith(SUFFIX):
        return f"leave out {SUFFIX}"
    return None


def valid_name(name: str) -> bool:
    return name_problem(name) is None


def check_root(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise KzqaError(f"the index folder {root} is a file, not a folder", Fix.INDEX_DIR)


def refuse_links(root: Path, path: Path) -> None:
    """Every write under an index folder goes through here first: `path` (a file or folder inside
    `root`) is written only if neither it nor a folder between `root` and it is a symbolic link.
    A link there would send the write elsewhere (another index, a file outside the folder: a
    rebuild through `foo.sqlite -> eritrea-2011.sqlite` overwrote eritrea-2011). The root
    itself may be a link: the user named it."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = (path.name,)
        root = path.parent
    here = root
    for part in parts:
        here = here / part
        if here.is_symlink():
            what = "a symbolic link to nothing" if not here.exists() else "a symbolic link"
            raise KzqaError(f"{here} is {what}; kzqa never writes through a link: remove it")


REPORT_SUFFIXES = (".txt", ".md", ".pdf")


def report_files(folder: Path) -> list[Path]:
    """The report files of a folder, by name: every .txt, .md and .pdf (not hidden, not in subfolders)."""
    try:
        found = [p for p in folder.iterdir() if p.suffix.lower() in REPORT_SUFFIXES and not p.name.startswith(".") and p.is_file()]
    except OSError as exc:
        raise KzqaError(f"cannot read folder {folder}: {exc.strerror or exc}") from None
    return sorted(found, key=lambda p: p.name)


def derived_name(path: Path) -> str:
    """The index name for a report file: its country and year ("kazakhstan-2023"), read from
    its text (else its file name); the file's stem for a document that is not a report."""
    from ..document import slugify
    from ..ingest.parse import parse_source
    from ..ingest.sources import load_source

    report = parse_source(load_source(path), path.stem)
    if report.structured and report.country:
        return slugify(f"{report.country} {report.year}" if report.year else report.country)[:MAX_INDEX_NAME_CHARS]
    return slugify(path.stem)[:MAX_INDEX_NAME_CHARS]


def free_name(path: Path, taken: set[str]) -> str:
    """The index name of a folder's report: its country and year, else its file's name, else the
    first of country-year-2, -3, ... that is not `taken`."""
    from ..document import slugify

    derived = derived_name(path)
    for name in (derived, slugify(path.stem)):
        if name not in taken:
            return name
    k = 2
    while f"{derived}-{k}" in taken:
        k += 1
    return f"{derived}-{k}"


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new file in `folder` durable (best effort: not every file system can)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
