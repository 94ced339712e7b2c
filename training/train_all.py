"""Rebuild everything kzqa ships that is trained, in order, with the default seeds:

    python training/train_all.py        # about 40-60 min on a 2-core machine

1. training/train_reader.py: the reader (qa/data/reader.onnx, reader.json) and its out-of-fold
   copies (training/out/), from the eval sets' fitting items and questions generated from the
   reports;
2. training/train_answer_model.py: the scorers (qa/data/answer_model.json), fitted on what the
   out-of-fold readers say of the fitting items.
Neither ever reads the user set's test split. Arguments after `--` go to train_reader.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    extra = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []
    t0 = time.perf_counter()
    for script, args in (("train_reader.py", extra), ("train_answer_model.py", [])):
        print(f"== {script} {' '.join(args)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *args], check=True)
    print(f"== done in {(time.perf_counter() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
