"""README.md stays true: its set-up commands are what CI runs, its library example runs and prints
what its comments say."""

import contextlib
import io
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def code_blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_the_two_setup_commands_and_ci_runs_the_second():
    first = code_blocks("bash")[0].strip().splitlines()
    assert README.index("```bash") < README.index("\n## ")
    assert len(first) == 2
    assert first[0].endswith('kzqa ask "how many prisoners were released"')
    assert "pip install torch==2.13.0 && pip install -e \".[dev]\"" in first[1] and first[1].endswith("python -m pytest")
    ci = (REPO / ".ci" / "run").read_text()
    assert first[1] in ci


def test_library_example_prints_what_its_comments_say(cli_env, monkeypatch):
    import qa
    from qa import facade as api

    monkeypatch.setattr(api, "_cache", {})
    block = next(b for b in code_blocks("python") if "import qa" in b)
    expected = [m.group(1).strip() for m in re.finditer(r"#\s*(.+)$", block, flags=re.M)]
    expected = [e for e in expected if not e.startswith(("builds", "load once"))]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {"qa": qa})
    printed = out.getvalue()
    for line in expected:
        value = line.split(":")[0] if line.startswith("True") else line
        assert value in printed, (value, printed)


def test_readme_ask_examples_print_what_they_show(cli_env):
    """Every ```console block that runs `kzqa ask` shows that command's real output."""
    import subprocess

    blocks = []
    for body in README.split("```console\n")[1:]:
        lines = body.split("\n```", 1)[0].split("\n")
        if lines[0].startswith("$ kzqa ask ") and len(lines) > 1 and not lines[1].startswith("$ ") and not re.search(r"--(index|report|all)\b", lines[0]):
            blocks.append((lines[0][2:], "\n".join(lines[1:]) + "\n"))
    assert len(blocks) >= 3
    for command, expected in blocks:
        out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=cli_env, timeout=120)
        assert out.returncode == 0, (command, out.stderr)
        assert out.stdout == expected, command


def test_readme_other_report_example_is_real(index_dir, tmp_path):
    """The "Other reports" example indexes a real chapter shipped with the tests and shows what
    kzqa really prints for it (item 20 of issue 13)."""
    import os
    import shutil
    import subprocess

    from faulthelpers import copy_root

    block = README.split("**Other reports.**", 1)[1].split("**Bad input**", 1)[0]
    index_cmd = re.search(r"^\$ (kzqa index tests/fixtures/\S+ --name (\S+))$", block, flags=re.M)
    asks = re.findall(r"```console\n\$ (kzqa ask [^\n]*--report " + re.escape(index_cmd.group(2)) + r"[^\n]*)\n(.*?)\n```", block, flags=re.S)
    assert len(asks) == 2  # one report, then two at once
    root = tmp_path / "root"
    copy_root(index_dir, root)
    env = {**os.environ, "KZQA_INDEX_DIR": str(root), "NO_COLOR": "1"}
    work = tmp_path / "checkout"
    shutil.copytree(REPO / "tests" / "fixtures", work / "tests" / "fixtures")
    out = subprocess.run(["bash", "-c", index_cmd.group(1)], capture_output=True, text=True, env=env, cwd=work, timeout=600)
    assert out.returncode == 0, out.stderr
    shown = block.split(index_cmd.group(0) + "\n", 1)[1].split("\n```", 1)[0].splitlines()
    built = re.sub(r" in [0-9.]+ s → .*", "", shown[0])
    assert out.stdout.startswith(built + " in ")
    assert len(shown) == 1 and "warning" not in out.stderr  # a real chapter: its structure is read
    for command, expected in asks:
        out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout == expected + "\n", command


def test_docs_name_no_absolute_path_of_one_machine():
    """Item 21 of issue 13: eval/README.md gave the report as a path on one machine."""
    for doc in (REPO / "README.md", REPO / "eval" / "README.md"):
        text = doc.read_text(encoding="utf-8")
        assert not re.search(r"(^|[ (`\"])/(work|root|home)/", text, flags=re.M), doc


def test_module_map_names_every_module_and_only_real_ones():
    """README's module map (the table under *How it works*) matches the package: every module of
    qa/ is named, and every path it names exists."""
    table = README[README.index("| module | stage |"):]
    table = table[: table.index("\n\n")]
    named = set(re.findall(r"`((?:qa|training)/[\w/]*(?:\.py|/))`", table))
    for path in named:
        assert (REPO / path).exists(), path
    modules = {str(p.relative_to(REPO)) for p in (REPO / "qa").rglob("*.py") if p.name != "__init__.py" or p.parent.name == "qa"}
    folders = {str(p.relative_to(REPO)) + "/" for p in (REPO / "qa").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert modules - named == set()
    assert {f for f in folders if f not in named} == set()


# ---------------------------------------------------------------- the figures (issue 20 item 8)

def readme_table(first_header_cell: str, text: str = README) -> list[dict[str, str]]:
    """The rows of the Markdown table in `text` whose header starts with `first_header_cell`."""
    start = text.index(f"| {first_header_cell} |")
    lines = text[start:].split("\n\n", 1)[0].strip().splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]


def _ci(s, metric: str) -> str:
    lo, hi = s.ci[metric]
    return f"{s.metrics[metric]:.3f} ({lo:.2f}–{hi:.2f})"


@pytest.fixture(scope="module")
def eval_run(index, tmp_path_factory):
    """What `kzqa eval --all-modes` computes, on the session index, in this process (the same
    run_eval, sets, groups and k the command uses). Computed rather than read from a results file
    kept beside README: a file would only move the question to whether it is still what the
    program prints. It costs the suite's longest minute (651 questions, four modes); README's
    tables are the project's headline claims."""
    from qa.evaluation.evalset import default_questions_path, load_eval_set
    from qa.evaluation.evaluate import run_eval
    from qa.settings import MODES

    sets = {n: load_eval_set(default_questions_path(n)) for n in ("original", "user")}
    run = run_eval(index, sets, list(MODES), tmp_path_factory.mktemp("eval"))
    return {
        "groups": {(s.config, s.group): s for s in run.summaries},
        "styles": {(s.config, s.group): s for s in run.style_summaries},
    }


def test_quality_tables_are_what_kzqa_eval_prints(eval_run):
    """Every figure of README's Quality tables (the headline table's rows of this release, every
    configuration, by style, by question type), and of eval/README.md's tables of this release,
    is what `kzqa eval --all-modes` gives now."""
    groups = eval_run["groups"]
    from qa import __version__

    release_name = ".".join(__version__.split(".")[:2])  # this release's rows: "0.3"
    headline = [r for r in readme_table("set (hybrid, the default)") if r["release"] == release_name]
    assert [r["set (hybrid, the default)"] for r in headline] == ["user-test", "user-dev", "original"]
    for row in headline:
        s = groups[("hybrid", row["set (hybrid, the default)"])]
        m = s.metrics
        assert list(row.values())[2:] == [
            _ci(s, "R@1"), f"{m['R@5']:.3f}", _ci(s, "RR@10"), _ci(s, "sentence_acc"), _ci(s, "answer_acc"),
            f"{100 * m['none_rate']:.1f}%", f"{100 * m['unsure_rate']:.1f}%", f"{100 * m['declined']:.0f}%", f"{m['ece']:.3f}",
        ], row
    eval_readme = (REPO / "eval" / "README.md").read_text(encoding="utf-8")
    release = eval_readme.split(f"### kzqa {release_name}", 1)[1].split("\n### ", 1)[0]  # its tables of this release
    for text in (README, release):
        _check_detail_tables(eval_run, text)
    met = re.search(r"Met:\s+answerable questions told \"not in the report\" ([\d.]+) %.*?flagged unsure ([\d.]+) %"
                    r".*?calibration error ([\d.]+)", README, flags=re.S)
    m = groups[("hybrid", "user-test")].metrics
    assert met.groups() == (f"{100 * m['none_rate']:.1f}", f"{100 * m['unsure_rate']:.1f}", f"{m['ece']:.3f}")


def _check_detail_tables(eval_run, text: str) -> None:
    """Every configuration, by style, by question type: as README.md and eval/README.md show them."""
    groups, styles = eval_run["groups"], eval_run["styles"]
    every = readme_table("config | set | R@1", text)
    assert len(every) == 12
    for row in every:
        s = groups[(row["config"], row["set"])]
        m = s.metrics
        assert list(row.values())[2:] == [
            _ci(s, "R@1"), _ci(s, "RR@10"), _ci(s, "sentence_acc"), _ci(s, "answer_acc"),
            f"{m['none_rate']:.3f}", f"{m['unsure_rate']:.3f}", f"{m['declined']:.3f}", f"{m['ece']:.3f}",
        ], row
    by_style = readme_table("config | style", text)
    assert len(by_style) == 6
    for row in by_style:
        s = styles[(row["config"], row["style"])]
        m = s.metrics
        assert list(row.values())[2:] == [
            f"{int(m['answerable'])}+{int(m['unanswerable'])}", _ci(s, "R@1"), _ci(s, "RR@10"), _ci(s, "sentence_acc"),
            _ci(s, "answer_acc"), f"{m['none_rate']:.3f}", f"{m['declined']:.3f}",
        ], row
    by_type = readme_table("config | set | measure", text)
    assert len(by_type) == 6
    for row in by_type:
        m = groups[(row["config"], row["set"])].metrics
        measure = {"ans": "answer_acc", "sent": "sentence_acc"}[row["measure"]]
        for t in ("numeric", "who", "when", "what", "why"):
            assert row[t] == f"{m[f'{measure}[{t}]']:.3f} ({int(m[f'n[{t}]'])})", (row, t)


def test_index_figures_are_the_index_built(index_dir):
    """The index's size, its encoder's and its counts, as README states them."""
    from qa.index.naming import resolve_location
    from qa.index.read import read_manifest

    loc = resolve_location(index_dir)
    size = re.search(r"`kazakhstan-2011\.sqlite` is the shipped\s+one; ([\d.]+) MB[,)]", README)
    assert size and size.group(1) == f"{loc.path.stat().st_size / 1e6:.1f}"
    (encoder,) = (index_dir / "models").rglob("*.onnx")
    assert re.search(rf"the {encoder.stat().st_size / 1e6:.0f} MB query encoder", README)
    counts = read_manifest(loc).data["counts"]
    assert re.search(rf"{counts['chunks']} passages and {counts['sentences']} sentences are\s+embedded", README)


def test_json_example_shows_what_kzqa_ask_json_prints(cli_env):
    """README's JSON example: every value it spells out (not "...") is the program's, to the
    places it shows."""
    import json

    from click.testing import CliRunner

    from qa.front.cli import cli

    r = CliRunner().invoke(cli, ["ask", "how many prisoners were released", "--json"], env=cli_env)
    obj = json.loads(r.stdout)
    block = README.split("JSON (`kzqa ask --json`", 1)[1].split("```\n", 1)[1].split("\n```", 1)[0]
    where, checked = obj, 0
    for line in block.splitlines():
        head = re.match(r'^[ {]{1,2}"(\w+)": ', line)
        if head:
            where = {"query": obj["query"], "answer": obj["answer"], "passages": obj["passages"][0]}.get(head.group(1), obj)
        code = line.split("  #", 1)[0]
        for key, value in re.findall(r'"(\w+)": (true|false|null|-?\d+(?:\.\d+)?|"[^"]*"|\[[^\[\]]*\])', code):
            if "..." in value or key in ("question", "query", "answer", "passages"):
                continue
            try:
                shown = json.loads(value)
            except ValueError:
                continue
            actual = where[key]
            if isinstance(shown, float):
                actual = round(actual, len(value.split(".")[1]))
            assert actual == shown, (key, actual, shown)
            checked += 1
    assert checked >= 20
