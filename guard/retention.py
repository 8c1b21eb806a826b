"""Forget guard's own personal data with the trail's: a deleted user's, and what has outlived its use.

Connected in GuardConfig.ready to authlog/signals.py. A deleted user's
known networks and devices and their throttle counters (whose labels hold
the name) go in the deletion's transaction; Redis counters are cleared too
(they expire by themselves if Redis is down). At each prune, a known
network or device first seen longer ago than the sign-ins are kept
("login" retention) is forgotten: the sign-ins that showed it are gone,
and a sign-in from it again raises one "new network/device" alert and
remembers it afresh. Expired database counters are deleted too.

Known limit: without a "last seen" column (one more write on every
sign-in), a source still in use is forgotten a year after it was first
seen.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction

from guard import store, throttle
from guard.counters import database_counters
from guard.operations import OperationError, clear_counters, user_ref_of

logger = logging.getLogger("guard.retention")
BATCH = 1000


def forget_deleted_user(*, user_id: int, username: str, **_kwargs) -> None:
    """Forget a deleted user's known sources and throttle counters (in the deletion's transaction)."""
    store.delete_known_sources_of_user(user_id=user_id)
    try:
        clear_counters(user_ref=user_ref_of(username))
    except OperationError as error:
        # Redis's expire by themselves (the database's are cleared): the deletion must not fail for an outage.
        logger.error("guard: counters of a deleted user not cleared: %s", error)


def forget_old_sources(
    *, at: datetime, retention: dict[str, int | None], **_kwargs
) -> int:
    """Forget the known sources first seen before the sign-ins are kept from; return how many."""
    days = retention.get("login")
    forgotten = 0
    if days is not None:
        before = at - timedelta(days=days)
        while True:
            with transaction.atomic():
                done = store.delete_known_sources_before(before=before, limit=BATCH)
            forgotten += done
            if done < BATCH:
                break
    database_counters().prune(now=throttle.clock(), batch=throttle.PRUNE_BATCH)
    return forgotten


def connect() -> None:
    """Receive the trail's retention signals (from GuardConfig.ready)."""
    from authlog import signals

    signals.user_deleted.connect(_on_user_deleted, dispatch_uid="guard.forget_deleted_user")
    signals.trail_pruned.connect(_on_trail_pruned, dispatch_uid="guard.forget_old_sources")


def _on_user_deleted(sender, **kwargs) -> None:
    forget_deleted_user(**kwargs)


def _on_trail_pruned(sender, **kwargs) -> None:
    forget_old_sources(**kwargs)
