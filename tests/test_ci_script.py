"""The CI entry point itself: a merge once left `.ci/run` unparseable (a line pasted into its header comment), so
CI failed before a single test ran. Bash checks it here, without running it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_ci_script_parses_and_ends_by_running_the_suite() -> None:
    script = ROOT / ".ci" / "run"
    checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr
    lines = [line.strip() for line in script.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines[0] == "#!/usr/bin/env bash" and "set -euo pipefail" in lines
    assert lines[-1] == "make test"
