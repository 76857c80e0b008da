"""Which status changes a ticket may make, and who may make them."""

from __future__ import annotations

from repairs.tickets.models import Status

# Officers move tickets along this graph; residents only cancel, reopen and close (by confirming).
ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.REPORTED: frozenset({Status.TRIAGED, Status.SCHEDULED, Status.IN_PROGRESS, Status.CANCELLED}),
    Status.TRIAGED: frozenset({Status.SCHEDULED, Status.IN_PROGRESS, Status.COMPLETED, Status.CANCELLED}),
    Status.SCHEDULED: frozenset({Status.TRIAGED, Status.IN_PROGRESS, Status.COMPLETED, Status.CANCELLED}),
    Status.IN_PROGRESS: frozenset({Status.SCHEDULED, Status.COMPLETED}),
    Status.COMPLETED: frozenset({Status.CLOSED, Status.REOPENED}),
    Status.CLOSED: frozenset({Status.REOPENED}),
    Status.REOPENED: frozenset(
        {Status.TRIAGED, Status.SCHEDULED, Status.IN_PROGRESS, Status.COMPLETED, Status.CANCELLED}
    ),
    Status.CANCELLED: frozenset(),
    # Only a merge (service.merge) makes a ticket `merged`, and nothing moves it on: the work carries on
    # under the ticket it was merged into.
    Status.MERGED: frozenset(),
}

# A resident may cancel only before an operative has started.
RESIDENT_CANCELLABLE = frozenset({Status.REPORTED, Status.TRIAGED, Status.SCHEDULED, Status.REOPENED})
RESIDENT_REOPENABLE = frozenset({Status.COMPLETED, Status.CLOSED})
RATEABLE = frozenset({Status.COMPLETED, Status.CLOSED})
ACCEPTS_INFORMATION = frozenset(
    {Status.REPORTED, Status.TRIAGED, Status.SCHEDULED, Status.IN_PROGRESS, Status.REOPENED, Status.COMPLETED}
)


class InvalidTransition(Exception):
    def __init__(self, current: Status, target: Status) -> None:
        self.current = current
        self.target = target
        allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[current])) or "none"
        super().__init__(f"A ticket that is {current.value} cannot become {target.value} (allowed next: {allowed}).")


def check_transition(current: Status, target: Status) -> None:
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(current, target)


def is_open(status: Status) -> bool:
    return status not in (Status.COMPLETED, Status.CLOSED, Status.CANCELLED, Status.MERGED)
