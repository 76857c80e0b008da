"""Rasa's SQL tracker store, plus erasing a conversation: what "forget me" needs.

Rasa 3.6 has no API to delete a conversation. `PUT /conversations/<id>/tracker/events` replaces a
tracker's events, but the SQL store only ever appends, so replacing them with none changes nothing.
Here, saving a tracker with no events at all deletes that conversation's rows. Rasa itself never saves
an empty tracker (a conversation starts with its session events), so only that PUT reaches the delete.

    tracker_store:
      type: rasa_tracker.erasable.ErasableSQLTrackerStore
      dialect: "sqlite"   # every other key as for `type: SQL`
      db: "var/rasa-tracker.db"

Its engine hides bound parameters: a database error's message otherwise quotes the values of the failed
statement, and the values of the events table are the conversation itself (every message, every slot).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)


class ErasableSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # SQLTrackerStore builds its engine inside __init__ with no way to pass this; the engine reads the
        # attribute whenever it formats an error, so setting it once here covers every statement after.
        self.engine.hide_parameters = True
        # Each pooled connection is checked (a cheap round trip) before a turn uses it, as the repairs service's
        # engine does (pool_pre_ping): after PostgreSQL restarts, every connection in the pool is dead, and
        # without the check each one failed the turn that drew it (the drills' PostgreSQL restart). The pool
        # reads this attribute at every checkout; SQLTrackerStore offers no way to pass pool_pre_ping.
        self.engine.pool._pre_ping = True

    async def save(self, tracker: DialogueStateTracker) -> None:
        if len(tracker.events) == 0:
            with self.session_scope() as session:
                deleted = (
                    session.query(self.SQLEvent)
                    .filter(self.SQLEvent.sender_id == tracker.sender_id)
                    .delete(synchronize_session=False)
                )
                session.commit()
            logger.info("Erased a conversation (%d events).", deleted)
            return
        await super().save(tracker)
