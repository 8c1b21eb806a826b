"""The middleware and decorators that tell signed-in users from others."""

from http import HTTPStatus

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.decorators import admin_required, login_required
from accounts.session_engine import SessionStore
from accounts.sessions import RequestAuth, attach_user, get_authenticated_user


@login_required
def members_only(request):
    return HttpResponse("members")


@admin_required
def admins_only(request):
    return HttpResponse("admins")


def request_for(user=None, path="/private/?tab=2"):
    request = RequestFactory().get(path)
    request.session = SessionStore()
    if user is not None:
        attach_user(request.session, user)
    request.auth = RequestAuth(request)
    return request


def test_login_required_redirects_anonymous_with_next(db):
    response = members_only(request_for())
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/login/?next=%2Fprivate%2F%3Ftab%3D2"


def test_login_required_lets_a_user_in(make_user):
    assert members_only(request_for(make_user("alice"))).content == b"members"


def test_admin_required_redirects_anonymous(db):
    assert admins_only(request_for()).status_code == HTTPStatus.FOUND


def test_admin_required_forbids_non_admins(make_user):
    with pytest.raises(PermissionDenied):
        admins_only(request_for(make_user("alice")))


def test_admin_required_lets_admins_in(make_user):
    assert admins_only(request_for(make_user("root", is_admin=True))).content == b"admins"


def test_get_authenticated_user_reads_the_session(make_user):
    alice = make_user("alice")
    assert get_authenticated_user(request_for(alice)).id == alice.id
    assert get_authenticated_user(request_for()) is None


def test_non_integer_user_id_in_session_is_anonymous(db):
    request = request_for()
    request.session["_uid"] = "1 OR 1=1"
    assert get_authenticated_user(request) is None
