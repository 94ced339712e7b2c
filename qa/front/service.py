"""The application layer: what every front does the same way. The CLI takes from it the one batch
loop (answered, batch_row), the excerpt a reference shows (excerpt, the shell's :show too) and the
index list (listing); `kzqa serve` and `kzqa mcp` also the served reports, each loaded once, and the
calls they make (ask, batch, show, toc, reports), each returning the JSON the CLI prints (`kzqa
ask --json`, a `kzqa batch` row, `kzqa show --format json`, `kzqa toc --format json`, a `kzqa
list --json` row).

No web framework here: the HTTP app (qa/front/server.py) and the MCP server (qa/front/mcp_server.py) are thin
layers over this module. `answer()` is the one place a served answer comes from: it picks the
report(s) and asks, several reports searched as one (qa/index/corpus.py).

Requests are bounded here, for both servers: question length, k, batch size and body size
(qa/settings.py's SERVE_ limits).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import Fix, IndexDamaged, KzqaError
from ..settings import (
    DEFAULT_MODE, MAX_TOC_DEPTH, SERVE_MAX_BATCH_QUESTIONS, SERVE_MAX_BODY_BYTES, SERVE_MAX_K, SERVE_MAX_QUESTION_CHARS,
    SERVE_MAX_REF_CHARS, validate_mode, validate_question,
)
from .hints import explain, words

MAX_BODY_BYTES = SERVE_MAX_BODY_BYTES  # the name qa/front/server.py reads the limit by
MAX_UNIONS = 4  # several-report searches kept loaded at once (each holds its reports' vectors again)
ALL = "all"  # report=all: every served report at once (unless a served report has that name)
WARM_UP_QUESTION = "how many prisoners were released"


class UnknownReport(KzqaError):
    """A report name that this server does not serve."""


class NotReady(KzqaError):
    """The report is still being loaded or indexed: try again in a few seconds."""


class Unavailable(KzqaError):
    """The report could not be loaded; trying again will not help until its index changes."""


class TooLarge(KzqaError):
    """A question, batch or request body over its limit."""


class RequestTimeout(KzqaError):
    """A request whose body did not all arrive in time (HTTP 408)."""


def status_of(exc: KzqaError) -> int:
    """The HTTP status for an error the user can act on."""
    from ..search.outline import RefError

    if isinstance(exc, TooLarge):
        return 413
    if isinstance(exc, RequestTimeout):
        return 408
    if isinstance(exc, (UnknownReport, RefError)):
        return 404
    if isinstance(exc, Unavailable):
        return 500
    if isinstance(exc, (NotReady, IndexDamaged)):
        return 503
    return 400


# ------------------------------------------------------------------ the served reports


@dataclass
class Slot:
    """One served report: loading (or building), ready, or failed."""

    name: str
    state: str = "loading"  # loading | building | ready | failed
    index: object | None = None  # qa.search.pipeline.Index once ready
    error: str | None = None
    listing: dict | None = None  # its `kzqa list --json` row, read once it is ready
    stamp: tuple | None = None  # the index file as it was loaded (see Library.file_stamp); None: missing


class Library:
    """The reports a server answers from, by index name, each loaded once (in a background
    thread, so the server answers `/healthz` and says 503 while an index is built), and loaded
    again when its index file changes on disk (rebuilt, replaced, moved away or back): every
    request that uses a report, /healthz and /api/reports look first (`refresh`)."""

    def __init__(self, names: Iterable[str] | None = None, index_dir: str | Path | None = None,
                 notify: Callable[[str], None] | None = None) -> None:
        from ..index.naming import DEFAULT_NAME, index_root, resolve_location

        self.names = list(dict.fromkeys(names or [DEFAULT_NAME]))
        self.index_dir = index_dir
        for name in self.names:
            resolve_location(index_dir, name)  # an invalid name is an error now, not in the thread
        self.root = index_root(index_dir)
        self.slots = {name: Slot(name) for name in self.names}
        self._notify = notify or (lambda msg: print(f"kzqa: {msg}", file=sys.stderr, flush=True))
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        # (union, the Indexes it was made of) by set of reports (in served order), least recent first
        self._unions: OrderedDict[tuple[str, ...], tuple] = OrderedDict()

    @property
    def default(self) -> str:
        return self.names[0]

    def public(self, message: str) -> str:
        """`message` as a client may read it: without this machine's paths (the index folder is
        named as such, a file by its name), which are the operator's business, not the client's.
        The server's own log keeps them."""
        import os
        import re

        roots = sorted({str(self.root), os.path.realpath(self.root)}, key=len, reverse=True)
        for root in roots:
            message = message.replace(root + os.sep, "").replace(root, "the index folder")

        def name_only(m: re.Match) -> str:
            path = m.group(0)
            return os.path.basename(path.rstrip("/")) or path if os.path.exists(os.path.dirname(path.rstrip("/"))) else path

        return re.sub(r"(?<![\w.~-])/(?:[^\s/'\"()]+/)+[^\s/'\"(),;]*", name_only, message)

    def check(self) -> None:
        """Fail fast on a named report that is not indexed (the shipped one is built on first use)."""
        from ..index.naming import DEFAULT_NAME
        from ..index.listing import list_indexes

        known = [i.name for i in list_indexes(self.root, check=False)]
        for name in self.names:
            if name != DEFAULT_NAME and name not in known:
                listed = f" (indexed: {', '.join(known)})" if known else ""
                raise KzqaError(f"no index named {name!r} in {self.root}{listed}", Fix.BUILD, name)

    def start(self) -> None:
        """Load every report in a background thread (started once; it stays, to load again a
        report whose index changes)."""
        with self._changed:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._loader, name="kzqa-load", daemon=True)
        self._thread.start()

    def _set(self, slot: Slot, **changes) -> None:
        with self._changed:
            for key, value in changes.items():
                setattr(slot, key, value)
            self._changed.notify_all()

    def file_stamp(self, name: str) -> tuple | None:
        """The index file's identity and times (device, inode, size, mtime, ctime): any rebuild,
        replacement or move changes it; None when there is no file."""
        import os

        from ..index.naming import resolve_location

        try:
            st = os.stat(resolve_location(self.index_dir, name).path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def refresh(self, names: Iterable[str] | None = None) -> None:
        """Notice the served index files (or those of `names`) that changed on disk since they
        were loaded, or since loading them failed: load those again, in the background (503
        meanwhile, never an answer from the build that is gone)."""
        for name in names if names is not None else self.names:
            slot = self.slots.get(name)
            if slot is None or slot.state not in ("ready", "failed"):
                continue
            if self.file_stamp(name) == slot.stamp:
                continue
            with self._changed:
                if slot.state not in ("ready", "failed"):
                    continue
                slot.state, slot.index, slot.listing, slot.error = "loading", None, None, None
                for key in [k for k in self._unions if name in k]:
                    del self._unions[key]
                self._changed.notify_all()
            self._notify(f"index {name!r} changed on disk; loading it again")

    def _loader(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: any(s.state == "loading" for s in self.slots.values()))
                slot = next(s for s in self.slots.values() if s.state == "loading")
            self._load(slot)

    def _load(self, slot: Slot) -> None:
        from ..search.pipeline import Index
        from ..index.open import open_index

        built = []

        def notify(msg: str) -> None:
            if "building" in msg or "rebuilding" in msg:
                built.append(msg)
                self._set(slot, state="building")
            self._notify(msg)

        before = self.file_stamp(slot.name)
        try:
            index = Index(open_index(self.index_dir, slot.name, notify=notify))
            index.ask(WARM_UP_QUESTION, k=1)  # loads the models and lazy tables before the first request
            row = next((r for r in listing(self.root)[1] if r["name"] == slot.name), None)
            changes = dict(index=index, state="ready", error=None, listing=row)
        except KzqaError as exc:  # said with the command that mends it: the one who reads it runs the server
            changes = dict(state="failed", error=explain(exc))
            self._notify(f"error: report {slot.name!r} cannot be served: {explain(exc)}")
        except Exception as exc:  # noqa: BLE001 - one line, the server goes on for the others
            changes = dict(state="failed", error=f"internal error: {exc.__class__.__name__}: {exc}")
            self._notify(f"error: report {slot.name!r} cannot be served: {exc.__class__.__name__}: {exc}")
        # the file as read: after a build of our own, as written; else as it was before reading,
        # so that a change made while it was read is noticed by the next refresh
        self._set(slot, stamp=self.file_stamp(slot.name) if built else before, **changes)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no report is loading; True if all are ready."""
        with self._changed:
            self._changed.wait_for(lambda: all(s.state in ("ready", "failed") for s in self.slots.values()), timeout)
            return all(s.state == "ready" for s in self.slots.values())

    @property
    def ready(self) -> bool:
        return all(s.state == "ready" for s in self.slots.values())

    def states(self) -> dict[str, str]:
        """Each served report's state, as of the index files now on disk."""
        self.refresh()
        return {s.name: s.state for s in self.slots.values()}

    def pick(self, names: Iterable[str] | None) -> list[str]:
        """The reports a request names (default: the first served; "all": every one served, in
        the order served), each known to this server."""
        chosen = [n for n in (names or []) if n] or [self.default]
        if ALL in chosen and ALL not in self.slots:
            return list(self.names)
        for name in chosen:
            if name not in self.slots:
                raise UnknownReport(f"no report named {name!r} is served here; served: {', '.join(self.names)}")
        return list(dict.fromkeys(chosen))

    def searching(self, names: list[str]):
        """The Index that answers from `names`: a report's own, or for several their union (qa/
        index/corpus.py: passages ranked across them on one scale, each citation naming its
        report), made from the loaded reports. Unions are kept by set, not order (the reports in
        the order served), the MAX_UNIONS used last, each only while its reports are the ones
        loaded (a report loaded again makes its unions anew); every one shares the process's one
        encoder session (qa/represent/dense.py), so a client naming ever new combinations cannot
        make the server grow without bound."""
        if len(names) == 1:
            return self.index(names[0])
        wanted = set(names)
        key = tuple(n for n in self.names if n in wanted)
        members = [self.index(name) for name in key]  # each as loaded now; NotReady while one loads
        with self._changed:
            kept = self._unions.get(key)
            if kept is not None and all(a is b for a, b in zip(kept[1], members)):
                self._unions.move_to_end(key)
                return kept[0]
        from ..search.pipeline import Index

        union = Index.union([m.stored for m in members])
        with self._changed:
            self._unions[key] = (union, members)
            self._unions.move_to_end(key)
            while len(self._unions) > MAX_UNIONS:
                self._unions.popitem(last=False)
        return union

    def index(self, name: str | None = None):
        """The loaded Index of a report; NotReady (503) while it loads or if it failed."""
        if name == ALL and ALL not in self.slots:
            raise KzqaError(f"give one report here, not {ALL!r}; served: {', '.join(self.names)}")
        slot = self.slots[self.pick([name] if name else None)[0]]
        self.refresh([slot.name])
        index = slot.index  # read once: a refresh in another thread may clear it
        if slot.state == "ready" and index is not None:
            return index
        if slot.state == "failed":
            raise Unavailable(f"report {slot.name!r} could not be loaded: {slot.error} "
                              "(it is loaded again when its index changes)")
        doing = "being indexed (first use)" if slot.state == "building" else "loading"
        raise NotReady(f"report {slot.name!r} is {doing}; try again in a few seconds")


# ------------------------------------------------------------------ input checks


def check_question(question: object) -> str:
    if question is None:
        raise KzqaError("give a question (q)")
    if not isinstance(question, str):
        raise KzqaError("the question must be text")
    if len(question) > SERVE_MAX_QUESTION_CHARS:
        raise TooLarge(f"the question is too long ({len(question)} characters; the limit is {SERVE_MAX_QUESTION_CHARS})")
    return validate_question(question)


def check_k(k: object) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= SERVE_MAX_K:
        raise KzqaError(f"k must be a whole number from 1 to {SERVE_MAX_K} (got {k!r})")
    return k


def check_mode(mode: object) -> str:
    return validate_mode(mode)


def check_ref(ref: object) -> str:
    if not isinstance(ref, str) or not ref.strip():
        raise KzqaError("the reference is empty; give a passage id, a section (1.c), a heading or a page (p5)")
    if len(ref) > SERVE_MAX_REF_CHARS:
        raise TooLarge(f"the reference is too long ({len(ref)} characters; the limit is {SERVE_MAX_REF_CHARS})")
    return ref


# ------------------------------------------------------------------ the calls


def answer(library: Library, question: str, k: int = 3, mode: str = DEFAULT_MODE, reports: Iterable[str] | None = None) -> dict:
    """The answer to one question as `kzqa ask --json` prints it: the one place answers come from.

    `reports` names the reports to answer from (default: the first served); several are searched
    as one, their passages ranked on one scale and each citing its report. The API, the web page,
    batch and MCP all call this."""
    question = check_question(question)
    k, mode = check_k(k), check_mode(mode)
    return library.searching(library.pick(reports)).ask(question, k=k, mode=mode).to_dict()


def answered(items: Iterable, ask: Callable[[str], object], passes: tuple[type[BaseException], ...] = (),
             internal_errors: bool = False) -> Iterator[tuple[object, object | None, str | None]]:
    """The one batch loop (`kzqa batch` and POST /api/batch): each batch item (qa/front/batch.py's
    BatchItem) with its Answer, or with the error its row carries instead ("line N: why"), one at a
    time so that a caller can write each row as it comes.

    `ask(question)` answers one question under the caller's limits. A KzqaError is the row's
    error, except the `passes` types, which end the whole batch (a report still loading); with
    `internal_errors` any other exception is the row's error too (one bad line must not lose the
    others' answers), unless KZQA_DEBUG is set."""
    for item in items:
        error, result = item.error, None
        if error is None:
            try:
                result = ask(item.question)
            except passes:
                raise
            except KzqaError as exc:
                error = f"line {item.line}: {exc}"
            except Exception as exc:
                if not internal_errors or os.environ.get("KZQA_DEBUG"):
                    raise
                error = f"line {item.line}: internal error: {exc.__class__.__name__}: {' '.join(str(exc).split())[:200]}"
        yield item, result, error


def batch_row(item, result, error: str | None) -> dict:
    """A `kzqa batch` JSON row: the answer with the item's "id" first, or {"id", "line", "error"}."""
    if result is None:
        return {"id": item.id, "line": item.line, "error": error}
    return {"id": item.id} | result.to_dict()


def batch(library: Library, items: list, k: int = 3, mode: str = DEFAULT_MODE, reports: Iterable[str] | None = None) -> list[dict]:
    """`kzqa batch` rows for parsed items (qa/front/batch.py's BatchItem): the answer with its "id", or
    {"id", "line", "error"} for an item that cannot be read or answered."""
    k, mode = check_k(k), check_mode(mode)
    names = library.pick(reports)
    for name in names:
        library.index(name)  # 503 for the whole request while a report loads, not an error per row
    if len(items) > SERVE_MAX_BATCH_QUESTIONS:
        raise TooLarge(f"too many questions ({len(items)}; the limit is {SERVE_MAX_BATCH_QUESTIONS} a request)")

    def ask(question):
        return library.searching(names).ask(check_question(question), k=k, mode=mode)

    return [batch_row(*row) for row in answered(items, ask, passes=(NotReady, Unavailable, UnknownReport))]


JSON_TYPES = ("application/json", "text/json")  # and any application/...+json; JSONL types are text


def media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """'Application/JSON; Charset=UTF-8' -> ('application/json', {'charset': 'utf-8'}): media
    types and their parameter names are case-insensitive (RFC 9110)."""
    kind, *params = content_type.split(";")
    out = {}
    for param in params:
        key, _, value = param.partition("=")
        out[key.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), out


def body_bytes(data: bytes, charset: str | None) -> bytes:
    """A request body as the UTF-8 bytes `kzqa batch` reads: UTF-16 by its byte-order mark (as
    `kzqa batch` reads a file), or the charset the request names."""
    import codecs

    from .batch import from_utf16

    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return from_utf16(data, "the request body")
    if not charset or charset in ("utf-8", "utf8", "us-ascii", "ascii"):
        return data
    try:
        codec = codecs.lookup(charset).name
    except LookupError:
        raise KzqaError(f"the request body's charset {charset[:40]!r} is not one kzqa knows; send UTF-8") from None
    try:
        return data.decode(codec).encode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise KzqaError(f"the request body is not {charset[:40]} text (bad byte at offset {exc.start})") from None


def batch_items(data: bytes, content_type: str = "") -> list:
    """A request body as batch items: a JSON list (of questions, or of {"question", "id"}
    objects), or the text `kzqa batch` reads (one question a line, or JSONL). JSON goes
    through the one bounded decoder (qa/settings.py: depth, number length, text)."""
    from ..settings import decode_json
    from .batch import check_batch_bytes, parse_batch_bytes

    if len(data) > SERVE_MAX_BODY_BYTES:
        raise TooLarge(f"the request body is too large ({len(data)} bytes; the limit is {SERVE_MAX_BODY_BYTES})")
    kind, params = media_type(content_type)
    data = body_bytes(data, params.get("charset"))
    if kind in JSON_TYPES or (kind.startswith("application/") and kind.endswith("+json")):
        value = decode_json(data, "the request body")
        if not isinstance(value, list):
            raise KzqaError('give a JSON list of questions (or of {"question", "id"} objects), or one question a line')
        if not value:
            raise KzqaError("the request has no questions (an empty list)")
        if len(value) > SERVE_MAX_BATCH_QUESTIONS:
            raise TooLarge(f"too many questions ({len(value)}; the limit is {SERVE_MAX_BATCH_QUESTIONS} a request)")
        # each element as the JSONL line `kzqa batch` would read; its place in the list is its line
        lines = [json.dumps(v if isinstance(v, dict) else {"question": v}, ensure_ascii=False) for v in value]
        return parse_batch_bytes("\n".join(lines).encode("utf-8"))
    check_batch_bytes(data, "the request body")
    return parse_batch_bytes(data)


def excerpt(index, ref: str):
    """(the excerpt REF points to, its report) in an open Index: a reference to one report of
    several names it first ('kazakhstan-2023:1.c'). What `kzqa show` and the shell's :show print."""
    from ..search.outline import show as show_ref

    _, report, chunks, rest = index.report_of(ref)
    return show_ref(report, chunks, rest), report


def show(library: Library, ref: str, report: str | None = None) -> dict:
    """What `kzqa show REF --format json` prints: the subsection, section, heading or page."""
    from ..search.outline import show as show_ref
    from .render import excerpt_dict

    ref = check_ref(ref)
    report, ref = report_of_ref(library, ref, report)
    index = library.index(report)
    return excerpt_dict(show_ref(index.report, index.chunks, ref))


def report_of_ref(library: Library, ref: str, report: str | None) -> tuple[str | None, str]:
    """(report, reference) for a reference that may name its report first, as the passage ids of
    a several-report answer do ('eritrea-2011:1.b/1'): that report, the rest of the reference.
    A prefix that contradicts `report` is an error; with report=all the prefix is needed."""
    from ..index.corpus import split_ref

    named, rest = split_ref(ref, library.names)
    if named is None:
        if report == ALL and ALL not in library.slots:
            raise KzqaError(f"{len(library.names)} reports are served; put the report's name before the reference: "
                            + ", ".join(f"{n}:{ref.strip()}" for n in library.names[:2]) + ", ...")
        return report, ref
    if report and report not in (named, ALL):
        raise KzqaError(f"the reference {ref.strip()!r} is in report {named!r}, not {report!r}")
    return named, rest


def toc(library: Library, report: str | None = None, depth: int = MAX_TOC_DEPTH) -> dict:
    """What `kzqa toc --format json` prints: the title, page count and outline entries."""
    from .render import toc_json

    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= MAX_TOC_DEPTH:
        raise KzqaError(f"depth must be {', '.join(map(str, range(1, MAX_TOC_DEPTH)))} or {MAX_TOC_DEPTH} (got {depth!r})")
    return json.loads(toc_json(library.index(report).report, depth))


def listing(index_dir: str | Path | None = None) -> tuple[Path, list[dict]]:
    """The index folder and its indexes as `kzqa list --json` rows, each checked the way `ask`
    would check it (nothing is built or changed)."""
    from ..index.listing import list_indexes
    from ..index.naming import index_root

    root = index_root(index_dir)
    rows = []
    for info in list_indexes(root):
        row = info.row()
        if row["problem"]:
            row["problem"] += words(info.fix, info.name)
        rows.append(row)
    return root, rows


def reports(library: Library) -> list[dict]:
    """The served reports: name, title, pages, passages, whether it is the default, its
    `kzqa list` status (checked when it was loaded) and its state in this server."""
    library.refresh()
    out = []
    for name, slot in library.slots.items():
        row = slot.listing or {}
        index = slot.index
        out.append({
            "name": name,
            "default": name == library.default,
            "title": row.get("title") or (index.report.title if index is not None else None),
            "pages": row.get("pages"),
            "passages": row.get("chunks"),
            "status": row.get("status") if row else None,
            "problem": library.public(row["problem"]) if row.get("problem") else None,
            "state": slot.state,
            "error": library.public(slot.error) if slot.error else None,
        })
    return out
