"""Idempotency keys for what an action creates, taken from the turn it runs in, never made up per attempt.

The same action call can run more than once: the balancer gives up on an action server that does not answer
(one hung, or stopped) and sends the same call to the other, and the first may wake and finish it later
(docker/haproxy/haproxy.cfg, bench/cluster.py). A key drawn at random inside the action would differ
between the two runs, and the repairs service would make two tickets. A key from the turn (the sender and
the id Rasa gives the resident's message) is the same in both, so the service makes one and answers the
other with it.
"""

from __future__ import annotations

import uuid

from rasa_sdk import Tracker

# Any fixed namespace: it only keeps these ids apart from uuid5 ids made elsewhere from the same words.
_NAMESPACE = uuid.UUID("5b0c5a8e-4f57-4d0f-9a53-6a1f0a6c9e21")


def turn_key(tracker: Tracker) -> str:
    """`sender:message id` of the turn this call belongs to. Rasa gives every message an id; a call without
    one (an action run by hand) is keyed by its sender and how many events its tracker holds, which is the
    same for every run of that call and differs from the next turn's."""
    message_id = (tracker.latest_message or {}).get("message_id")
    if message_id:
        return f"{tracker.sender_id}:{message_id}"
    return f"{tracker.sender_id}:events-{len(tracker.events)}"


def turn_uuid(tracker: Tracker) -> str:
    """turn_key as a UUID, for ids kept in a slot (a report's id, its key's stem)."""
    return str(uuid.uuid5(_NAMESPACE, turn_key(tracker)))
