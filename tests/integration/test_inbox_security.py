"""Security over HTTP against the real stack: security headers on every answer, session
fixation, the audit trail of views (and of exports and erasures by the CLI), input shaped like
SQL injection stored and shown verbatim without touching other rows, property-based fuzzing of
the inbox's forms, and a replayed Telegram update stored once (forged webhooks and replayed
Twilio ones: test_channels.py)."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Iterator

import httpx
import pyotp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.storage.models import (
    Appointment,
    AuditEvent,
    CannedReply,
    Contact,
    InboxUser,
    Message,
    Note,
)

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
from .test_channels import telegram_post, telegram_update
from .test_inbox_routes import MISSING_ID, RULES, call
from .test_subject_rights import baken

pytestmark = pytest.mark.stack
COOKIE = "baken_inbox"


def accept_privacy(stack: Stack, session: str, lang: str = "en") -> None:
    """A first message, then the privacy notice's "I agree" button (issue 7's consent gate).
    Before the gate exists both just go to the bot; the replies are not checked."""
    stack.chat(session, "hello", lang=lang)
    stack.chat(session, "consent:yes")


def handed_off(stack: Stack, latest: str) -> str:
    """A new web-chat person who accepted the notice, asked for a counsellor and wrote
    ``latest``; returns the chat session id."""
    session = f"t-{uuid.uuid4().hex[:12]}"
    accept_privacy(stack, session)
    hand_off(stack, session, latest)
    return session


# -- security headers ----------------------------------------------------------------------


def assert_inbox_headers(response: httpx.Response, *, cacheable: bool = False) -> None:
    where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, where
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, where
    assert "unsafe-eval" not in csp and "object-src 'none'" in csp, where
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("referrer-policy") == "no-referrer", where
    assert response.headers.get("x-frame-options") == "DENY", where
    if not cacheable:
        assert response.headers.get("cache-control") == "no-store", where


def assert_api_headers(response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
    assert response.headers.get("content-security-policy", "").startswith(
        "default-src 'none'; frame-ancestors 'none'"
    ), where
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("cache-control") == "no-store", where


@pytest.fixture(scope="module")
def admin_client(stack: Stack) -> Iterator[tuple[httpx.Client, str]]:
    username, secret = add_user("admin")
    http = login(stack, username, secret)
    yield http, csrf_of(http)
    http.close()


@pytest.mark.parametrize(("method", "path"), sorted(RULES))
def test_every_inbox_route_answers_with_security_headers(
    stack: Stack, admin_client: tuple[httpx.Client, str], method: str, path: str
) -> None:
    """Each route twice: logged out (redirects, 401s, login errors) and as an admin (pages,
    error pages for a missing conversation, redirects after a POST, the event stream)."""
    assert_inbox_headers(call(client(stack), method, path, ""))
    if path == "/inbox/logout":
        username, _ = add_user()
        http = login(stack, username)
        assert_inbox_headers(http.post(path, data={"csrf": csrf_of(http)}))
        return
    assert_inbox_headers(call(*admin_client[:1], method, path, admin_client[1]))


def test_pages_without_a_route_and_static_files_have_security_headers(
    stack: Stack, admin_client: tuple[httpx.Client, str]
) -> None:
    http, csrf = admin_client
    for response in (
        http.get("/inbox/no-such-page"),  # 404 from the router
        http.put("/inbox/"),  # 405
        http.post("/inbox/conversations/1/notes", data={"text": "x", "csrf": "forged"}),  # 403
        http.post("/inbox/conversations/1/reply", data={"csrf": csrf}),  # 422
        http.get(f"/inbox/conversations/{MISSING_ID}"),  # 404 page
    ):
        assert response.status_code >= 400
        assert_inbox_headers(response)
    assert_inbox_headers(http.get("/inbox/static/missing.js"), cacheable=True)
    for name in ("inbox.js", "inbox.css"):
        static = http.get(f"/inbox/static/{name}")
        assert static.status_code == 200
        assert_inbox_headers(static, cacheable=True)
        assert static.headers["cache-control"] == "no-cache"


def test_api_and_webhook_answers_have_security_headers(stack: Stack) -> None:
    session = f"t-{uuid.uuid4().hex[:12]}"
    for response in (
        stack.http.get("/healthz"),
        stack.chat(session, "hello", lang="en"),
        stack.http.get(f"/api/chat/{session}/messages"),
        stack.http.post("/api/chat/not%20valid/messages", json={"text": "x"}),
        stack.http.post("/webhooks/twilio", data={"Body": "unsigned"}),
        stack.http.post("/webhooks/telegram", json={}),
        stack.http.get("/no-such-path"),
    ):
        assert_api_headers(response)


# -- session fixation ----------------------------------------------------------------------


def with_cookie(stack: Stack, token: str) -> httpx.Client:
    http = client(stack)
    http.cookies.set(COOKIE, token, path="/inbox")
    return http


def test_a_planted_cookie_never_becomes_the_logged_in_session(stack: Stack) -> None:
    planted = "attacker-chosen-token-" + uuid.uuid4().hex
    browser = with_cookie(stack, planted)
    assert browser.get("/inbox/").status_code == 303  # a forged cookie is no session
    username, _ = add_user()
    response = browser.post("/inbox/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 303
    issued = response.cookies.get(COOKIE)
    assert issued and issued != planted
    assert browser.get("/inbox/").status_code == 200
    assert with_cookie(stack, planted).get("/inbox/").status_code == 303


def test_login_replaces_a_live_session_cookie_and_kills_it(stack: Stack) -> None:
    # An attacker logs in to their own account and plants that session's cookie in the
    # victim's browser; the victim then logs in.
    attacker, _ = add_user()
    planted = login(stack, attacker).cookies.get(COOKIE)
    assert planted
    assert with_cookie(stack, planted).get("/inbox/").status_code == 200
    victim, _ = add_user()
    browser = with_cookie(stack, planted)
    response = browser.post("/inbox/login", data={"username": victim, "password": PASSWORD})
    issued = response.cookies.get(COOKIE)
    assert issued and issued != planted
    page = browser.get("/inbox/")
    assert page.status_code == 200 and victim in page.text and attacker not in page.text
    assert with_cookie(stack, planted).get("/inbox/").status_code == 303


def test_every_login_issues_a_new_token(stack: Stack) -> None:
    username, _ = add_user()
    first = login(stack, username)
    second = login(stack, username)  # another device: both stay logged in
    assert first.cookies.get(COOKIE) != second.cookies.get(COOKIE)
    assert first.get("/inbox/").status_code == 200
    assert second.get("/inbox/").status_code == 200


def test_the_second_factor_issues_a_new_token_and_ends_the_half_logged_in_one(
    stack: Stack,
) -> None:
    username, secret = add_user("admin")
    assert secret is not None
    http = client(stack)
    step = http.post("/inbox/login", data={"username": username, "password": PASSWORD})
    pending = step.cookies.get(COOKIE)
    assert pending and step.headers["location"] == "/inbox/login/totp"
    page = http.get("/inbox/login/totp")
    token = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert token is not None
    code = {"code": pyotp.TOTP(secret).now(), "csrf": token.group(1)}
    done = http.post("/inbox/login/totp", data=code)
    assert done.status_code == 303 and done.headers["location"] == "/inbox/"
    full = done.cookies.get(COOKIE)
    assert full and full != pending
    assert http.get("/inbox/users").status_code == 200
    # The token from before the code was typed is dead, not a full session.
    for path in ("/inbox/login/totp", "/inbox/users"):
        assert with_cookie(stack, pending).get(path).status_code == 303


# -- audit -----------------------------------------------------------------------------------

CODE = re.compile(r"[a-z]+:[\w.@-]+")


def user_id(stack: Stack, username: str) -> int:
    with stack.sessions()() as db:
        return int(db.scalars(select(InboxUser.id).where(InboxUser.username == username)).one())


def audit_rows(stack: Stack, after: int = 0) -> list[AuditEvent]:
    with stack.sessions()() as db:
        rows = db.scalars(
            select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)
        ).all()
        db.expunge_all()
        return list(rows)


def last_audit_id(stack: Stack) -> int:
    with stack.sessions()() as db:
        return int(db.scalar(select(func.max(AuditEvent.id))) or 0)


def test_every_view_of_a_conversation_is_audited_without_personal_data(stack: Stack) -> None:
    marker = f"Amira from Homs {uuid.uuid4().hex[:6]}"
    session = handed_off(stack, marker)
    username, _ = add_user()
    http = login(stack, username)
    conversation = conversation_id(http, marker)
    start = last_audit_id(stack)

    assert http.get(f"/inbox/conversations/{conversation}").status_code == 200
    assert http.get(f"/inbox/conversations/{conversation}").status_code == 200
    # The open page's live refreshes of the transcript add nothing more.
    auto = {"x-inbox-auto": "1"}
    url = f"/inbox/conversations/{conversation}/transcript"
    assert http.get(url, headers=auto).status_code == 200
    views = [e for e in audit_rows(stack, start) if e.action == "view"]
    me = user_id(stack, username)
    assert [(e.user_id, e.conversation_id) for e in views] == [(me, conversation)] * 2

    # A transcript read without ever opening the page is audited too (once per session).
    other, _ = add_user()
    curious = login(stack, other)
    mark = last_audit_id(stack)
    for _ in range(3):
        assert curious.get(url, headers=auto).status_code == 200
    views = [e for e in audit_rows(stack, mark) if e.action == "view"]
    assert [(e.user_id, e.conversation_id) for e in views] == [
        (user_id(stack, other), conversation)
    ]

    # The CLI's export and erasure of the person are audited as well.
    assert baken("export", f"web:{session}").returncode == 0
    assert baken("erase", f"web:{session}", "--yes").returncode == 0
    actions = [e.action for e in audit_rows(stack, start) if e.action in ("export", "erase")]
    assert actions == ["export", "erase"]

    for event in audit_rows(stack, start):
        detail = event.detail or ""
        assert detail == "" or CODE.fullmatch(detail), detail
        for secret in ("Amira", "Homs", session):
            assert secret not in detail and secret not in event.action

    supervisor, _ = add_user("supervisor")
    log_page = login(stack, supervisor).get("/inbox/audit").text
    assert "export" in log_page and "erase" in log_page and other in log_page


# -- input shaped like SQL injection -------------------------------------------------------

SQL = "Robert'); DROP TABLE messages;-- \" OR 1=1 -- %' UNION SELECT urn FROM contacts --"


def snapshot(stack: Stack) -> tuple[dict[int, str | None], set[int], int]:
    """Every message's text by id, every contact id and the number of inbox accounts."""
    with stack.sessions()() as db:
        return (
            {row.id: row.text for row in db.execute(select(Message.id, Message.text))},
            set(db.scalars(select(Contact.id))),
            int(db.scalar(select(func.count(InboxUser.id))) or 0),
        )


def test_sql_shaped_messages_notes_and_titles_are_stored_and_shown_verbatim(
    stack: Stack,
) -> None:
    marker = uuid.uuid4().hex[:6]
    latest = f"{SQL} {marker}"
    session = handed_off(stack, latest)
    username, _ = add_user("supervisor")
    http = login(stack, username)
    assert latest in html.unescape(http.get("/inbox/queue").text)
    conversation = conversation_id(http, marker)
    token = csrf_of(http)
    note = {"text": f"note {SQL}", "csrf": token}
    assert http.post(f"/inbox/conversations/{conversation}/notes", data=note).status_code == 303
    page = html.unescape(http.get(f"/inbox/conversations/{conversation}").text)
    assert latest in page and f"note {SQL}" in page
    title = {"lang": "en", "title": f"t'{marker}--", "text": SQL, "csrf": token}
    assert http.post("/inbox/canned", data=title).status_code == 303
    assert f"t'{marker}--" in html.unescape(http.get("/inbox/canned").text)
    exported = baken("export", f"web:{session}")
    said = [m["text"] for m in json.loads(exported.stdout)["messages"]]
    assert latest in said


def test_sql_shaped_parameters_and_usernames_are_refused_cleanly(stack: Stack) -> None:
    messages, contacts, users = snapshot(stack)
    username, _ = add_user()
    http = login(stack, username)
    assert http.get("/inbox/", params={"view": "open' OR '1'='1"}).status_code == 404
    assert http.get("/inbox/queue", params={"view": "open;--"}).status_code == 404
    for bad in ("1 OR 1=1", "1;DROP TABLE inbox_audit"):
        assert http.get(f"/inbox/conversations/{bad}").status_code == 422
    supervisor, _ = add_user("supervisor")
    boss = login(stack, supervisor)
    assert boss.get("/inbox/audit", params={"conversation": "1 OR 1=1"}).status_code == 422
    assert boss.get("/inbox/dashboard", params={"days": "7; DROP TABLE x"}).status_code == 422
    for name in ("' OR '1'='1", "admin'--", f"{username}' --", '" OR ""="'):
        wrong = client(stack).post("/inbox/login", data={"username": name, "password": "' OR 1=1"})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    # Not an injection: a username that merely looks like one is an ordinary account.
    odd = f"o'brien\";--{uuid.uuid4().hex[:6]}"
    assert baken_users("add", odd, "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    listed = baken_users("list")
    assert odd in listed.stdout
    assert odd in login(stack, odd).get("/inbox/").text.replace("&#34;", '"').replace("&#39;", "'")
    for urn in ("web:' OR '1'='1", "web:x;DROP TABLE contacts", "whatsapp:+31' OR 1=1"):
        done = baken("export", urn)
        assert (
            done.returncode == 1 and "no person" in done.stderr and "Traceback" not in done.stderr
        )
        assert baken("erase", urn, "--yes").returncode == 1
    for session in ("x' OR '1'='1", "1;DROP TABLE messages"):
        response = stack.http.post(f"/api/chat/{session}/messages", json={"text": "hello"})
        assert response.status_code in (400, 404), response.text
    after = snapshot(stack)
    assert after[1] == contacts  # nobody new, nobody gone
    assert {i: t for i, t in after[0].items() if i in messages} == messages  # nothing changed
    assert after[2] == users + 3  # the three accounts this test made


# -- replayed webhooks ---------------------------------------------------------------------


def test_a_replayed_telegram_update_is_stored_once(stack: Stack) -> None:
    update = telegram_update("message_text", 557_000_000 + uuid.uuid4().int % 1_000_000)
    for _ in range(3):  # a captured update sent again (with the secret) changes nothing
        assert telegram_post(stack, update).status_code == 200
    with stack.sessions()() as db:
        stored = db.scalars(
            select(Message).where(Message.channel_message_id == f"u{update['update_id']}")
        ).all()
    assert len(stored) == 1


# -- fuzzing the inbox's forms ---------------------------------------------------------------

FORMS = {  # every form an inbox page posts, with its fields ({c}: the conversation)
    "/inbox/conversations/{c}/reply": ["text"],
    "/inbox/conversations/{c}/notes": ["text"],
    "/inbox/conversations/{c}/assign": ["user_id"],
    "/inbox/conversations/{c}/close": ["outcome"],
    "/inbox/conversations/{c}/appointments": ["kind", "day", "at", "zone"],
    "/inbox/conversations/{c}/appointments/1/cancel": [],
    "/inbox/canned": ["lang", "title", "text"],
    "/inbox/preferences": ["ui_lang", "next"],
}
# Login is left out on purpose: failed logins count towards the per-address throttle that the
# other tests' logins share.
PLAUSIBLE = ["", "1", "0", "-1", "answered", "appointment", "2031-02-30", "25:61", "10:00", "nl"]
FIELD_VALUE = st.text(max_size=300) | st.sampled_from([*PLAUSIBLE, SQL, "x" * 5000])


def stored_rows(stack: Stack) -> tuple[int, ...]:
    with stack.sessions()() as db:
        return tuple(
            int(db.scalar(select(func.count()).select_from(table)) or 0)
            for table in (Message, Note, CannedReply, Appointment)
        )


@pytest.fixture(scope="module")
def fuzzed_conversation(stack: Stack, admin_client: tuple[httpx.Client, str]) -> int:
    marker = f"fuzz {uuid.uuid4().hex[:6]}"
    handed_off(stack, marker)
    http, csrf = admin_client
    conversation = conversation_id(http, marker)
    claimed = http.post(f"/inbox/conversations/{conversation}/claim", data={"csrf": csrf})
    assert claimed.status_code == 303
    return conversation


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    form=st.sampled_from(sorted(FORMS)),
    values=st.lists(FIELD_VALUE, min_size=4, max_size=4),
    dropped=st.sets(st.integers(0, 3)),
)
def test_inbox_forms_never_fail_and_store_nothing_from_invalid_input(
    stack: Stack,
    admin_client: tuple[httpx.Client, str],
    fuzzed_conversation: int,
    form: str,
    values: list[str],
    dropped: set[int],
) -> None:
    http, csrf = admin_client
    fields = {name: values[i] for i, name in enumerate(FORMS[form]) if i not in dropped}
    before = stored_rows(stack)
    response = http.post(form.format(c=fuzzed_conversation), data={**fields, "csrf": csrf})
    hypothesis_event(f"{form.rsplit('/', 1)[-1]} → {response.status_code}")
    assert response.status_code in (303, 404, 409, 422), (form, fields, response.text[:300])
    assert_inbox_headers(response)
    if response.status_code >= 400:
        assert stored_rows(stack) == before, (form, fields)
