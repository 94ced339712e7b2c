"""Every choice list and every limit on a caller's input is defined once, in qa/settings.py: no
other module of qa/ assigns one of its names, or a copy of one of its choice lists."""

from __future__ import annotations

import ast
from pathlib import Path

import qa.settings as settings

PACKAGE = Path(__file__).resolve().parent.parent / "qa"


def test_no_module_defines_a_setting_again():
    names = {n for n in vars(settings) if n.isupper()}
    choices = {v for n, v in vars(settings).items() if n.isupper() and isinstance(v, tuple)}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "settings.py" and path.parent == PACKAGE:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, (ast.Assign, ast.AnnAssign)):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in names:
                    found.append(f"{path.relative_to(PACKAGE)}: {target.id}")
            try:
                value = ast.literal_eval(node.value) if node.value is not None else None
            except ValueError:
                continue
            if isinstance(value, (tuple, list)) and tuple(value) in choices:
                found.append(f"{path.relative_to(PACKAGE)}: a copy of {tuple(value)}")
    assert not found, found
