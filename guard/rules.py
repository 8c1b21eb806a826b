"""The alert rules: from what one sign-in attempt saw, which alerts it raises. Pure.

The inputs are the counters the attempt has just read and written (a primary
key lookup each, no extra query), so the rules can run on every attempt. A
rule that stays true during an attack yields the same draft again and again;
guard.alerts keeps one open alert per rule and subject (SECURITY-CASES 41).
"""

from dataclasses import dataclass, field
from enum import StrEnum


class Rule(StrEnum):
    ACCOUNT_BRUTE_FORCE = "account_brute_force"
    ACCOUNT_MANY_NETWORKS = "account_many_networks"
    NETWORK_MANY_USERNAMES = "network_many_usernames"
    NEW_SIGN_IN_SOURCE = "new_sign_in_source"
    SUCCESS_AFTER_FAILURES = "success_after_failures"


TITLES = {
    Rule.ACCOUNT_BRUTE_FORCE: "Brute force on one account",
    Rule.ACCOUNT_MANY_NETWORKS: "Many networks trying one account",
    Rule.NETWORK_MANY_USERNAMES: "One network trying many usernames",
    Rule.NEW_SIGN_IN_SOURCE: "Sign-in from a new device or network",
    Rule.SUCCESS_AFTER_FAILURES: "Successful sign-in right after many failures",
}

LOW, MEDIUM, HIGH = "low", "medium", "high"
USER, IP = "user", "ip"


@dataclass(frozen=True)
class Thresholds:
    account_failures: int
    account_networks: int
    network_usernames: int
    failures_before_success: int


@dataclass(frozen=True)
class AlertDraft:
    """An alert to raise unless one is open for the same rule and `dedup_ref`."""

    rule: Rule
    severity: str
    subject_type: str
    subject_ref: str
    subject_label: str
    dedup_ref: str
    user_id: int | None
    evidence: dict
    notify_user: bool = False


@dataclass(frozen=True)
class FailureFacts:
    """What a failed (or refused) attempt saw. Counts are window estimates after this attempt."""

    user_id: int | None  # None: the name matches no account
    user_label: str
    user_ref: str
    network: str
    network_ref: str
    account_failures: float
    account_networks: float
    network_usernames: float
    account_window: int
    network_window: int
    new_locks: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class SuccessFacts:
    """What a successful sign-in saw."""

    user_id: int
    user_label: str
    user_ref: str
    network: str
    network_ref: str
    failures_before: float
    account_window: int
    account_locked_recently: bool
    known_device: bool
    new_network: str | None = None  # the network, if the user never signed in from it
    new_network_ref: str = ""
    new_device: str | None = None  # the device, if the user never signed in with it
    new_device_ref: str = ""


def _count(value: float) -> int:
    return int(round(value))


def _about_user(
    facts: "FailureFacts | SuccessFacts",
    *,
    rule: Rule,
    severity: str,
    evidence: dict,
    dedup_ref: str | None = None,
    notify_user: bool = False,
) -> AlertDraft:
    """Return an alert whose subject is the account of `facts`."""
    return AlertDraft(
        rule=rule,
        severity=severity,
        subject_type=USER,
        subject_ref=facts.user_ref,
        subject_label=facts.user_label,
        dedup_ref=dedup_ref or facts.user_ref,
        user_id=facts.user_id,
        evidence=evidence,
        notify_user=notify_user,
    )


def failure_alerts(facts: FailureFacts, thresholds: Thresholds) -> list[AlertDraft]:
    """Return the alerts a failed or refused attempt raises."""
    drafts = []
    account_locked = sorted({"username", "account"} & set(facts.new_locks))
    if facts.user_id is not None:
        # Only real accounts: a name of no account is nobody's to protect, and
        # the network rule below still sees a sprayer of unknown names.
        if facts.account_failures >= thresholds.account_failures or account_locked:
            drafts.append(_about_user(
                facts,
                rule=Rule.ACCOUNT_BRUTE_FORCE,
                severity=HIGH,
                evidence={
                    "failures": _count(facts.account_failures),
                    "window_seconds": facts.account_window,
                    "threshold": thresholds.account_failures,
                    "locked": account_locked,
                },
                notify_user=True,
            ))
        if facts.account_networks >= thresholds.account_networks:
            drafts.append(_about_user(
                facts,
                rule=Rule.ACCOUNT_MANY_NETWORKS,
                severity=HIGH,
                evidence={
                    "networks": _count(facts.account_networks),
                    "failures": _count(facts.account_failures),
                    "window_seconds": facts.account_window,
                    "threshold": thresholds.account_networks,
                },
            ))
    network_locked = "ip" in facts.new_locks
    if facts.network_usernames >= thresholds.network_usernames or network_locked:
        drafts.append(AlertDraft(
            rule=Rule.NETWORK_MANY_USERNAMES,
            severity=HIGH,
            subject_type=IP,
            subject_ref=facts.network_ref,
            subject_label=facts.network,
            dedup_ref=facts.network_ref,
            user_id=None,
            evidence={
                "usernames": _count(facts.network_usernames),
                "window_seconds": facts.network_window,
                "threshold": thresholds.network_usernames,
                "locked": ["ip"] if network_locked else [],
            },
        ))
    return drafts


def success_alerts(facts: SuccessFacts, thresholds: Thresholds) -> list[AlertDraft]:
    """Return the alerts a successful sign-in raises."""
    drafts = []
    if facts.failures_before >= thresholds.failures_before_success or facts.account_locked_recently:
        drafts.append(_about_user(
            facts,
            rule=Rule.SUCCESS_AFTER_FAILURES,
            # From a browser that signed in before it is most likely the owner.
            severity=MEDIUM if facts.known_device else HIGH,
            evidence={
                "failures_before": _count(facts.failures_before),
                "window_seconds": facts.account_window,
                "threshold": thresholds.failures_before_success,
                "account_was_locked": facts.account_locked_recently,
                "known_device": facts.known_device,
                "network": facts.network,
            },
            notify_user=True,
        ))
    if facts.new_network or facts.new_device:
        new = [f"network {facts.new_network}"] if facts.new_network else []
        new += [f"device {facts.new_device}"] if facts.new_device else []
        drafts.append(_about_user(
            facts,
            rule=Rule.NEW_SIGN_IN_SOURCE,
            severity=MEDIUM if facts.new_device else LOW,
            # One open alert per user and new source: two new devices are two alerts.
            dedup_ref=f"{facts.user_ref}:{facts.new_network_ref}:{facts.new_device_ref}",
            evidence={
                "new": new,
                "network": facts.network,
                "new_network": facts.new_network,
                "new_device": facts.new_device,
            },
            notify_user=facts.new_device is not None,
        ))
    return drafts
