"""Every flow verification can hand back to has its resumer, and the `pending` slot is set only by name.

Read from the source with `ast` (the actions run in Rasa's Python 3.10, not this one): the members of
`Pending` (actions/pending.py) are exactly the keys of `RESUMABLE` (actions/resume.py), and no action writes
the `pending` slot as a bare string, which could name a flow the registry does not know.
"""

from __future__ import annotations

import ast
from pathlib import Path

ACTIONS = Path(__file__).resolve().parent.parent / "actions"


def _tree(name: str) -> ast.Module:
    return ast.parse((ACTIONS / name).read_text(encoding="utf-8"))


def pending_members() -> set[str]:
    enum = next(node for node in _tree("pending.py").body if isinstance(node, ast.ClassDef) and node.name == "Pending")
    return {target.id for node in enum.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def resumable_keys() -> set[str]:
    for node in _tree("resume.py").body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "RESUMABLE":
            assert isinstance(node.value, ast.Dict)
            return {key.attr for key in node.value.keys if isinstance(key, ast.Attribute)}
    raise AssertionError("actions/resume.py has no RESUMABLE")


def test_every_pending_flow_has_a_resumer_and_every_resumer_a_name() -> None:
    assert pending_members() == resumable_keys()
    assert len(pending_members()) >= 10


def test_the_pending_slot_is_never_set_to_a_bare_string() -> None:
    bare = []
    for path in sorted(ACTIONS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "SlotSet"
                    and len(node.args) == 2 and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value == "pending" and isinstance(node.args[1], ast.Constant)
                    and node.args[1].value is not None):
                bare.append(f"{path.name}:{node.lineno}")
    assert bare == []
