"""`rasa data validate` is clean: no errors and no warnings (unused intents or responses, intents with no
training examples, slot mappings for forms that do not ask for the slot, story conflicts, ...)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from evaluation.rasa_process import RASA_BIN, ROOT, rasa_env


def test_training_data_validates_without_warnings(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(RASA_BIN), "data", "validate", "--fail-on-warnings",
         "--domain", str(ROOT / "domain.yml"), "--data", str(ROOT / "nlu"), str(ROOT / "data" / "dialogue"),
         "--config", str(ROOT / "config.yml")],
        cwd=tmp_path, env=rasa_env(), capture_output=True, text=True, timeout=300, check=False,
    )
    output = result.stdout + result.stderr
    # Rasa's own warnings are UserWarnings raised from rasa/ (libraries' noise is not ours to judge);
    # errors are logged with ERROR.
    problems = [line for line in output.splitlines()
                if ("UserWarning" in line and "/rasa/" in line) or " ERROR " in line]
    assert result.returncode == 0, "\n".join(problems) or output[-3000:]
    assert not problems, "\n".join(problems)
