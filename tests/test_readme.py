"""README.md stays true: its set-up commands are what CI runs, its library example runs and prints
what its comments say."""

import contextlib
import io
import re
from pathlib import Path

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
