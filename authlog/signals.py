"""Signals the trail's retention sends, so another app forgets its own personal data with the trail's.

`user_deleted` is sent inside the transaction of `authlog delete-user`, before
the account is renamed (so receivers can still read its name), with
`user_id`, `username` and `erase`; `trail_pruned` after `authlog prune
--for-real`, with `at` (the time the retention was computed from) and
`retention` ({kind: days or None}).
"""

from django.dispatch import Signal

user_deleted = Signal()
trail_pruned = Signal()
