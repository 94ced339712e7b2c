"""The `kzqa` command and `python -m qa`: the CLI behind a guard that is in place before any of
its modules load, so that Ctrl-C at any moment ends in `kzqa: interrupted` (status 130), never a
traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from .testhook import test_pause

        test_pause("start")
        from .cli import main as run

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
