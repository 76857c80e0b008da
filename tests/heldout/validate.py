"""Check tests/heldout/messages.yml for schema and label consistency; print the counts.

Run: .venv/bin/python tests/heldout/validate.py
"""
import collections
import pathlib
import re
import sys

import yaml

INTENTS = {"report_repair", "check_status", "cancel_repair", "complaint", "request_human",
           "greet", "goodbye", "thank", "out_of_scope"}
CATEGORIES = {"plumbing", "heating", "electrical", "gas", "damp_mould", "roofing", "doors_windows", "fittings",
              "walls_floors", "pests", "lifts", "communal", "external", "fire_safety", "other"}


def norm(text):
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def main(path=pathlib.Path(__file__).with_name("messages.yml")):
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors, seen = [], {}
    for n, it in enumerate(items):
        where = f"entry {n}: {it.get('text')!r}" if isinstance(it, dict) else f"entry {n}"
        if not isinstance(it, dict) or set(it) != {"text", "intent", "category", "emergency"}:
            errors.append(f"{where}: keys must be exactly text/intent/category/emergency")
            continue
        if not isinstance(it["text"], str) or not it["text"].strip():
            errors.append(f"{where}: empty text")
        if it["intent"] not in INTENTS:
            errors.append(f"{where}: bad intent")
        if not isinstance(it["emergency"], bool):
            errors.append(f"{where}: emergency must be a bool")
        if it["intent"] == "report_repair":
            if it["category"] not in CATEGORIES:
                errors.append(f"{where}: report_repair needs a valid category")
        else:
            if it["category"] is not None:
                errors.append(f"{where}: category must be null for {it['intent']}")
            if it["emergency"] is not False:
                errors.append(f"{where}: only report_repair can be an emergency")
        key = norm(str(it["text"]))
        if key in seen:
            errors.append(f"{where}: duplicate of entry {seen[key]}")
        seen.setdefault(key, n)

    intents = collections.Counter(it["intent"] for it in items)
    cats = collections.Counter(it["category"] for it in items if it["intent"] == "report_repair")
    emerg = collections.Counter(it["category"] for it in items if it["emergency"])
    print(f"total {len(items)}")
    print("intents:", dict(intents.most_common()))
    print("categories:", dict(cats.most_common()))
    print(f"emergencies {sum(emerg.values())}:", dict(emerg.most_common()))
    if len(items) < 400:
        errors.append("fewer than 400 entries")
    errors += [f"category {c}: only {cats[c]} entries" for c in CATEGORIES if cats[c] < 12]
    errors += [f"intent {i}: only {intents[i]} entries" for i in INTENTS - {"report_repair"} if intents[i] < 15]
    for e in errors:
        print("ERROR", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
