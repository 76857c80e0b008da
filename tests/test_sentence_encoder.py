"""The NumPy all-MiniLM-L6-v2 encoder gives the same vectors as sentence-transformers itself.

The reference vectors in tests/fixtures/minilm_reference.json were computed once with
sentence-transformers and PyTorch (which the Rasa environment deliberately does not install).
The encoder runs in the Rasa environment, so the check runs there.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA_PY = ROOT / ".venv-rasa" / "bin" / "python"

CHECK = """
import json, sys
import numpy as np
from rasa_components.sentence_encoder import SentenceEncoder
ref = json.load(open(sys.argv[1]))
encoder = SentenceEncoder()
batch = encoder.encode(ref["texts"])
single = np.stack([encoder.encode([t])[0] for t in ref["texts"]])
print(json.dumps({"batch": float(np.abs(batch - np.array(ref["vectors"])).max()),
                  "single": float(np.abs(single - np.array(ref["vectors"])).max()),
                  "norms": [float(x) for x in np.linalg.norm(batch, axis=1)]}))
"""


def test_numpy_encoder_matches_sentence_transformers():
    assert RASA_PY.exists(), "the Rasa environment is missing: run make test (it installs it)"
    out = subprocess.run(
        [str(RASA_PY), "-c", CHECK, str(ROOT / "tests" / "fixtures" / "minilm_reference.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["batch"] < 1e-4 and result["single"] < 1e-4
    assert all(abs(n - 1.0) < 1e-4 for n in result["norms"])
