from http import HTTPStatus

from tests.conftest import DEFAULT_PASSWORD, rows


def test_register_sign_out_and_in_write_the_seed_rows(client_from_ip, db):
    client = client_from_ip("198.51.100.7")
    response = client.post(
        "/register/",
        {"username": "alice", "email": "", "password1": DEFAULT_PASSWORD, "password2": DEFAULT_PASSWORD},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert client.post("/logout/").status_code == HTTPStatus.FOUND
    response = client.post("/login/", {"username": "ALICE", "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    seed_rows = rows("SELECT * FROM login_logs ORDER BY timestamp DESC LIMIT 10;")
    assert [(r[2], r[3]) for r in sorted(seed_rows)] == [
        ("login", "198.51.100.7"),
        ("logout", "198.51.100.7"),
        ("login", "198.51.100.7"),
    ]
