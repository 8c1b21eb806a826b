"""The one interface every counters backend implements (database, Redis), and its shared types."""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from guard.policy import CounterKey, CounterState, Op


class CountersUnavailable(Exception):
    """The backend cannot be reached; the caller falls back to another one."""


@dataclass(frozen=True)
class StoredCounter:
    """A counter as listed by commands and the dashboard."""

    kind: str
    user_ref: str
    source_ref: str
    label: str
    state: CounterState
    expires_at: float


class Counters(ABC):
    """Failure counters shared by every process and server (never per-process memory, case 40).

    `hit` increments every key that is not locked, in one atomic step per
    key, and returns the new states. `apply` carries out a policy.Decision's
    changes. Between the two, the database backend holds the rows locked
    (`atomic`); Redis runs each as one script, so a refused attempt's hits are
    visible to others for the moment until `apply` takes them back (a
    concurrent attempt near a limit may then be refused one early, never late).
    """

    name: str

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Group a hit and the changes that follow it (a no-op where each call is atomic)."""
        yield

    @abstractmethod
    def hit(self, keys: Sequence[CounterKey], *, now: float) -> list[CounterState]:
        """Count one attempt on each key not locked now; return every key's state after it."""

    @abstractmethod
    def apply(
        self, ops: Sequence[Op], *, now: float, backoff_memory: int, rows_locked: bool = False
    ) -> None:
        """Carry out lock/undo/seen/reset changes; a counter that no longer exists is skipped.

        `rows_locked`: the caller's `atomic` block has just hit every key of `ops`.
        """

    @abstractmethod
    def peek(self, keys: Sequence[CounterKey], *, now: float) -> list[CounterState | None]:
        """Return the stored states of the keys (None for a key never hit or expired)."""

    @abstractmethod
    def stored(
        self,
        *,
        now: float,
        locked_only: bool,
        user_ref: str | None = None,
        source_ref: str | None = None,
        limit: int = 100,
    ) -> list[StoredCounter]:
        """Return stored counters, locked ones first, at most `limit`."""

    @abstractmethod
    def clear(
        self, *, user_ref: str | None = None, source_ref: str | None = None, everything: bool = False
    ) -> int:
        """Delete the counters of a name, of a network or device, or all of them; return how many."""

    @abstractmethod
    def prune(self, *, now: float, batch: int) -> int:
        """Delete at most `batch` expired counters; return how many."""
