"""`python -m action_server`: check the settings, then serve the actions (see action_server/__init__.py)."""

from __future__ import annotations

import logging
import os
import sys

from actions.texts import set_repairs_phone
from rasa_sdk import utils

from action_server.app import build_app
from action_server.settings import ActionServerSettings, SettingsError


def main() -> int:
    try:
        settings = ActionServerSettings.from_environ(os.environ)
    except SettingsError as exc:
        print("The action server cannot start:", *(f"  - {problem}" for problem in exc.problems),
              sep="\n", file=sys.stderr)
        return 2
    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    # httpx logs every request's URL at INFO: a line per call (with ticket references in the path) that says
    # nothing the service's own log does not, and costs the action server time on every turn.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    set_repairs_phone(settings.repairs_phone)
    app = build_app(settings)
    logging.getLogger("action_server").info("action server on %s:%d, %d worker(s); every call but /health needs "
                                            "Rasa's token", settings.host, settings.port, settings.workers)
    app.run(settings.host, settings.port, workers=settings.workers, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
