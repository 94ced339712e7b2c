"""The `kzqa` command and `python -m qa`: the CLI behind a guard that is in place before any of
its modules load, so that Ctrl-C at any moment ends in `kzqa: interrupted` (status 130), never a
traceback."""

from __future__ import annotations

import os
import sys

# numpy's BLAS on one thread: a query's products are a few milliseconds of work that a second
# thread speeds up little, and slows down much when it spins beside other work (a server answering
# in parallel, a busy machine). Set before numpy loads; the user's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    try:
        from .testhook import test_pause

        test_pause("start")
        from .front.cli import main as run

        run()
    except KeyboardInterrupt:
        try:
            sys.stderr.write("kzqa: interrupted\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - stderr closed: the status still tells
            pass
        sys.exit(130)


if __name__ == "__main__":
    main()
