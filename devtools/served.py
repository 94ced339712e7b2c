"""A real `kzqa serve` for the tests (tests/front/) and the load benchmark (benchmarks/bench_serve.py): started as a process on a free loopback port (`--port 0`),
waited for until /healthz says ready, stopped with Ctrl-C (SIGINT) as a person would."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

SERVING = re.compile(r"kzqa: serving .* at (http://\S+/) ")


class Served:
    """`python -m qa serve ARGS` (what the `kzqa` command runs) with its stderr collected (read continuously, so that the
    access log never fills the pipe)."""

    def __init__(self, index_dir: Path | str, *args: str, env: dict | None = None, ready: bool = True, timeout: float = 240.0) -> None:
        self.env = {**os.environ, "KZQA_INDEX_DIR": str(index_dir), "NO_COLOR": "1", **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--port", "0", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = self._wait_for(lambda: next((m.group(1) for line in self.lines if (m := SERVING.search(line))), None), timeout)
        if ready:
            self._wait_for(self._healthy, timeout)

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def _wait_for(self, probe, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            if self.proc.poll() is not None:
                self._reader.join(5)
                raise AssertionError(f"kzqa serve exited with {self.proc.returncode}:\n{self.stderr}")
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"kzqa serve not ready after {timeout} s:\n{self.stderr}")

    def _healthy(self) -> bool:
        try:
            return httpx.get(self.url + "healthz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(5)
        return self.proc.returncode

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
