"""Stage 6 (presentation): answers and passages as text for people, markdown, or JSON."""

from __future__ import annotations

import json
import os
import textwrap

from .answer import NOT_FOUND_MESSAGE, Answer, Passage
from .chunking import short_heading

FORMATS = ("text", "json", "markdown")
BOLD_YELLOW = "\x1b[1;33m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
CYAN = "\x1b[36m"
RESET = "\x1b[0m"


def use_color(stream_is_tty: bool) -> bool:
    """Colour only on a terminal, never when NO_COLOR is set (https://no-color.org)."""
    return stream_is_tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip(" ,") + "..."


def pages_label(start: int, end: int) -> str:
    return f"p. {start}" if start == end else f"pp. {start}–{end}"


def citation(section: str, headings: list[str], page_start: int, page_end: int, width: int = 32) -> str:
    """'§1.c Torture and Other Cruel... › Prison and Detention Center Conditions — p. 5'."""
    names = [short_heading(h) for h in headings]
    if len(names) > 1 and section != "summary":
        names = names[1:]  # the lettered subsection or sub-heading already names the section
    shown = [_truncate(n, width) for n in names[:-1]] + [names[-1]] if names else []
    label = "§" + section if section != "summary" else "Executive Summary"
    body = " › ".join(shown) if section != "summary" else ""
    return f"{label} {body}".rstrip() + f" — {pages_label(page_start, page_end)}"


def _wrap(text: str, indent: str = "    ", width: int = 100) -> str:
    out = []
    for para in text.split("\n"):
        out.append(textwrap.fill(para, width=width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False))
    return "\n".join(out)


def passage_text(p: Passage, color: bool, width: int = 100) -> str:
    head = f"[{p.rank}] {citation(p.section, p.headings, p.page_start, p.page_end)}"
    ident = f"  ({p.id})"
    if color:
        head = f"{BOLD}{CYAN}{head}{RESET}{DIM}{ident}{RESET}"
    else:
        head += ident
    # mark the sentence with sentinels, wrap, then turn the sentinels into colour or ** markers
    text = p.text
    if p.sentence and p.sentence in text:
        text = text.replace(p.sentence, "\x01" + p.sentence + "\x02", 1)
    body = _wrap(text, width=width)
    if color:
        start, end = body.find("\x01"), body.find("\x02")
        if start >= 0 and end > start:
            inner = body[start + 1 : end].replace("\n", RESET + "\n" + BOLD_YELLOW)
            body = body[:start] + BOLD_YELLOW + inner + RESET + body[end + 1 :]
    else:
        body = body.replace("\x01", "**").replace("\x02", "**")
    return f"{head}\n{body}"


def answer_text(a: Answer, color: bool = False, width: int = 100) -> str:
    lines = []
    if a.found:
        label = f"{BOLD}Answer:{RESET} " if color else "Answer: "
        if a.text:
            shown = f"{BOLD_YELLOW}{a.text}{RESET}" if color else a.text
            lines.append(f"{label}{shown}  (p. {a.page})")
        else:
            lines.append(f"{label}(see the sentence below, p. {a.page})")
        if a.sentence:
            lines.append(_wrap(f"“{a.sentence}”", indent="  ", width=width))
        for alt in a.alternatives:
            lines.append(f"  also: {alt.text} — p. {alt.page}, {alt.passage_id}")
            lines.append(_wrap(f"“{alt.sentence}”", indent="        ", width=width))
    else:
        lines.append(NOT_FOUND_MESSAGE + " The nearest passages:")
    lines.append("")
    for p in a.passages:
        lines.append(passage_text(p, color, width))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def answer_markdown(a: Answer) -> str:
    lines = [f"**Q:** {a.question}", ""]
    if a.found:
        lines.append(f"**A:** {a.text or a.sentence} (p. {a.page})")
        if a.text and a.sentence:
            lines.append(f"> {a.sentence}")
        for alt in a.alternatives:
            lines.append(f"- also: {alt.text} (p. {alt.page}) — {alt.sentence}")
    else:
        lines.append(f"**A:** {NOT_FOUND_MESSAGE}")
    lines += ["", "**Sources**", ""]
    for p in a.passages:
        lines.append(f"{p.rank}. {citation(p.section, p.headings, p.page_start, p.page_end, width=60)} (`{p.id}`)")
        if p.sentence:
            lines.append(f"   > {p.sentence}")
    return "\n".join(lines) + "\n"


def answer_json(a: Answer, extra: dict | None = None) -> str:
    d = a.to_dict()
    if extra:
        d = extra | d
    return json.dumps(d, ensure_ascii=False)
