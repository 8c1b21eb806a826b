"""Chain the alerts and admin actions that exist already (guard/chained.py chains each new one).

They are appended after the chain's head, oldest first: from then on they
are vouched for, but nothing proves what happened to them before.
"""

from django.db import migrations


def chain_existing(apps, schema_editor):
    from authlog import trail
    from guard import chained

    trail.backfill_chain(tables=chained.TABLES)


class Migration(migrations.Migration):
    dependencies = [("guard", "0001_guard"), ("authlog", "0004_trail_key_ids")]
    operations = [migrations.RunPython(chain_existing, migrations.RunPython.noop)]
