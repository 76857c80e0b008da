"""The policy is the inner ring (issue 12, item 5): repairs/policy/ defines its vocabulary (priority, tenure,
location type) and imports nothing from the database layer or the web layer; the ORM models import it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from repairs.policy import vocabulary
from repairs.residents import models as resident_models
from repairs.tickets import models as ticket_models

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "repairs" / "policy"


def _imports(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def test_the_policy_imports_only_itself_and_the_shared_package_from_this_project() -> None:
    outside = {
        f"{path.name}: {module}"
        for path in sorted(POLICY.glob("*.py"))
        for module in _imports(path)
        if (module == "repairs" or module.startswith("repairs.")) and not module.startswith("repairs.policy")
    }
    assert not outside, sorted(outside)


def test_loading_the_policy_brings_in_no_database_or_web_layer() -> None:
    """Checked in a fresh interpreter: what importing the policy loads, not what this test process has."""
    probe = ("import sys, repairs.policy.loader; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'fastapi', 'starlette') "
             "or (m.startswith('repairs.') and not m.startswith('repairs.policy'))))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_models_store_the_policys_own_words() -> None:
    assert ticket_models.Priority is vocabulary.Priority
    assert ticket_models.LocationType is vocabulary.LocationType
    assert resident_models.Tenure is vocabulary.Tenure
    column = ticket_models.Ticket.__table__.c.priority
    assert column.type.enum_class is vocabulary.Priority  # type: ignore[attr-defined]
