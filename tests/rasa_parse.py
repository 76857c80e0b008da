"""A real Rasa server with the trained model, for tests that read what `/model/parse` makes of a message.

A test module imports `rasa_for_parsing` and `parse`, and asks for the server as its `rasa` argument.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from evaluation.rasa_process import ROOT, RunningRasa, rasa_server, train


@pytest.fixture(scope="module", name="rasa")
def rasa_for_parsing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRasa]:
    log = tmp_path_factory.mktemp("parse") / "rasa.log"
    with rasa_server(train(ROOT / "models").path, log_file=log) as running:
        yield running


def parse(rasa: RunningRasa, text: str) -> dict[str, Any]:
    r = httpx.post(f"{rasa.url}/model/parse", params={"token": rasa.token}, json={"text": text}, timeout=30)
    r.raise_for_status()
    return dict(r.json())
