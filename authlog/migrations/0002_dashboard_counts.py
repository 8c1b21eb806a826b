"""Create the counts the dashboard's charts read, and the address keys its CIDR filter uses.

`event_counts` (events per hour and type), `failure_ip_days` (failed sign-ins
per address and day) and `session_duration_days` (ended sessions per
duration bucket and day) are kept up to date by authlog/aggregates.py in each
event's transaction; `ip_keys` gives each address seen a sortable key
(authlog/networks.py). This migration fills them from the events already
recorded; `backfill()` is also what bench/bench_dashboard.py runs after its
bulk load.
"""

from collections import Counter

from django.db import migrations

SQLITE = [
    # WITHOUT ROWID: the primary key's b-tree is the table, so each count is
    # read from the index itself.
    "CREATE TABLE event_counts (hour TEXT NOT NULL, event_type TEXT NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY (hour, event_type)) WITHOUT ROWID",
    "CREATE TABLE failure_ip_days (day TEXT NOT NULL, ip_address TEXT NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY (day, ip_address)) WITHOUT ROWID",
    "CREATE TABLE session_duration_days (day TEXT NOT NULL, bucket INTEGER NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY (day, bucket)) WITHOUT ROWID",
    "CREATE TABLE ip_keys (ip_address TEXT NOT NULL PRIMARY KEY, ip_key TEXT NOT NULL)"
    " WITHOUT ROWID",
]

POSTGRESQL = [
    "CREATE TABLE event_counts (hour TIMESTAMPTZ NOT NULL, event_type TEXT NOT NULL,"
    " n BIGINT NOT NULL, PRIMARY KEY (hour, event_type))",
    "CREATE TABLE failure_ip_days (day DATE NOT NULL, ip_address TEXT NOT NULL,"
    " n BIGINT NOT NULL, PRIMARY KEY (day, ip_address) INCLUDE (n))",
    "CREATE TABLE session_duration_days (day DATE NOT NULL, bucket SMALLINT NOT NULL,"
    " n BIGINT NOT NULL, PRIMARY KEY (day, bucket))",
    "CREATE TABLE ip_keys (ip_address TEXT NOT NULL PRIMARY KEY, ip_key TEXT NOT NULL)",
]

INDEXES = [
    # the CIDR filter (authlog/store.py _common_conditions): one key range
    "CREATE INDEX ip_keys_key ON ip_keys (ip_key, ip_address)",
]

# Run without parameters, so "%" is written once.
_HOUR = {
    "sqlite": "strftime('%Y-%m-%d %H:00:00', timestamp)",
    "postgresql": "date_trunc('hour', timestamp)",
}
_DAY = {
    "sqlite": "strftime('%Y-%m-%d', timestamp)",
    "postgresql": "(timestamp AT TIME ZONE 'UTC')::date",
}


def backfill(connection) -> None:
    """Fill the counts and address keys from the events already in the trail."""
    from authlog.aggregates import duration_bucket, session_seconds
    from authlog.networks import address_text_key
    from config.dbtime import as_utc

    hour, day = _HOUR[connection.vendor], _DAY[connection.vendor]
    with connection.cursor() as cursor:
        for table in ("event_counts", "failure_ip_days", "session_duration_days", "ip_keys"):
            cursor.execute(f"DELETE FROM {table}")
        cursor.execute(
            f"INSERT INTO event_counts (hour, event_type, n) SELECT {hour}, event_type, COUNT(*)"
            f" FROM login_logs WHERE timestamp IS NOT NULL GROUP BY {hour}, event_type"
        )
        cursor.execute(
            f"INSERT INTO event_counts (hour, event_type, n) SELECT {hour}, 'login_failed',"
            f" COUNT(*) FROM failed_logins WHERE timestamp IS NOT NULL GROUP BY {hour}"
        )
        cursor.execute(
            f"INSERT INTO failure_ip_days (day, ip_address, n) SELECT {day}, ip_address, COUNT(*)"
            " FROM failed_logins WHERE timestamp IS NOT NULL AND ip_address IS NOT NULL"
            f" GROUP BY {day}, ip_address"
        )
        # A session's duration: from its (first) sign-in to its sign-out.
        cursor.execute(
            "SELECT lo.timestamp, MIN(li.timestamp) FROM login_logs lo"
            " JOIN login_logs li ON li.session_ref = lo.session_ref AND li.event_type = 'login'"
            " WHERE lo.event_type = 'logout' AND lo.timestamp IS NOT NULL"
            " AND li.timestamp IS NOT NULL GROUP BY lo.id, lo.timestamp"
        )
        durations: Counter = Counter()
        while chunk := cursor.fetchmany(10_000):
            for ended, started in chunk:
                ended, started = as_utc(ended), as_utc(started)
                durations[(ended.date(), duration_bucket(session_seconds(started, ended)))] += 1
        cursor.executemany(
            "INSERT INTO session_duration_days (day, bucket, n) VALUES (%s, %s, %s)",
            [
                (day_ if connection.vendor == "postgresql" else day_.isoformat(), bucket, n)
                for (day_, bucket), n in sorted(durations.items())
            ],
        )
        cursor.execute(
            "SELECT ip_address FROM login_logs WHERE ip_address IS NOT NULL"
            " UNION SELECT ip_address FROM failed_logins WHERE ip_address IS NOT NULL"
        )
        keys = [(ip, key) for (ip,) in cursor.fetchall() if (key := address_text_key(ip))]
        cursor.executemany("INSERT INTO ip_keys (ip_address, ip_key) VALUES (%s, %s)", keys)


def create(apps, schema_editor):
    statements = POSTGRESQL if schema_editor.connection.vendor == "postgresql" else SQLITE
    for statement in statements + INDEXES:
        schema_editor.execute(statement)
    backfill(schema_editor.connection)


def drop(apps, schema_editor):
    for table in ("ip_keys", "session_duration_days", "failure_ip_days", "event_counts"):
        schema_editor.execute(f"DROP TABLE {table}")


class Migration(migrations.Migration):
    dependencies = [("authlog", "0001_login_logs")]
    operations = [migrations.RunPython(create, drop)]
