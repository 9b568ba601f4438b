"""Inbox routes over HTTP against the real stack: who may call what (a matrix enumerated from
the app's router: a route without a rule here fails), login, CSRF, lockout, TOTP, revocation,
headers, escaping."""

from __future__ import annotations

import re
import uuid

import httpx
import pyotp
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from bot.app import create_app

from .conftest import Stack
from .inbox import (
    PASSWORD,
    add_user,
    baken_users,
    client,
    conversation_id,
    csrf_of,
    hand_off,
    login,
)

pytestmark = pytest.mark.stack

PUBLIC, PENDING, COUNSELLOR, SUPERVISOR, ADMIN = (
    "public",
    "pending-login",
    "counsellor",
    "supervisor",
    "admin",
)
RULES = {
    ("GET", "/inbox/login"): PUBLIC,
    ("POST", "/inbox/login"): PUBLIC,
    ("GET", "/inbox/login/totp"): PENDING,
    ("POST", "/inbox/login/totp"): PENDING,
    ("POST", "/inbox/logout"): COUNSELLOR,
    ("POST", "/inbox/preferences"): COUNSELLOR,
    ("GET", "/inbox/"): COUNSELLOR,
    ("GET", "/inbox/queue"): COUNSELLOR,
    ("GET", "/inbox/events"): COUNSELLOR,
    ("GET", "/inbox/conversations/{conversation_id}"): COUNSELLOR,
    ("GET", "/inbox/conversations/{conversation_id}/transcript"): COUNSELLOR,
    ("POST", "/inbox/conversations/{conversation_id}/claim"): COUNSELLOR,
    ("POST", "/inbox/conversations/{conversation_id}/assign"): COUNSELLOR,
    ("POST", "/inbox/conversations/{conversation_id}/reply"): COUNSELLOR,
    ("POST", "/inbox/conversations/{conversation_id}/notes"): COUNSELLOR,
    ("POST", "/inbox/conversations/{conversation_id}/close"): COUNSELLOR,
    ("POST", "/inbox/conversations/{conversation_id}/appointments"): COUNSELLOR,
    ("POST", "/inbox/conversations/{conversation_id}/appointments/{appointment_id}/cancel"): (
        COUNSELLOR
    ),
    ("GET", "/inbox/dashboard"): SUPERVISOR,
    ("GET", "/inbox/audit"): SUPERVISOR,
    ("GET", "/inbox/canned"): SUPERVISOR,
    ("POST", "/inbox/canned"): SUPERVISOR,
    ("POST", "/inbox/canned/{reply_id}/delete"): SUPERVISOR,
    ("GET", "/inbox/users"): ADMIN,
    ("POST", "/inbox/users/{user_id}/disable"): ADMIN,
}
RANK = {COUNSELLOR: 1, SUPERVISOR: 2, ADMIN: 3}
MISSING_ID = "987654"


def inbox_routes() -> set[tuple[str, str]]:
    app = create_app()
    found = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and (context.path or "").startswith("/inbox"):
            for method in route.methods:
                found.add((method, str(context.path)))
    return found


def test_every_inbox_route_has_an_authorisation_rule() -> None:
    routes = inbox_routes()
    assert routes - RULES.keys() == set(), "add a rule for every new inbox route"
    assert RULES.keys() - routes == set(), "a rule names a route that does not exist"


@pytest.fixture(scope="module")
def identities(stack: Stack) -> dict[str, tuple[httpx.Client, str]]:
    made = {}
    for role in (COUNSELLOR, SUPERVISOR, ADMIN):
        username, secret = add_user(role)
        http = login(stack, username, secret)
        made[role] = (http, csrf_of(http))
    made["anonymous"] = (client(stack), "")
    return made


def call(http: httpx.Client, method: str, path: str, csrf: str) -> httpx.Response:
    url = re.sub(r"\{\w+\}", MISSING_ID, path)
    if path.endswith("/events"):
        with http.stream(method, url, headers={"x-inbox-auto": "1"}) as response:
            return response
    if method == "POST":
        return http.post(url, data={"csrf": csrf})
    return http.request(method, url)


@pytest.mark.parametrize(("method", "path"), sorted(RULES))
def test_authorisation_matrix(
    stack: Stack, identities: dict[str, tuple[httpx.Client, str]], method: str, path: str
) -> None:
    rule = RULES[(method, path)]
    if rule == PUBLIC or path == "/inbox/logout":
        return  # public pages; logout is checked below (it would end the shared sessions)
    anonymous = call(*identities["anonymous"][:1], method, path, "")
    if path.endswith("/events"):
        assert anonymous.status_code == 401
    else:
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/inbox/login")
    if rule == PENDING:
        return
    for role in (COUNSELLOR, SUPERVISOR, ADMIN):
        http, csrf = identities[role]
        response = call(http, method, path, csrf)
        if RANK[role] >= RANK[rule]:
            assert response.status_code not in (401, 403), (role, response.text[:300])
            assert not response.headers.get("location", "").startswith("/inbox/login")
        else:
            assert response.status_code == 403, (role, response.status_code)


def test_logout_ends_the_session(stack: Stack) -> None:
    username, _ = add_user()
    http = login(stack, username)
    token = csrf_of(http)
    cookie = http.cookies.get("baken_inbox")
    assert http.post("/inbox/logout", data={"csrf": token}).status_code == 303
    again = client(stack)
    again.cookies.set("baken_inbox", cookie or "", path="/inbox")
    assert again.get("/inbox/").status_code == 303


def test_inbox_without_a_session_redirects_to_login_with_security_headers(stack: Stack) -> None:
    response = client(stack).get("/inbox/")
    assert response.status_code == 303
    assert response.headers["location"] == "/inbox/login"
    page = client(stack).get("/inbox/login")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-frame-options"] == "DENY"
    assert 'name="username"' in page.text and 'name="password"' in page.text


def test_session_cookie_is_httponly_and_strict(stack: Stack) -> None:
    username, _ = add_user()
    response = client(stack).post("/inbox/login", data={"username": username, "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/inbox" in cookie


def test_after_login_the_queue_lists_a_handoff_with_its_latest_message(
    stack: Stack, session_id: str
) -> None:
    marker = f"where is my passport {uuid.uuid4().hex[:6]}"
    hand_off(stack, session_id, marker)
    username, _ = add_user()
    http = login(stack, username)
    page = http.get("/inbox/")
    assert page.status_code == 200
    assert marker in page.text
    assert conversation_id(http, marker, view="unassigned")


def test_message_html_is_escaped(stack: Stack, session_id: str) -> None:
    marker = uuid.uuid4().hex[:6]
    hand_off(stack, session_id, f"<script>alert('{marker}')</script><b>bold{marker}</b>")
    username, _ = add_user()
    http = login(stack, username)
    page = http.get("/inbox/queue", params={"view": "open"}).text
    assert f"&lt;script&gt;alert(&#39;{marker}&#39;)&lt;/script&gt;" in page
    assert f"<b>bold{marker}" not in page
    conversation = conversation_id(http, f"bold{marker}")
    transcript = http.get(f"/inbox/conversations/{conversation}").text
    assert f"<script>alert('{marker}')" not in transcript
    assert "&lt;script&gt;" in transcript


def test_post_without_a_valid_csrf_token_is_refused(stack: Stack, session_id: str) -> None:
    marker = f"csrf check {uuid.uuid4().hex[:6]}"
    hand_off(stack, session_id, marker)
    username, _ = add_user()
    http = login(stack, username)
    conversation = conversation_id(http, marker)
    url = f"/inbox/conversations/{conversation}/notes"
    assert http.post(url, data={"text": "note"}).status_code == 403
    assert http.post(url, data={"text": "note", "csrf": "forged"}).status_code == 403
    page = http.get(f"/inbox/conversations/{conversation}").text
    assert "note</p>" not in page
    token = csrf_of(http)
    assert http.post(url, data={"text": "a real note", "csrf": token}).status_code == 303
    assert "a real note" in http.get(f"/inbox/conversations/{conversation}").text


def test_login_from_another_site_is_refused(stack: Stack) -> None:
    username, _ = add_user()
    response = client(stack).post(
        "/inbox/login",
        data={"username": username, "password": PASSWORD},
        headers={"origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    framed = client(stack).post(
        "/inbox/login",
        data={"username": username, "password": PASSWORD},
        headers={"sec-fetch-site": "cross-site", "origin": "null"},
    )
    assert framed.status_code == 403


def test_repeated_wrong_passwords_lock_the_account(stack: Stack) -> None:
    username, _ = add_user()
    http = client(stack)
    for _ in range(stack.settings.inbox_max_failed_logins - 1):
        wrong = http.post("/inbox/login", data={"username": username, "password": "wrong!"})
        assert wrong.status_code == 401
        assert "Wrong username or password" in wrong.text
    locked = http.post("/inbox/login", data={"username": username, "password": "wrong!"})
    assert locked.status_code == 403
    right = http.post("/inbox/login", data={"username": username, "password": PASSWORD})
    assert right.status_code == 403
    assert "locked" in right.text
    assert "set-cookie" not in right.headers
    assert baken_users("enable", username).returncode == 0
    assert login(stack, username)


def test_admins_need_a_totp_code(stack: Stack) -> None:
    username, secret = add_user("admin")
    assert secret is not None
    http = client(stack)
    first = http.post("/inbox/login", data={"username": username, "password": PASSWORD})
    assert first.headers["location"] == "/inbox/login/totp"
    assert http.get("/inbox/").headers["location"] == "/inbox/login/totp"
    page = http.get("/inbox/login/totp")
    token = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert token is not None
    bad = http.post("/inbox/login/totp", data={"code": "000000", "csrf": token.group(1)})
    assert bad.status_code == 401
    code = pyotp.TOTP(secret).now()
    good = http.post("/inbox/login/totp", data={"code": code, "csrf": token.group(1)})
    assert good.headers["location"] == "/inbox/"
    assert http.get("/inbox/users").status_code == 200


def test_disabling_an_account_ends_its_sessions(stack: Stack) -> None:
    username, _ = add_user()
    http = login(stack, username)
    assert http.get("/inbox/").status_code == 200
    assert baken_users("disable", username).returncode == 0
    assert http.get("/inbox/").status_code == 303
    refused = client(stack).post("/inbox/login", data={"username": username, "password": PASSWORD})
    assert refused.status_code == 403


def test_cli_refuses_a_short_password_and_a_duplicate(stack: Stack) -> None:
    short = baken_users("add", "shorty", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "12 characters" in short.stderr
    username, _ = add_user()
    again = baken_users("add", username, "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode != 0 and "exists already" in again.stderr


def test_bad_input_gets_a_clear_answer(stack: Stack) -> None:
    username, _ = add_user()
    http = login(stack, username)
    assert http.get("/inbox/", params={"view": "nonsense"}).status_code == 404
    assert http.get("/inbox/conversations/not-a-number").status_code == 422
    token = csrf_of(http)
    missing = http.post("/inbox/conversations/1/reply", data={"csrf": token})
    assert missing.status_code == 422
    assert "text" in missing.text


def test_live_events_announce_changes_and_end_when_the_account_is_disabled(
    stack: Stack, session_id: str
) -> None:
    marker = f"live {uuid.uuid4().hex[:6]}"
    hand_off(stack, session_id, marker)
    username, _ = add_user()
    http = login(stack, username)
    conversation = conversation_id(http, marker)
    token = csrf_of(http)
    with http.stream("GET", "/inbox/events") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = (line for line in stream.iter_lines() if line.startswith("event:"))
        assert next(events) == "event: change"
        note = {"text": "seen", "csrf": token}
        assert http.post(f"/inbox/conversations/{conversation}/notes", data=note).status_code == 303
        assert next(events) == "event: change"
        assert baken_users("disable", username).returncode == 0
        assert any(event == "event: logout" for event in events)
