"""The pure alert rules: each on both sides of its threshold."""

import pytest

from guard.rules import FailureFacts, Rule, SuccessFacts, Thresholds, failure_alerts, success_alerts

THRESHOLDS = Thresholds(account_failures=10, account_networks=10, network_usernames=10, failures_before_success=5)


def failure(**overrides) -> FailureFacts:
    facts = dict(
        user_id=7, user_label="alice", user_ref="a" * 24, network="192.0.2.1", network_ref="n" * 24,
        account_failures=1.0, account_networks=1.0, network_usernames=1.0,
        account_window=3600, network_window=3600,
    )
    return FailureFacts(**{**facts, **overrides})


def success(**overrides) -> SuccessFacts:
    facts = dict(
        user_id=7, user_label="alice", user_ref="a" * 24, network="192.0.2.1", network_ref="n" * 24,
        failures_before=0.0, account_window=3600, account_locked_recently=False, known_device=False,
    )
    return SuccessFacts(**{**facts, **overrides})


def rules_of(drafts) -> list[Rule]:
    return [draft.rule for draft in drafts]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"account_failures": 9.4}, []),
        ({"account_failures": 10.0}, [Rule.ACCOUNT_BRUTE_FORCE]),
        ({"new_locks": ("username",)}, [Rule.ACCOUNT_BRUTE_FORCE]),
        ({"new_locks": ("account",)}, [Rule.ACCOUNT_BRUTE_FORCE]),
        ({"new_locks": ("pair",)}, []),
        ({"account_networks": 9.0}, []),
        ({"account_networks": 10.0}, [Rule.ACCOUNT_MANY_NETWORKS]),
        ({"network_usernames": 9.9}, []),
        ({"network_usernames": 10.0}, [Rule.NETWORK_MANY_USERNAMES]),
        ({"new_locks": ("ip",)}, [Rule.NETWORK_MANY_USERNAMES]),
        # A name of no account: only the network's rule can fire.
        ({"user_id": None, "account_failures": 50.0, "account_networks": 50.0}, []),
        ({"user_id": None, "network_usernames": 10.0}, [Rule.NETWORK_MANY_USERNAMES]),
    ],
)
def test_failure_rules_on_both_sides_of_their_thresholds(overrides, expected):
    assert rules_of(failure_alerts(failure(**overrides), THRESHOLDS)) == expected


def test_failure_drafts_carry_subject_evidence_and_who_is_told():
    [brute, network] = failure_alerts(failure(account_failures=12.2, network_usernames=11), THRESHOLDS)
    assert (brute.subject_type, brute.subject_label, brute.dedup_ref, brute.notify_user) == ("user", "alice", "a" * 24, True)
    assert brute.evidence == {"failures": 12, "window_seconds": 3600, "threshold": 10, "locked": []}
    assert (network.subject_type, network.subject_label, network.notify_user) == ("ip", "192.0.2.1", False)
    assert network.severity == brute.severity == "high"


@pytest.mark.parametrize(
    ("overrides", "expected", "severity"),
    [
        ({"failures_before": 4.0}, [], None),
        ({"failures_before": 5.0}, [Rule.SUCCESS_AFTER_FAILURES], "high"),
        ({"failures_before": 5.0, "known_device": True}, [Rule.SUCCESS_AFTER_FAILURES], "medium"),
        ({"account_locked_recently": True}, [Rule.SUCCESS_AFTER_FAILURES], "high"),
        ({"new_network": "203.0.113.0/24", "new_network_ref": "x"}, [Rule.NEW_SIGN_IN_SOURCE], "low"),
        ({"new_device": "Firefox / Windows / desktop", "new_device_ref": "d"}, [Rule.NEW_SIGN_IN_SOURCE], "medium"),
    ],
)
def test_success_rules_on_both_sides_of_their_thresholds(overrides, expected, severity):
    drafts = success_alerts(success(**overrides), THRESHOLDS)
    assert rules_of(drafts) == expected
    if drafts:
        assert drafts[0].severity == severity


def test_two_new_devices_are_two_alerts_and_only_a_new_device_mails_the_user():
    one = success_alerts(success(new_device="A", new_device_ref="1"), THRESHOLDS)[0]
    two = success_alerts(success(new_device="B", new_device_ref="2"), THRESHOLDS)[0]
    network = success_alerts(success(new_network="n", new_network_ref="3"), THRESHOLDS)[0]
    assert len({one.dedup_ref, two.dedup_ref, network.dedup_ref}) == 3
    assert (one.notify_user, network.notify_user) == (True, False)
