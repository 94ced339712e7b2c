"""The fast paths never import torch or sentence-transformers (a 4-7 s import), nor a training
library (scikit-learn, scipy) or spaCy (training only): the fitted scorers and the reader run on numpy
and onnxruntime."""

import subprocess
import sys

HEAVY = ("torch", "sentence_transformers", "transformers", "sklearn", "lightgbm", "scipy", "spacy")


def modules_after(code, env):
    probe = code + "\nimport sys, json; print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in %r)))" % (HEAVY,)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_import_qa_is_light(cli_env):
    assert modules_after("import qa", cli_env) == "[]"


def test_help_is_light(cli_env):
    assert modules_after("from qa.front.cli import cli\ntry:\n    cli(['--help'])\nexcept SystemExit:\n    pass", cli_env) == "[]"


def test_ask_paths_are_light(cli_env):
    for mode in ("bm25", "hybrid", "rerank"):
        code = f"from qa.front.cli import cli\ntry:\n    cli(['ask', 'how many prisoners were released', '--mode', '{mode}', '--json'])\nexcept SystemExit:\n    pass"
        assert modules_after(code, cli_env) == "[]", mode
