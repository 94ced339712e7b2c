"""The `kzqa` command: a thin click layer that parses options, calls the library, prints results.

Errors the user can act on print one line on stderr and exit 1; usage errors exit 2 (click).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import click

from . import __version__
from .errors import KzqaError

MODE_CHOICES = ("bm25", "dense", "hybrid", "rerank")
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
            fail(str(exc))
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


def index_options(fn):
    fn = click.option(
        "--index", "index_name", metavar="NAME", default=None,
        help="Which indexed report to use (see `kzqa list`); default: the shipped Kazakhstan 2011 report.",
    )(fn)
    fn = click.option(
        "--index-dir", type=click.Path(file_okay=True, dir_okay=True, path_type=Path), envvar="KZQA_INDEX_DIR",
        default=None, help="Folder that holds the indexes [env: KZQA_INDEX_DIR; default: index/ of a checkout, else ~/.cache/kzqa].",
    )(fn)
    return fn


def _progress_printer():
    """A progress bar on stderr for index builds (plain lines when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        said: set[str] = set()

        def plain(step: str, done: int, total: int) -> None:
            if step not in said:
                said.add(step)
                click.echo(f"kzqa: index: {step}...", err=True)

        return plain, None
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    )
    tasks: dict[str, int] = {}

    def update(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = progress.add_task(step, total=total)
        progress.update(tasks[step], completed=done, total=total)

    return update, progress


def _load(index_dir, index_name):
    from .api import Index
    from .store import open_index

    progress, live = _progress_printer()
    notify = lambda msg: click.echo(f"kzqa: {msg}", err=True)  # noqa: E731
    if live is not None:
        with live:
            stored = open_index(index_dir, index_name, notify=notify, progress=progress)
    else:
        stored = open_index(index_dir, index_name, notify=notify, progress=progress)
    return Index(stored)


def _read_question(question: str) -> str:
    if question != "-":
        return question
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KzqaError(f"the question on standard input is not UTF-8 text (bad byte at offset {exc.start})") from None


FORMAT_OPTION = click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default=None,
    help="Output format [default: text].",
)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="kzqa")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """kzqa: ask the 2011 US Human Rights Report on Kazakhstan a question, get cited answers.

    \b
    Examples:
      kzqa ask "how many prisoners were released"
      kzqa ask "who won the presidential election" --json
      kzqa index --rebuild
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@cli.command()
@click.argument("question")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=3, show_default=True, help="Passages to show.")
@click.option("--mode", type=click.Choice(MODE_CHOICES), default="hybrid", show_default=True, help="Retrieval mode.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (same as --format json).")
@FORMAT_OPTION
@index_options
@handle_errors
def ask(question, k, mode, as_json, fmt, index_dir, index_name):
    """Answer QUESTION with cited passages of the report ('-' reads it from stdin).

    \b
    Example:
      kzqa ask "how many prisoners were released"
    """
    from .render import answer_json, answer_markdown, answer_text, use_color

    if as_json and fmt not in (None, "json"):
        raise click.UsageError("--json conflicts with --format " + fmt)
    fmt = "json" if as_json else (fmt or "text")
    text = _read_question(question)
    from .api import validate_question

    validate_question(text)  # fail fast, before any index work
    index = _load(index_dir, index_name)
    answer = index.ask(text, k=k, mode=mode)
    if fmt == "json":
        click.echo(answer_json(answer))
    elif fmt == "markdown":
        click.echo(answer_markdown(answer), nl=False)
    else:
        click.echo(answer_text(answer, color=use_color(sys.stdout.isatty())), nl=False, color=use_color(sys.stdout.isatty()))


@cli.command("index")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--name", default=None, help="Name for the index of FILE [default: the file's stem].")
@click.option("--rebuild", is_flag=True, help="Build even if the index is up to date.")
@index_options
@handle_errors
def index_cmd(file, name, rebuild, index_dir, index_name):
    """Build the index (of the shipped report, or of FILE: a report as text or PDF).

    \b
    Examples:
      kzqa index                      # the shipped Kazakhstan 2011 report
      kzqa index --rebuild
      kzqa index chad-2011.pdf --name chad-2011
    """
    from .report import slugify
    from .store import build_index

    if name and index_name and name != index_name:
        raise click.UsageError("--name and --index name different indexes; give one")
    name = name or index_name
    if file is not None:
        if not file.exists():
            raise KzqaError(f"no such file: {file}")
        if file.is_dir():
            raise KzqaError(f"{file} is a folder; give a report file (text or PDF)")
        name = name or slugify(file.stem)
    progress, live = _progress_printer()
    notify = lambda msg: click.echo(f"kzqa: {msg}", err=True)  # noqa: E731
    if live is not None:
        with live:
            result = build_index(file, index_dir, name, rebuild=rebuild, progress=progress, notify=notify)
    else:
        result = build_index(file, index_dir, name, rebuild=rebuild, progress=progress, notify=notify)
    m = result.manifest.data
    from .store import resolve_location

    where = resolve_location(index_dir, m["name"]).folder
    if result.built:
        click.echo(
            f"built index {m['name']!r}: {m['counts']['chunks']} passages, {m['counts']['sentences']} sentences, "
            f"{m['corpus']['page_count']} pages in {result.seconds:.1f} s → {where}"
        )
        if not m["corpus"].get("structured", True):
            click.echo("kzqa: warning: no section structure found; indexed by paragraphs", err=True)
    else:
        click.echo(f"index {m['name']!r} is up to date ({where}); use --rebuild to build it again")


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, allow_dash=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Write JSONL here instead of stdout.")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=3, show_default=True, help="Passages per question.")
@click.option("--mode", type=click.Choice(MODE_CHOICES), default="hybrid", show_default=True, help="Retrieval mode.")
@index_options
@handle_errors
def batch(file, output, k, mode, index_dir, index_name):
    """Answer every question in FILE; write one JSON object per question (JSONL).

    FILE is plain text (one question a line) or JSONL with "question" and optional "id" ('-' reads
    stdin). Each output object is the `ask --json` object plus "id" (the given id, else the line
    number). A line that cannot be read or answered gets {"id", "line", "error"}, a warning on
    stderr, and the run goes on; the exit status is then 1.

    \b
    Example:
      kzqa batch questions.txt -o answers.jsonl
    """
    from .api import validate_question
    from .batch import duplicate_ids, parse_batch_bytes, read_batch_file
    from .render import answer_json

    items = parse_batch_bytes(sys.stdin.buffer.read()) if str(file) == "-" else read_batch_file(file)
    for dup in duplicate_ids(items):
        click.echo(f"kzqa: warning: id {dup!r} appears more than once", err=True)
    if not items:
        click.echo("kzqa: warning: no questions in the file", err=True)
    index = _load(index_dir, index_name) if any(i.error is None for i in items) else None
    lines: list[str] = []
    failures = 0
    from rich.progress import Progress

    with Progress(transient=True, console=_stderr_console(), disable=not _stderr_console().is_terminal) as bar:
        task = bar.add_task("answering", total=len(items))
        for item in items:
            error = item.error
            if error is None:
                try:
                    validate_question(item.question)
                    lines.append(answer_json(index.ask(item.question, k=k, mode=mode), {"id": item.id}))
                except KzqaError as exc:
                    error = f"line {item.line}: {exc}"
            if error is not None:
                failures += 1
                click.echo(f"kzqa: warning: {error}", err=True)
                lines.append(json.dumps({"id": item.id, "line": item.line, "error": error}, ensure_ascii=False))
            bar.advance(task)
    text = "".join(line + "\n" for line in lines)
    if output is not None:
        _write_atomic(output, text)
        click.echo(f"kzqa: wrote {len(lines)} answers to {output}", err=True)
    else:
        click.echo(text, nl=False)
    if failures:
        sys.exit(EXIT_ERROR)


@cli.command("eval")
@click.option("--questions", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Eval set (JSONL) [default: eval/questions.jsonl].")
@click.option("--mode", "modes", type=click.Choice(MODE_CHOICES), multiple=True, help="Configuration(s) to run [default: hybrid].")
@click.option("--all-modes", is_flag=True, help="Run every configuration: bm25, dense, hybrid, rerank.")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="Passages ranked per question.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None, help="Write qrels.txt, run-<mode>.txt, results.json, items.jsonl here.")
@index_options
@handle_errors
def eval_cmd(questions, modes, all_modes, k, as_json, out, index_dir, index_name):
    """Measure retrieval and answers on the eval set: one table row per configuration.

    Ranking metrics (recall@k, MRR@10, nDCG@10) come from ir-measures over TREC qrels/run files.
    The exit status is non-zero only on errors, never on low scores.

    \b
    Example:
      kzqa eval --all-modes --out eval/out
    """
    import tempfile

    from .evaluate import load_eval_set, markdown_table, run_eval, table_rows, type_rows

    if modes and all_modes:
        raise click.UsageError("--mode and --all-modes conflict; give one")
    chosen = list(MODE_CHOICES) if all_modes else (list(dict.fromkeys(modes)) or ["hybrid"])
    items = load_eval_set(questions)
    index = _load(index_dir, index_name)
    with tempfile.TemporaryDirectory(prefix="kzqa-eval-") as tmp:
        out_dir = out or Path(tmp)
        try:
            results = run_eval(index, items, chosen, out_dir, k=k)
        except OSError as exc:
            raise KzqaError(f"cannot write eval files to {out_dir}: {exc.strerror or exc}") from None
    if as_json:
        click.echo(json.dumps({"items": len(items), "k": k, "results": [r.row() for r in results]}, indent=1))
        return
    answerable = sum(it.answerable for it in items)
    click.echo(f"{len(items)} questions ({answerable} answerable, {len(items) - answerable} not in the report), k={k}\n")
    click.echo(markdown_table(*table_rows(results)))
    click.echo("\nShort-answer (ans) and sentence (sent) accuracy by question type:\n")
    click.echo(markdown_table(*type_rows(results)))
    if out:
        click.echo(f"\nTREC files and results.json written to {out}")


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _write_atomic(path: Path, text: str) -> None:
    import tempfile

    path = path.expanduser()
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise KzqaError(f"cannot write {path}: {exc.strerror or exc}") from None


def main() -> None:
    cli(prog_name="kzqa")


if __name__ == "__main__":  # pragma: no cover
    main()
