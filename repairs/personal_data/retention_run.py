"""A retention run: take the lease, apply each kind of record's period, record the counts.

Scale-out: every replica may ask for a run, but only the one that takes the `retention` lease (a single
conditional UPDATE of its row in `job_leases`, atomic on PostgreSQL and SQLite alike) runs it; the others
skip. A holder that dies leaves a lease that runs out by itself. Each batch is its own short transaction, so a
run never holds locks the service's requests wait on for long, and a run cut short is simply continued by the
next one (every removal is marked and done once).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.personal_data.kinds import RetentionJob, record_kinds
from repairs.personal_data.models import JobLease, RetentionRun

log = logging.getLogger(__name__)

LEASE_NAME = "retention"
# Longer than any run should take; a run past it could overlap the next holder's, which is harmless (every
# removal is idempotent) but wasteful.
LEASE = timedelta(hours=2)


@dataclass(frozen=True)
class RunOutcome:
    ran: bool
    run_id: int | None
    counts: dict[str, int]
    reason: str = ""  # why it did not run


def holder_name() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def take_lease(ctx: ServiceContext, *, holder: str, now: datetime, lease: timedelta = LEASE) -> bool:
    with transaction(ctx.sessions) as session:
        result = session.execute(
            update(JobLease)
            .where(JobLease.name == LEASE_NAME, or_(JobLease.expires_at.is_(None), JobLease.expires_at <= now))
            .values(holder=holder, expires_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return True
        if session.get(JobLease, LEASE_NAME) is not None:
            return False
    # The migration makes the row; should it be gone (a database restored without it), the first replica to
    # insert it holds the lease and the others' inserts fail on the primary key.
    try:
        with transaction(ctx.sessions) as session:
            session.add(JobLease(name=LEASE_NAME, holder=holder, expires_at=now + lease))
    except IntegrityError:
        return False
    return True


def release_lease(ctx: ServiceContext, *, holder: str) -> None:
    with transaction(ctx.sessions) as session:
        session.execute(update(JobLease).where(JobLease.name == LEASE_NAME, JobLease.holder == holder)
                        .values(holder=None, expires_at=None).execution_options(synchronize_session=False))


def last_finished(ctx: ServiceContext) -> datetime | None:
    with transaction(ctx.sessions) as session:
        return session.scalar(select(RetentionRun.started_at).where(RetentionRun.status == "finished")
                              .order_by(RetentionRun.started_at.desc()).limit(1))


def run_retention(ctx: ServiceContext, *, trigger: str, now: datetime | None = None,
                  due_after: timedelta | None = None) -> RunOutcome:
    """Apply the schedule once. With `due_after` (the service's daily run), do nothing when a run finished
    more recently than that."""
    now = now or utcnow()
    holder = holder_name()
    if not take_lease(ctx, holder=holder, now=now):
        return RunOutcome(False, None, {}, "another replica is running it")
    try:
        if due_after is not None:
            # Checked under the lease: a replica that finished a run a moment ago has released it by now.
            finished = last_finished(ctx)
            if finished is not None and finished > now - due_after:
                return RunOutcome(False, None, {}, "not due yet")
        return _run(ctx, trigger=trigger, now=now)
    finally:
        release_lease(ctx, holder=holder)


def _run(ctx: ServiceContext, *, trigger: str, now: datetime) -> RunOutcome:
    schedule = ctx.retention
    with transaction(ctx.sessions) as session:
        run = RetentionRun(started_at=now, trigger=trigger, status="running", counts={})
        session.add(run)
        session.flush()
        run_id = run.id
    job = RetentionJob(photos=ctx.photos, tracker=ctx.tracker, now=now)
    counts: dict[str, int] = {}
    try:
        for kind in record_kinds():
            cutoff = now - schedule.rule(kind.name).keep
            if kind.external:
                with transaction(ctx.sessions) as session:
                    counts[kind.name] = kind.apply(session, job, cutoff)
                continue
            total = 0
            while True:
                with transaction(ctx.sessions) as session:
                    treated = kind.apply(session, job, cutoff)
                total += treated
                if treated < job.batch:
                    break
            counts[kind.name] = total
    except Exception as exc:
        with transaction(ctx.sessions) as session:
            session.execute(update(RetentionRun).where(RetentionRun.id == run_id).values(
                status="failed", finished_at=utcnow(), counts=counts, error=type(exc).__name__[:100]))
        log.exception("retention run failed", extra={"run_id": run_id})
        raise
    with transaction(ctx.sessions) as session:
        session.execute(update(RetentionRun).where(RetentionRun.id == run_id).values(
            status="finished", finished_at=utcnow(), counts=counts))
    log.info("retention run finished", extra={"run_id": run_id, "counts": counts})
    return RunOutcome(True, run_id, counts)


def recent_runs(ctx: ServiceContext, *, limit: int) -> list[RetentionRun]:
    with transaction(ctx.sessions) as session:
        return list(session.scalars(select(RetentionRun).order_by(RetentionRun.id.desc()).limit(limit)))
