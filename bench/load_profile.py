"""Where the registry's workers spend the registration POST: py-spy (the `bench` extra) attached
to each worker during bench/load.py's registration-alone stretches, sampling the thread that
holds the GIL (Python's own CPU), then the functions with the largest inclusive share.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


def start(pids: list[int], seconds: float, folder: Path) -> list[subprocess.Popen]:  # type: ignore[type-arg]
    """One sampler per worker for `seconds` (raw collapsed stacks into `folder`)."""
    if not Path(PY_SPY).exists():
        sys.exit("--profile needs py-spy: pip install -e '.[bench]'")
    return [subprocess.Popen([PY_SPY, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "200",
                              "--gil", "--nonblocking", "--format", "raw", "-o", str(folder / f"spy-{pid}-{i}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for i, pid in enumerate(pids)]


def _frame(frame: str) -> str:
    """'register (registry/registration/views.py:96)' -> 'register (registry/registration/views.py)'."""
    frame = re.sub(r":\d+\)$", ")", frame)
    return re.sub(r"\(.*?(site-packages|wt-[^/]+|main)/", "(", frame)


def top(folder: Path, count: int = 25, within: str = "registry/") -> list[str]:
    """The `count` functions of `within` (the project's code by default) with the largest share
    of samples, inclusive of what they call."""
    inclusive: Counter[str] = Counter()
    total = 0
    for path in folder.glob("spy-*.txt"):
        for line in path.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if not n.isdigit():
                continue
            total += int(n)
            for frame in {_frame(f) for f in stack.split(";")}:
                inclusive[frame] += int(n)
    shown = [(frame, n) for frame, n in inclusive.most_common() if within in frame][:count]
    return [f"  {100 * n / max(total, 1):5.1f} %  {frame}" for frame, n in shown]
