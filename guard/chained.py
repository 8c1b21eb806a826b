"""How guard's alerts and admin actions join the trail's hash chain (issue 6: "the throttle/alert/admin events").

An alert's content (rule, severity, subject, evidence, time) never changes
once raised and is chained then; its status does change, and each change
is an admin action of its own (guard_actions: who, when, what, from where),
chained as it is written. So `authlog verify` finds an edited alert or
action, a deleted one and a forged one; an acknowledgement without its
recorded action shows as a status that no chained row explains only to a
reader of both tables (verify does not cross-check status).

Personal data: an alert's subject label (a user's name, or a network) and
an action's actor are committed as keyed digests and renamed to the
pseudonym when their user is deleted; the addresses an alert's evidence
names and an action's IP are anonymised with the trail's other addresses.

Known limit: the label of an alert about an IP is that IP, kept until the
alert is pruned (RETENTION_DAYS "alert"): the alert is about that address.
"""

import ipaddress
import json

from authlog import chain, trail

# Evidence keys whose value is an address or network, and lists of them (guard/rules.py, guard/alerts.py).
_ADDRESS_KEYS = ("network", "new_network")
_ADDRESS_LISTS = ("sample_ips",)
# "new": ["network 198.51.100.0/24", "device Firefox on Linux"]
_NEW_NETWORK = "network "


def _cut(text: object) -> object:
    """Return an address or network cut to its /24 or /48 network; anything else as it is."""
    if not isinstance(text, str):
        return text
    if "/" not in text:
        public = chain.ip_public_form(text)
        return text if public == chain.NOT_AN_ADDRESS else public
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return text
    most = chain.IPV4_PREFIX if network.version == 4 else chain.IPV6_PREFIX
    if network.prefixlen <= most:
        return str(network)
    return str(network.supernet(new_prefix=most))


def evidence_public_form(text: str | None) -> str | None:
    """Return an alert's evidence with every address in it cut to its /24 or /48 (idempotent)."""
    if text is None:
        return None
    try:
        evidence = json.loads(text)
    except ValueError:
        return text  # not what guard writes: the digest still shows it was edited
    if not isinstance(evidence, dict):
        return text
    for key in _ADDRESS_KEYS:
        if key in evidence:
            evidence[key] = _cut(evidence[key])
    for key in _ADDRESS_LISTS:
        if isinstance(evidence.get(key), list):
            evidence[key] = list(dict.fromkeys(_cut(value) for value in evidence[key]))
    if isinstance(evidence.get("new"), list):
        evidence["new"] = [
            _NEW_NETWORK + str(_cut(item[len(_NEW_NETWORK):]))
            if isinstance(item, str) and item.startswith(_NEW_NETWORK) else item
            for item in evidence["new"]
        ]
    # The form guard/store.py writes (sort_keys), so an untouched evidence without addresses is unchanged.
    return json.dumps(evidence, sort_keys=True)


ALERTS = trail.ChainedTable(
    name="guard_alerts",
    columns=("id", "rule", "severity", "subject_type", "subject_ref", "dedup_ref", "user_id",
             "created_at"),
    time_column="created_at",
    fixed_kind="alert",
    ip_column="evidence",
    ip_public_form=evidence_public_form,
    name_column="subject_label",
    user_column="user_id",
    retention_kind="alert",
    kinds=("alert",),
    # As long as the failed attempts an alert summarises.
    default_days=90,
)
ADMIN_ACTIONS = trail.ChainedTable(
    name="guard_actions",
    columns=("id", "actor_id", "action", "target", "detail", "created_at"),
    time_column="created_at",
    kind_column="action",
    ip_column="ip_address",
    name_column="actor",
    user_column="actor_id",
    retention_kind="admin_action",
    kinds=("unlock", "clear_throttles", "acknowledge"),
    # Who unlocked or acknowledged what is asked for as long as who signed in.
    default_days=365,
)
TABLES = (ALERTS, ADMIN_ACTIONS)


def register() -> None:
    """Declare guard's chained tables to the trail (from GuardConfig.ready)."""
    for table in TABLES:
        trail.register_chained_table(table)


def chain_alert(alert_id: int) -> None:
    """Chain an alert just inserted; call it in the insert's transaction."""
    trail.chain_stored_row(table=ALERTS, event_id=alert_id)


def chain_admin_action(action_id: int) -> None:
    """Chain an admin action just inserted; call it in the insert's transaction."""
    trail.chain_stored_row(table=ADMIN_ACTIONS, event_id=action_id)
