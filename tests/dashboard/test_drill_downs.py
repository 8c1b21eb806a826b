"""Drill-downs group a bounded number of the newest events, and say so."""

from http import HTTPStatus

from authlog import history, store


def test_addresses_and_devices_come_from_the_newest_events_only(
    admin_client, make_user, login_event, monkeypatch
):
    alice = make_user("alice")
    login_event(alice, ip="203.0.113.1")  # the oldest: outside a window of three
    for _ in range(3):
        login_event(alice, ip="203.0.113.2")
    monkeypatch.setattr(store, "DRILL_DOWN_WINDOW", 3)
    addresses = history.addresses_of_user(user_id=alice.id)
    assert [(row.key, row.count) for row in addresses] == [(("203.0.113.2",), 3)]
    assert sum(row.count for row in history.devices_of_user(user_id=alice.id)) == 3


def test_the_pages_say_how_many_events_they_group(admin_client, make_user, login_event, failure):
    alice = make_user("alice")
    login_event(alice, ip="203.0.113.2")
    failure("alice", user=alice, ip="203.0.113.2")
    window = f"In the newest {history.DRILL_DOWN_WINDOW} "
    for url in (f"/dashboard/users/{alice.id}/", "/dashboard/ips/203.0.113.2/"):
        response = admin_client.get(url)
        assert response.status_code == HTTPStatus.OK
        assert window in response.content.decode()
