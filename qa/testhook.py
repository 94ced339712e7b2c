"""The test hook KZQA_TEST_PAUSE_AT=stage[,stage...][:seconds]: at a named stage kzqa prints
"kzqa: test pause at <stage>" on stderr and sleeps there (default: an hour, i.e. until killed), so
that tests can kill it, interrupt it or change its input at a known point. Nothing happens
unless the variable is set. Stages: `start` (the `kzqa` command's Ctrl-C guard is in place, no
other kzqa module loaded yet), and the build stages listed in qa/index/write.py."""

from __future__ import annotations

import os
import sys
import time

ENV_TEST_PAUSE = "KZQA_TEST_PAUSE_AT"


def test_pause(stage: str) -> None:
    spec = os.environ.get(ENV_TEST_PAUSE)
    if not spec:
        return
    stages, _, seconds = spec.partition(":")
    if stage in stages.split(","):
        print(f"kzqa: test pause at {stage}", file=sys.stderr, flush=True)
        time.sleep(float(seconds) if seconds else 3600.0)
