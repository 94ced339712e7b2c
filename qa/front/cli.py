"""The `kzqa` command: a thin click layer that parses options, calls the application layer
(qa/front/service.py: the batch loop, the excerpt a REF shows, the index list) and the stages
(kzqa eval's sets: qa/evaluation/evalset.py), and prints the results (qa/front/render.py).

Errors the user can act on print one line on stderr and exit 1, with the command that mends them
(qa/front/hints.py: the library names none); usage errors exit 2 (click).

Why one file of ~790 lines: it is the commands' options and help texts (most of its length) and the
few helpers they share (loading with progress, the output switches); split by command, each file
would import the same helpers back.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from pathlib import Path

import click

from .. import __version__
from ..errors import KzqaError
from ..settings import (
    DEFAULT_MODE, EVAL_SETS, EVAL_SPLITS, FORMATS, MAX_BATCH_BYTES, MAX_K, MAX_STDIN_QUESTION_BYTES, MAX_TOC_DEPTH, MODES,
)
from .output import OutputFile, guard_standard_streams, write_stdout
EXIT_ERROR = 1
EXIT_INTERNAL = 3


def fail(message: str, code: int = EXIT_ERROR) -> None:
    click.echo(f"kzqa: error: {message}", err=True)
    sys.exit(code)


def handle_errors(fn):
    """Turn every failure into one line on stderr and a non-zero exit; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except KzqaError as exc:
            from .hints import explain

            ctx = click.get_current_context(silent=True)
            fail(explain(exc, building=ctx is not None and ctx.info_name == "index"))
        except KeyboardInterrupt:
            click.echo("kzqa: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            # the reader went away (e.g. `| head`): not an error worth a message
            try:
                sys.stdout = open(os.devnull, "w")
            finally:
                sys.exit(0)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except MemoryError:
            fail("out of memory", EXIT_INTERNAL)
        except Exception as exc:  # the last line of defence: one line, with a way to see more
            if os.environ.get("KZQA_DEBUG"):
                raise
            fail(f"internal error: {exc.__class__.__name__}: {exc} (set KZQA_DEBUG=1 for a traceback)", EXIT_INTERNAL)

    return wrapper


INDEX_DIR_OPTION = click.option(
    "--index-dir", type=click.Path(file_okay=True, dir_okay=True, path_type=Path), envvar="KZQA_INDEX_DIR",
    default=None, help="Folder that holds the indexes [env: KZQA_INDEX_DIR; default: index/ of a checkout, else ~/.cache/kzqa].",
)


def index_options(fn):
    fn = click.option(
        "--index", "--report", "index_name", metavar="NAME", default=None,
        help="Which indexed report to use (see `kzqa list`); default: the shipped Kazakhstan 2011 report.",
    )(fn)
    return INDEX_DIR_OPTION(fn)


class BuildProgress:
    """A progress bar on stderr for index builds, created on the first update so that a run that
    builds nothing imports and prints nothing (plain lines when stderr is not a terminal)."""

    def __init__(self) -> None:
        self._bar = None
        self._tasks: dict[str, int] = {}
        self._said: set[str] = set()
        self._terminal: bool | None = None

    def __call__(self, step: str, done: int, total: int) -> None:
        if self._terminal is None:
            self._terminal = sys.stderr.isatty()
        if not self._terminal:
            if step not in self._said:
                self._said.add(step)
                click.echo(f"kzqa: index: {step}...", err=True)
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                console=Console(stderr=True), transient=True,
            )
            self._bar.start()
        if step not in self._tasks:
            self._tasks[step] = self._bar.add_task(step, total=total)
        self._bar.update(self._tasks[step], completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _notify(msg: str) -> None:
    """What the index layer tells the user while it works (a rebuild and why), on stderr."""
    click.echo(f"kzqa: {msg}", err=True)


def _load(index_dir, index_name):
    return _open(index_dir, [index_name])


def _open(index_dir, names: list[str | None]):
    """Open the named indexes (None: the default one), building where needed with a progress
    bar; several are searched as one."""
    from ..search.pipeline import Index
    from ..index.open import open_index

    progress = BuildProgress()
    try:
        stored = [open_index(index_dir, n, notify=_notify, progress=progress) for n in names]
    finally:
        progress.close()
    return Index.union(stored)


def _load_reports(index_dir, names, all_reports=False):
    """The Index to ask: the default report, one named report, or several (--report given more
    than once, or --all) searched as one."""
    from ..facade import report_names

    names = list(dict.fromkeys(names or ()))
    if all_reports and names:
        raise click.UsageError("--all and --report name the reports two ways; give one")
    if all_reports:
        names = report_names("all", index_dir)
    return _open(index_dir, names or [None])


def reports_options(fn):
    """--report NAME (repeatable) and --all, for the commands that answer questions."""
    fn = click.option(
        "--all", "all_reports", is_flag=True,
        help="Answer from every indexed report at once (see `kzqa list`); each citation names its report.",
    )(fn)
    fn = click.option(
        "--report", "--index", "index_name", metavar="NAME", multiple=True,
        help="Which indexed report to ask (see `kzqa list`); give it several times to ask several at once. "
             "Default: the shipped Kazakhstan 2011 report.",
    )(fn)
    return INDEX_DIR_OPTION(fn)


def _read_stdin(limit: int) -> bytes:
    """Up to `limit` bytes of standard input; a closed or unreadable one is a one-line error."""
    try:
        return sys.stdin.buffer.read(limit)
    except (OSError, AttributeError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is closed"
        raise KzqaError(f"cannot read standard input: {why}") from None


def _read_question(question: str) -> str:
    """The question text: the argument, or stdin for '-'; bytes that are not UTF-8 (on stdin, or
    in the argument, where Python keeps them as surrogates) are a one-line error, and control
    characters (a terminal escape, a NUL) become spaces so they cannot reach the output."""
    if question == "-":
        data = _read_stdin(MAX_STDIN_QUESTION_BYTES + 1)
        if len(data) > MAX_STDIN_QUESTION_BYTES:
            raise KzqaError(f"the question on standard input is too long (over {MAX_STDIN_QUESTION_BYTES} bytes)")
        try:
            question = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise KzqaError(f"the question on standard input is not UTF-8 text (bad byte at offset {exc.start})") from None
    else:
        bad = next((i for i, ch in enumerate(question) if "\udc80" <= ch <= "\udcff"), None)
        if bad is not None:
            raise KzqaError(f"the question is not UTF-8 text (bad byte at character {bad + 1})")
    return "".join(" " if (ord(ch) < 32 and ch not in "\t\n\r") or 0x7F <= ord(ch) < 0xA0 else ch for ch in question)


FORMAT_OPTION = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default=None,
    help="Output format [default: text].",
)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="kzqa")
@click.pass_context
@handle_errors
def cli(ctx: click.Context) -> None:
    """kzqa: ask the 2011 US Human Rights Report on Kazakhstan a question, get cited answers.

    \b
    Examples:
      kzqa ask "how many prisoners were released"
      kzqa ask "who won the presidential election" --json
      kzqa show 1.c/prison-and-detention-center-conditions/4
      kzqa toc
      kzqa                            # on a terminal: an interactive session
      kzqa index --rebuild
      kzqa index reports/             # other chapters: each named by its country and year
      kzqa ask "who won the presidential election" --all

    \b
    Tab completion (bash; zsh_source and fish_source for the others):
      eval "$(_KZQA_COMPLETE=bash_source kzqa)"     # add this line to ~/.bashrc
    """
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            env_dir = os.environ.get("KZQA_INDEX_DIR")
            _start_shell(3, DEFAULT_MODE, None, Path(env_dir) if env_dir else None, None)
        else:
            write_stdout(ctx.get_help() + "\n")


@cli.command()
@click.argument("question")
@click.option("-k", "k", type=click.IntRange(1, MAX_K), default=3, show_default=True, help="Passages to show.")
@click.option("--mode", type=click.Choice(MODES), default=DEFAULT_MODE, show_default=True, help="Retrieval mode.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (same as --format json).")
@FORMAT_OPTION
@reports_options
@handle_errors
def ask(question, k, mode, as_json, fmt, index_dir, index_name, all_reports):
    """Answer QUESTION with cited passages of the report ('-' reads it from stdin).

    With --report given several times, or --all, the passages of all those reports compete on
    one scale and each citation names its report.

    \b
    Examples:
      kzqa ask "how many prisoners were released"
      kzqa ask "how many prisoners were released" --report kazakhstan-2011 --report kazakhstan-2023
      kzqa ask "who won the presidential election" --all
    """
    from .render import answer_json, answer_markdown, answer_text, use_color

    if as_json and fmt not in (None, "json"):
        raise click.UsageError("--json conflicts with --format " + fmt)
    fmt = "json" if as_json else (fmt or "text")
    text = _read_question(question)
    from ..settings import validate_question

    validate_question(text)  # fail fast, before any index work
    index = _load_reports(index_dir, index_name, all_reports)
    answer = index.ask(text, k=k, mode=mode)
    if answer.searched and fmt != "json":
        click.echo(f"kzqa: searched for: {answer.searched}", err=True)
    if fmt == "json":
        write_stdout(answer_json(answer) + "\n")
    elif fmt == "markdown":
        write_stdout(answer_markdown(answer))
    else:
        color = use_color(sys.stdout.isatty())
        write_stdout(answer_text(answer, color=color), color=color)


@cli.command("index")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--name", default=None, help="Name for the index of FILE [default: the file's stem].")
@click.option("--rebuild", is_flag=True, help="Build even if the index is up to date (and replace an index of another file).")
@index_options
@handle_errors
def index_cmd(file, name, rebuild, index_dir, index_name):
    """Build the index (of the shipped report, of FILE, or of every report in a FOLDER).

    FILE may be any chapter of the Country Reports on Human Rights Practices of any year: the
    text of its PDF, the PDF itself, or the web page as text or Markdown (the layout is
    detected; see `kzqa list`). Ask it with `kzqa ask --report NAME`, see all with `kzqa list`.
    A FOLDER indexes every .txt, .md and .pdf in it, each under a name made of its country and
    year ("kazakhstan-2023"), with one progress bar. A document without the reports' section
    scheme is indexed by paragraphs, with a warning. An up-to-date index is left alone; a build
    killed half-way leaves the previous index in service, unchanged (the index is one SQLite
    file, written by one transaction).

    \b
    Examples:
      kzqa index                      # the shipped Kazakhstan 2011 report
      kzqa index --rebuild
      kzqa index chad-2011.pdf --name chad-2011
      kzqa index reports/             # every report in the folder
      kzqa ask "who won the election" --report chad-2011
    """
    from ..document import slugify
    from ..index.write import build_index

    if name and index_name and name != index_name:
        raise click.UsageError("--name and --index name different indexes; give one")
    name = name or index_name
    if file is not None:
        if not file.exists():
            raise KzqaError(f"no such file: {file}")
        if file.is_dir():
            if name:
                raise KzqaError(f"{file} is a folder: each of its reports is named by its country and year; --name is for one file")
            _index_folder(file, index_dir, rebuild)
            return
        if not _is_shipped(file):  # the shipped report keeps its default index name
            name = name or slugify(file.stem)
    progress = BuildProgress()
    try:
        result = build_index(file, index_dir, name, rebuild=rebuild, progress=progress, notify=_notify)
    finally:
        progress.close()
    _say_built(result, index_dir)


def _is_shipped(file: Path) -> bool:
    from ..document import default_report_path

    try:
        return file.resolve().samefile(default_report_path())
    except OSError:
        return False


def _say_built(result, index_dir, named: bool = False) -> None:
    from ..index.naming import resolve_location

    m = result.manifest.data
    where = _shown_path(resolve_location(index_dir, m["name"]).path)
    if result.cleaned:
        click.echo(f"kzqa: removed what earlier runs left: {'; '.join(result.cleaned)}", err=True)
    if result.built:
        pages = m["corpus"]["page_count"]
        shown = "no printed pages" if pages is None else f"{pages} page{'' if pages == 1 else 's'}"
        write_stdout(
            f"built index {m['name']!r}: {m['counts']['chunks']} passages, {m['counts']['sentences']} sentences, "
            f"{shown} in {result.seconds:.1f} s → {where}\n"
        )
        if not m["corpus"].get("structured", True):
            click.echo(
                f"kzqa: warning: {m['name'] + ': ' if named else ''}no section structure found (not a Country Report chapter?); indexed by paragraphs"
                + (", with the PDF's page numbers" if m["corpus"].get("kind") == "pdf" else ""),
                err=True,
            )
    elif result.by_other:
        write_stdout(f"index {m['name']!r} was just built by another kzqa process and is up to date ({where})\n")
    else:
        write_stdout(f"index {m['name']!r} is up to date ({where}); use --rebuild to build it again\n")


class FolderProgress:
    """One progress bar for a folder of reports: a step per report, the report and its build
    step in the description (plain lines when stderr is not a terminal)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._bar = None
        self._task = None
        self._terminal = sys.stderr.isatty()

    def report(self, n: int, name: str):
        if not self._terminal:
            click.echo(f"kzqa: index: {name} ({n}/{self.total})...", err=True)
            return lambda step, done, total: None
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=Console(stderr=True), transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("", total=self.total)

        def step(what: str, done: int, total: int) -> None:
            self._bar.update(self._task, description=f"{name}: {what}", completed=n - 1 + (done / total if total else 0))

        return step

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _index_folder(folder: Path, index_dir, rebuild: bool) -> None:
    """Index every report file of a folder under its country-and-year name; a file that cannot be
    indexed is reported and the others go on (exit status 1 if any failed)."""
    from ..index.naming import DEFAULT_NAME, free_name, report_files
    from ..index.write import AnotherReport, build_index
    from .hints import explain

    files = report_files(folder)
    if not files:
        raise KzqaError(f"{folder} holds no report files (.txt, .md or .pdf)")
    taken: set[str] = set()
    results, failures = [], 0
    progress = FolderProgress(len(files))
    try:
        for n, path in enumerate(files, 1):
            try:
                name = None if _is_shipped(path) else free_name(path, taken | {DEFAULT_NAME})
                taken.add(name or DEFAULT_NAME)
                results.append(build_index(path, index_dir, name, rebuild=rebuild, progress=progress.report(n, name or DEFAULT_NAME), notify=_notify))
            except AnotherReport as exc:  # --name is for one file: say what a folder can do
                failures += 1
                results.append(None)
                click.echo(f"kzqa: error: {path}: index {exc.name!r} holds another report ({exc.shown}); "
                           "index this file alone with --name NAME, or the folder with --rebuild to replace it", err=True)
            except KzqaError as exc:
                failures += 1
                results.append(None)
                click.echo(f"kzqa: error: {_about(path, explain(exc, building=True))}", err=True)
            except Exception as exc:  # one file's fault must not stop the others
                if os.environ.get("KZQA_DEBUG"):
                    raise
                failures += 1
                results.append(None)
                click.echo(f"kzqa: error: {path}: internal error: {exc.__class__.__name__}: {exc} (set KZQA_DEBUG=1 for a traceback)", err=True)
    finally:
        progress.close()
    for result in results:
        if result is not None:
            _say_built(result, index_dir, named=True)
    if failures:
        sys.exit(EXIT_ERROR)


def _about(path: Path, message: str) -> str:
    """A message about one file of a folder, naming the file once: many already start with it."""
    named = {str(path)}
    with contextlib.suppress(OSError, RuntimeError):
        named.add(str(path.resolve()))
    return message if any(n in message for n in named) else f"{path}: {message}"


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per index.")
@INDEX_DIR_OPTION
@handle_errors
def list_cmd(as_json, index_dir):
    """Show the indexed reports: name, report (country and year), layout, pages, passages, model,
    build date and status.

    Each index is checked as `ask` would check it (out of date? files intact?) but nothing is
    built or changed. The default index (used when --index is not given) is marked with *.

    \b
    Examples:
      kzqa list
      kzqa list --json
    """
    from .render import index_table
    from .service import listing

    root, rows = listing(index_dir)
    if as_json:
        write_stdout(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    if not rows:
        click.echo(f"kzqa: no indexes in {root}; build one with: kzqa index [FILE --name NAME]", err=True)
        return
    write_stdout(index_table(rows, root))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, allow_dash=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Write the answers here instead of stdout.")
@click.option("-k", "k", type=click.IntRange(1, MAX_K), default=3, show_default=True, help="Passages per question.")
@click.option("--mode", type=click.Choice(MODES), default=DEFAULT_MODE, show_default=True, help="Retrieval mode.")
@click.option(
    "--format", "fmt", type=click.Choice(sorted(FORMATS)), default="json", show_default=True,
    help="json: one object a line (JSONL); markdown: a document with one section per question; text: as `ask` prints.",
)
@reports_options
@handle_errors
def batch(file, output, k, mode, fmt, index_dir, index_name, all_reports):
    """Answer every question in FILE; write one JSON object per question (JSONL).

    FILE is plain text (one question a line) or JSONL with "question" and optional "id" ('-' reads
    stdin). Each output object is the `ask --json` object plus "id" (the given id, else the line
    number). A line that cannot be read or answered gets {"id", "line", "error"}, a warning on
    stderr, and the run goes on; the exit status is then 1. An id given twice is answered each
    time, with a warning. An empty (or all-blank, or binary) FILE is an error.

    With --format markdown or text, the answers come as one document instead.

    \b
    Examples:
      kzqa batch questions.txt -o answers.jsonl
      kzqa batch questions.txt --format markdown -o answers.md
    """
    import contextlib

    from ..settings import validate_question
    from .batch import duplicate_ids, read_batch_bytes, read_batch_file
    from .render import batch_markdown_head, batch_markdown_row, batch_text_row, use_color
    from .service import answered, batch_row

    if str(file) == "-":
        items = read_batch_bytes(_read_stdin(MAX_BATCH_BYTES + 1), "standard input")
    else:
        items = read_batch_file(file)
    for dup in duplicate_ids(items):
        click.echo(f"kzqa: warning: id {dup!r} appears more than once", err=True)
    if not items:
        click.echo("kzqa: warning: no questions in the file", err=True)
    index = _load_reports(index_dir, index_name, all_reports) if any(i.error is None for i in items) else None
    color = output is None and fmt == "text" and use_color(sys.stdout.isatty())
    sink = OutputFile(output) if output is not None else None
    put = sink.write if sink is not None else (lambda text: write_stdout(text, color=color))
    failures = answered_count = 0
    from rich.progress import Progress

    def ask(question):
        validate_question(question)  # the command line's limits (a server's are smaller)
        return index.ask(question, k=k, mode=mode)

    # each answer is written as soon as it is made: nothing is held until the end
    with sink or contextlib.nullcontext(), Progress(transient=True, console=_stderr_console(), disable=not _stderr_console().is_terminal) as bar:
        task = bar.add_task("answering", total=len(items))
        if fmt == "markdown":
            put(batch_markdown_head())
        for n, (item, answer, error) in enumerate(answered(items, ask, internal_errors=True)):
            if error is not None:
                failures += 1
                click.echo(f"kzqa: warning: {error}", err=True)
            else:
                answered_count += 1
            if fmt == "json":
                put(json.dumps(batch_row(item, answer, error), ensure_ascii=False) + "\n")
            elif fmt == "markdown":
                put(("\n" if n else "") + batch_markdown_row(item.id, answer, error))
            else:
                put(("\n" if n else "") + batch_text_row(item.id, answer, error, color=color))
            bar.advance(task)
    if output is not None:
        click.echo(f"kzqa: wrote {answered_count} answer{'' if answered_count == 1 else 's'}"
                   + (f" and {failures} error row{'' if failures == 1 else 's'}" if failures else "") + f" to {output}", err=True)
    if failures:
        sys.exit(EXIT_ERROR)


@cli.command("eval")
@click.option("--set", "which", type=click.Choice(("all", *EVAL_SETS)), default="all", show_default=True,
              help="Eval set: original (eval/questions.jsonl), user (eval/user-questions.jsonl, by split), or both.")
@click.option("--split", type=click.Choice(EVAL_SPLITS), default=None, help="Only this split of the user set.")
@click.option("--questions", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Another eval set (JSONL) instead of the shipped ones.")
@click.option("--mode", "modes", type=click.Choice(MODES), multiple=True, help="Configuration(s) to run [default: hybrid].")
@click.option("--all-modes", is_flag=True, help="Run every configuration: bm25, dense, hybrid, rerank.")
@click.option("-k", "k", type=click.IntRange(1, MAX_K), default=10, show_default=True, help="Passages ranked per question.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None, help="Write TREC qrels/runs per set, results.json, items.jsonl here.")
@index_options
@handle_errors
def eval_cmd(which, split, questions, modes, all_modes, k, as_json, out, index_dir, index_name):
    """Measure retrieval and answers: one row per configuration, a column group per eval set and
    split (original, user-dev, user-test), 95 % bootstrap intervals, and a table by question style.

    Ranking metrics (recall@k, MRR@k, nDCG@k) come from ir-measures over TREC qrels/run files.
    The exit status is non-zero only on errors, never on low scores.

    \b
    Examples:
      kzqa eval --all-modes
      kzqa eval --set user --split dev --mode hybrid
    """
    import tempfile

    from ..evaluation.evalset import choose_sets
    from ..evaluation.evaluate import run_eval

    if modes and all_modes:
        raise click.UsageError("--mode and --all-modes conflict; give one")
    if split and questions is None and which not in ("all", "user"):
        raise click.UsageError("--split applies to the user set; use --set user or --set all")
    chosen = list(MODES) if all_modes else (list(dict.fromkeys(modes)) or [DEFAULT_MODE])
    sets, groups = choose_sets(which, split, questions)
    index = _load(index_dir, index_name)
    with tempfile.TemporaryDirectory(prefix="kzqa-eval-") as tmp:
        out_dir = out or Path(tmp)
        try:
            run = run_eval(index, sets, chosen, out_dir, k=k, groups=groups)
        except OSError as exc:
            raise KzqaError(f"cannot write eval files to {out_dir}: {exc.strerror or exc}") from None
    if as_json:
        click.echo(json.dumps(run.to_dict(), indent=1))
        return
    click.echo(run.report())
    if out:
        click.echo(f"\nTREC files, results.json and items.jsonl written to {out}")


def _complete_ref(ctx, param, incomplete):
    """Tab completion for REF: section and heading ids of the (already built) index."""
    try:
        from ..index.open import open_index

        stored = open_index(ctx.params.get("index_dir"), ctx.params.get("index_name"), auto_build=False, notify=None)
    except Exception:
        return []
    return [s.id for s in stored.report.sections if s.id.startswith(incomplete)]


@cli.command("show")
@click.argument("ref", nargs=-1, required=True, shell_complete=_complete_ref)
@FORMAT_OPTION
@index_options
@handle_errors
def show_cmd(ref, fmt, index_dir, index_name):
    """Print the text REF points to, with its heading path and pages.

    REF is a passage id from `kzqa ask` output, a section or subsection ("1.c", "6"), a heading
    ("Internet Freedom": any case, a unique prefix will do; see `kzqa toc`) or a page ("p5",
    "page 5"). A passage is shown in its whole subsection with the passage marked by a bar in the
    margin; a section includes all its sub-headings; a page shows every paragraph on it. Lines
    like "── p. 5 ──" mark where a printed page begins.

    \b
    Examples:
      kzqa show 1.c/prison-and-detention-center-conditions/4
      kzqa show "Internet Freedom"
      kzqa show p5 --format markdown
    """
    from .render import render_excerpt, use_color
    from .service import excerpt

    text = " ".join(ref)
    if index_name is None:  # a passage id from a several-report answer names its report: "kazakhstan-2023:1.c/..."
        index_name, text = _report_prefix(index_dir, text)
    index = _load(index_dir, index_name)
    shown, report = excerpt(index, text)
    color = use_color(sys.stdout.isatty())
    write_stdout(render_excerpt(shown, fmt or "text", color=color, report_title=report.title), color=color)


def _report_prefix(index_dir, ref: str) -> tuple[str | None, str]:
    """(index name, the rest) when REF starts with the name of an index of the folder and a colon."""
    from ..index.naming import name_problem, resolve_location

    head, sep, rest = ref.strip().partition(":")
    if sep and rest.strip() and name_problem(head) is None:
        try:
            if resolve_location(index_dir, head).path.is_file():
                return head, rest.strip()
        except KzqaError:
            pass
    return None, ref


@cli.command("toc")
@click.option("--depth", type=click.IntRange(1, MAX_TOC_DEPTH), default=MAX_TOC_DEPTH, show_default=True,
              help="Heading levels: 1 sections, 2 lettered subsections, 3 sub-headings, 4 run-in headings.")
@FORMAT_OPTION
@index_options
@handle_errors
def toc_cmd(depth, fmt, index_dir, index_name):
    """Print the report's outline with the page each heading starts on.

    Every number and heading in it is a REF for `kzqa show`.

    \b
    Examples:
      kzqa toc
      kzqa toc --depth 2
    """
    from .render import render_toc, use_color

    index = _load(index_dir, index_name)
    color = use_color(sys.stdout.isatty())
    write_stdout(render_toc(index.report, fmt or "text", color=color, depth=depth), color=color)


@handle_errors
def _start_shell(k, mode, fmt, index_dir, index_name, all_reports=False):
    from .shell import run_shell

    names = (index_name,) if isinstance(index_name, str) else tuple(index_name or ())
    sys.exit(run_shell(
        lambda: _load_reports(index_dir, names, all_reports), k=k, mode=mode, fmt=fmt or "text",
        load_reports=lambda wanted: _load_reports(index_dir, [] if wanted == "all" else wanted, wanted == "all"),
    ))


@cli.command("shell")
@click.option("-k", "k", type=click.IntRange(1, MAX_K), default=3, show_default=True, help="Passages per answer (:k N changes it).")
@click.option("--mode", type=click.Choice(MODES), default=DEFAULT_MODE, show_default=True, help="Retrieval mode (:mode M changes it).")
@FORMAT_OPTION
@reports_options
def shell_cmd(k, mode, fmt, index_dir, index_name, all_reports):
    """Ask question after question in one session; the index loads once.

    `kzqa` with no arguments on a terminal starts the same session. Type a question and press
    Enter; Up/Down recall earlier lines (kept in ~/.cache/kzqa/shell-history). Commands: :k N,
    :mode M, :report NAME..., :show REF, :toc, :json, :format F, :help, :quit. Ctrl-C cancels the question being
    answered, Ctrl-D leaves. With standard input not a terminal it reads one question a line.

    \b
    Example:
      kzqa shell --mode bm25 -k 5
    """
    _start_shell(k, mode, fmt, index_dir, index_name, all_reports)


def _shown_path(path: Path) -> Path:
    """A path as a user would type it: relative to the current folder when it lies inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):
        return path


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


SERVE_PACKAGES = ("fastapi", "starlette", "uvicorn", "jinja2", "fastapi_offline", "mcp", "anyio", "pydantic")


def _serve_extra(module: str):
    """Import qa.front.server or qa.front.mcp_server, or say how to install what they need."""
    import importlib

    try:
        return importlib.import_module(f"qa.front.{module}")
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in SERVE_PACKAGES:
            raise KzqaError(f"this command needs the serve extra ({exc.name} is missing): pip install 'kzqa[serve]'") from None
        raise


def _served_reports(reports, index_dir):
    from .service import Library

    library = Library(reports or None, index_dir, notify=_notify)
    library.check()
    return library


REPORTS_OPTION = click.option(
    "--report", "--index", "reports", metavar="NAME", multiple=True,
    help="An indexed report to serve (repeatable; see `kzqa list`); the first is the default [default: the shipped report].",
)


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but a loopback address makes kzqa reachable from other machines.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free port).")
@REPORTS_OPTION
@INDEX_DIR_OPTION
@handle_errors
def serve_cmd(host, port, reports, index_dir):
    """Serve the web page and the HTTP API (needs: pip install 'kzqa[serve]').

    Open the printed address in a browser: ask a question, click a citation to read its
    subsection, browse the contents. /api/ask?q=... returns the JSON of `kzqa ask --json`;
    /docs lists every endpoint. Each report is loaded once; while one is being indexed the API
    answers 503. Listens on 127.0.0.1 (this machine only) unless --host says otherwise.

    \b
    Examples:
      kzqa serve
      kzqa serve --port 8080 --report kazakhstan-2011 --report chad-2011
      curl 'http://127.0.0.1:8000/api/ask?q=how+many+prisoners+were+released'
    """
    server = _serve_extra("server")
    server.serve(_served_reports(reports, index_dir), host=host, port=port, say=lambda msg: click.echo(msg, err=True))


@cli.command("mcp")
@REPORTS_OPTION
@INDEX_DIR_OPTION
@handle_errors
def mcp_cmd(reports, index_dir):
    """Run a Model Context Protocol server on stdin/stdout, for AI assistants.

    Tools: ask(question, k, report), show(ref, report), toc(report), list_reports(); each
    returns the JSON of the matching kzqa command. Configure your assistant to start
    `kzqa mcp` (see README). Needs: pip install 'kzqa[serve]'.

    \b
    Example:
      kzqa mcp --report kazakhstan-2011
    """
    mcp_server = _serve_extra("mcp_server")
    mcp_server.run(_served_reports(reports, index_dir))


def main() -> None:
    guard_standard_streams()
    cli(prog_name="kzqa")


if __name__ == "__main__":  # pragma: no cover
    main()
