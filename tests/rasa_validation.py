"""`rasa data validate` run as a test would: clean means no errors and none of Rasa's own warnings."""

from __future__ import annotations

import subprocess
from pathlib import Path

from evaluation.rasa_process import RASA_BIN, rasa_env


def assert_rasa_data_is_clean(*, domain: Path, data: list[Path], config: Path, workdir: Path) -> None:
    """Validate with --fail-on-warnings, and fail with the offending lines."""
    result = subprocess.run(
        [str(RASA_BIN), "data", "validate", "--fail-on-warnings", "--domain", str(domain),
         "--data", *map(str, data), "--config", str(config)],
        cwd=workdir, env=rasa_env(), capture_output=True, text=True, timeout=300, check=False,
    )
    output = result.stdout + result.stderr
    # Rasa's own warnings are UserWarnings raised from rasa/ (libraries' noise is not ours to judge);
    # errors are logged with ERROR.
    problems = [line for line in output.splitlines()
                if ("UserWarning" in line and "/rasa/" in line) or " ERROR " in line]
    assert result.returncode == 0, "\n".join(problems) or output[-3000:]
    assert not problems, "\n".join(problems)
