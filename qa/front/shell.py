"""The interactive session (`kzqa` on a terminal, or `kzqa shell`): the index loads once, then
question after question, with line editing and history (readline), and a few `:` commands.

Ctrl-C drops the line being typed, or cancels the question being answered, and returns to the
prompt; Ctrl-D (or :quit) leaves with status 0.

With standard input not a terminal (`printf 'q1\nq2\n' | kzqa shell`) there are no prompts; in
text format each answer is headed by its question (`── q1`), and answers are separated by a blank
line (JSON stays one object a line). The exit status is then 1 if any line was an error, as for
`kzqa batch`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..errors import KzqaError
from ..settings import DEFAULT_MODE, FORMATS, MAX_K, MODES
from .hints import explain

if TYPE_CHECKING:  # pragma: no cover
    from ..search.pipeline import Index

PROMPT = "kzqa> "
HISTORY_LENGTH = 1000

# (command, what it does): the help lays them out in two columns (a hand-padded table drifted)
HELP_ROWS = (
    (":k N", "passages per answer (now {k})"),
    (":mode M", "retrieval mode: {modes} (now {mode})"),
    (":report N...", "the reports to ask: index names (see `kzqa list`), or all (now {reports})"),
    (":show REF", "the text REF points to: a passage id, a section (1.c), a heading, a page (p5)"),
    (":toc", "the report's outline with page numbers"),
    (":json", "switch JSON output on or off"),
    (":format F", "output format: text, json or markdown (now {fmt})"),
    (":help", "this help"),
    (":quit", "leave (or Ctrl-D)"),
)
_WIDTH = max(len(c) for c, _ in HELP_ROWS) + 2
HELP = "\n".join((
    "Type a question and press Enter. Commands:",
    *(f"  {c.ljust(_WIDTH)}{what}" for c, what in HELP_ROWS),
    "Ctrl-C cancels the question being answered; Up/Down recall earlier lines.",
))

COMMANDS = (":k", ":mode", ":report", ":show", ":toc", ":json", ":format", ":help", ":quit")
ALIASES = {":q": ":quit", ":exit": ":quit", ":h": ":help", ":?": ":help", ":f": ":format", ":s": ":show"}


def history_path() -> Path:
    """$XDG_CACHE_HOME/kzqa/shell-history (default ~/.cache/kzqa/shell-history)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "kzqa" / "shell-history"


class ShellError(KzqaError):
    """A bad `:` command: one line, and the session goes on."""


class Shell:
    def __init__(
        self,
        index: Index,
        k: int = 3,
        mode: str = DEFAULT_MODE,
        fmt: str = "text",
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        interactive: bool | None = None,
        history_file: Path | None = None,
        load_reports: Callable[[object], Index] | None = None,
    ) -> None:

        self.index = index
        self.modes = tuple(MODES)
        self.k = k
        self.mode = mode
        self.fmt = fmt
        self._plain_fmt = fmt if fmt != "json" else "text"  # where :json goes back to
        self.out = stdout or sys.stdout
        self.err = stderr or sys.stderr
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.history_file = history_file if history_file is not None else history_path()
        self._readline = None
        self.errors = 0  # lines that ended in an error
        self.load_reports = load_reports  # names (a list) or "all" -> an Index (for :report)

    # --- output -------------------------------------------------------------------------------

    @property
    def color(self) -> bool:
        from .render import use_color

        return use_color(self.out.isatty())

    def say(self, text: str, gap: bool = False) -> None:
        """Write text (and a blank line after a result, before the next prompt or result; not
        between JSON lines in a pipe)."""
        text = text if text.endswith("\n") else text + "\n"
        gap = gap and (self.interactive or self.fmt != "json")
        self.out.write(text + ("\n" if gap else ""))
        self.out.flush()

    def error(self, message: str) -> None:
        self.errors += 1
        self.out.flush()
        self.err.write(f"kzqa: error: {message}\n")
        self.err.flush()

    def banner(self) -> str:
        report = self.index.report
        if self.index.several:
            what = f"{len(self.index.reports)} reports ({', '.join(self.index.report_labels.values())})"
        else:
            name = report.title.title() if report.title.isupper() else report.title
            what = f"{name} report" + (f", {report.page_count} pages" if report.page_count is not None else "")
        return f"kzqa — {what}, {len(self.index.chunks)} passages. Ask a question, or :help. Ctrl-D leaves."

    def reports_now(self) -> str:
        return ", ".join(self.index.report_names)

    # --- commands -----------------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Act on one input line; False means leave."""
        line = line.strip()
        if not line:
            return True
        if not line.startswith(":"):
            if line.lower() in ("quit", "exit"):
                return False
            self.ask(line)
            return True
        name, _, arg = line.partition(" ")
        name = ALIASES.get(name.lower(), name.lower())
        arg = arg.strip()
        if name == ":quit":
            return False
        if name == ":help":
            self.say(HELP.format(k=self.k, mode=self.mode, modes=", ".join(self.modes), fmt=self.fmt, reports=self.reports_now()))
        elif name == ":k":
            self.set_k(arg)
        elif name == ":mode":
            self.set_mode(arg)
        elif name == ":json":
            if arg:
                raise ShellError(":json takes nothing; it switches JSON output on or off")
            self.set_format(self._plain_fmt if self.fmt == "json" else "json")
        elif name == ":format":
            self.set_format(arg)
        elif name == ":report":
            self.set_reports(arg)
        elif name == ":show":
            self.show(arg)
        elif name == ":toc":
            from .render import render_toc

            for report in self.index.reports.values():
                self.say(render_toc(report, self.fmt, color=self.color), gap=True)
        else:
            raise ShellError(f"unknown command {name!r}; :help lists the commands")
        return True

    def set_k(self, arg: str) -> None:
        if not arg:
            self.say(f"k = {self.k}")
            return
        try:
            k = int(arg)
        except ValueError:
            k = 0
        if not 1 <= k <= MAX_K:
            raise ShellError(f":k needs a whole number from 1 to {MAX_K} (got {arg!r})")
        self.k = k
        self.say(f"k = {k}")

    def set_reports(self, arg: str) -> None:
        """:report NAME [NAME...] or :report all: ask those reports from now on."""
        if not arg:
            self.say(f"reports = {self.reports_now()}")
            return
        if self.load_reports is None:
            raise ShellError(":report is not available in this session")
        words = arg.replace(",", " ").split()
        self.index = self.load_reports("all" if words == ["all"] else words)
        self.say(f"reports = {self.reports_now()}")

    def set_mode(self, arg: str) -> None:
        if not arg:
            self.say(f"mode = {self.mode} (choose from {', '.join(self.modes)})")
            return
        if arg.lower() not in self.modes:
            raise ShellError(f"unknown mode {arg!r}; choose from {', '.join(self.modes)}")
        self.mode = arg.lower()
        self.say(f"mode = {self.mode}")

    def set_format(self, arg: str) -> None:
        if not arg:
            self.say(f"format = {self.fmt} (choose from {', '.join(FORMATS)})")
            return
        if arg.lower() not in FORMATS:
            raise ShellError(f"unknown format {arg!r}; choose from {', '.join(FORMATS)}")
        self.fmt = arg.lower()
        if self.fmt != "json":
            self._plain_fmt = self.fmt
        self.say(f"format = {self.fmt}")

    def _indent(self) -> int | None:
        return 2 if self.out.isatty() else None  # readable on a screen, one line a result in a pipe

    def show(self, ref: str) -> None:
        from .render import render_excerpt
        from .service import excerpt

        if not ref:
            raise ShellError(":show needs a reference: a passage id, a section (1.c), a heading or a page (p5)")
        ex, report = excerpt(self.index, ref)
        self.say(render_excerpt(ex, self.fmt, color=self.color, report_title=report.title, indent=self._indent()), gap=True)

    def ask(self, question: str) -> None:
        from .render import render_answer, terminal_safe

        answer = self.index.ask(question, k=self.k, mode=self.mode)
        head = ""
        if not self.interactive and self.fmt == "text":  # in a transcript, say which question this answers
            head = terminal_safe(f"── {answer.question}\n")
        self.say(head + render_answer(answer, self.fmt, color=self.color, indent=self._indent()), gap=True)

    # --- the loop -----------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Answer one question unseen, so that the query encoder starts before the first prompt
        rather than on the first real question."""
        self.index.ask("warm up", k=1, mode="hybrid")

    def _setup_readline(self) -> None:
        try:
            import readline
        except ImportError:  # pragma: no cover - no line editing on this platform
            return
        self._readline = readline
        try:
            readline.read_history_file(self.history_file)
        except (OSError, ValueError):
            pass
        readline.set_history_length(HISTORY_LENGTH)
        readline.set_completer_delims(" \t\n")
        readline.set_completer(self._complete)
        readline.parse_and_bind("tab: complete")

    def _save_history(self) -> None:
        if self._readline is None:
            return
        try:
            self.history_file.parent.mkdir(parents=True, exist_ok=True)
            self._readline.write_history_file(self.history_file)
        except OSError:
            pass  # history is a convenience: a read-only home must not spoil the session

    def completions(self, buffer: str, text: str) -> list[str]:
        """What Tab offers: commands, then modes, formats or section ids after them."""
        words = buffer.split()
        if len(words) <= 1 and not buffer.endswith(" "):
            return [c + " " for c in COMMANDS if c.startswith(text)] if text.startswith(":") else []
        command = ALIASES.get(words[0], words[0])
        choices: tuple[str, ...] | list[str] = ()
        if command == ":mode":
            choices = self.modes
        elif command == ":format":
            choices = FORMATS
        elif command == ":show":
            several = self.index.several
            choices = [f"{n}:{s.id}" if several else s.id for n, r in self.index.reports.items() for s in r.sections]
        elif command == ":report":
            choices = ["all", *self.index.report_names]
        return [c for c in choices if c.startswith(text)]

    def _complete(self, text: str, state: int) -> str | None:
        try:
            options = self.completions(self._readline.get_line_buffer(), text)
        except Exception:  # a completer must never raise into readline
            return None
        return options[state] if state < len(options) else None

    def run(self) -> int:
        """Read and answer until :quit or end of input; the exit status: 0, or 1 when reading
        from a pipe and some line was an error."""
        prompt = PROMPT if self.interactive else ""
        if self.interactive:
            self._setup_readline()
            self.say(self.banner())
        try:
            while True:
                reading = True
                try:
                    try:
                        line = input(prompt)
                    except EOFError:
                        if self.interactive:
                            self.say("")
                        return self.status()
                    reading = False
                    if not self.handle(line):
                        return self.status()
                except KeyboardInterrupt:
                    # at the prompt: drop the line; during a question: cancel it
                    self.out.write("\n")
                    self.out.flush()
                    if not reading:
                        self.err.write("kzqa: cancelled\n")
                        self.err.flush()
                    if not self.interactive:
                        return 130
                except KzqaError as exc:
                    self.error(explain(exc))
                except (BrokenPipeError, MemoryError):
                    raise
                except Exception as exc:  # keep the session alive; say what went wrong in one line
                    if os.environ.get("KZQA_DEBUG"):
                        raise
                    self.error(f"internal error: {exc.__class__.__name__}: {exc} (set KZQA_DEBUG=1 for a traceback)")
        finally:
            self._save_history()

    def status(self) -> int:
        return 1 if self.errors and not self.interactive else 0


def run_shell(load: Callable[[], Index], k: int = 3, mode: str = DEFAULT_MODE, fmt: str = "text",
              load_reports: Callable[[object], Index] | None = None) -> int:
    """Load the index (with `load`), start the session, return its exit status."""
    shell = Shell(load(), k=k, mode=mode, fmt=fmt, load_reports=load_reports)
    shell.warm_up()
    return shell.run()
