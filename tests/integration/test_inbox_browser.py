"""The inbox in a real browser (Playwright driving Debian's Chromium) against the real stack:
a person asks for a counsellor in the web chat → the counsellor sees it arrive live → claims →
replies → the reply reaches the person → closes → the bot answers again. Urgent conversations
jump the queue; message HTML stays inert. Screenshots go to var/screenshots/ (look at them), or
with `make screenshots` to docs/screenshots/, the ones README and docs show."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bot.config import PROJECT_DIR
from bot.engine.nlg import Renderer

from .conftest import Stack
from .inbox import PASSWORD, add_user, hand_off

pytestmark = pytest.mark.stack

CHROMIUM = Path("/usr/bin/chromium")
# A test run leaves the tracked images alone; `make screenshots` sets the variable to replace them.
SCREENSHOTS = Path(os.environ.get("BAKEN_SCREENSHOTS_DIR") or PROJECT_DIR / "var" / "screenshots")
RENDERER = Renderer(PROJECT_DIR / "dialogues" / "domain.yml", PROJECT_DIR / "locales")
LIVE_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser` (make test does it for you)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def open_inbox(browser: Browser, stack: Stack, role: str = "counsellor") -> Page:
    username, secret = add_user(role)
    assert secret is None
    context = browser.new_context(
        base_url=stack.settings.local_url,
        viewport={"width": 1280, "height": 760},
        locale="en-GB",
    )
    page = context.new_page()
    page.goto("/inbox/")
    expect(page).to_have_url(f"{stack.settings.local_url}/inbox/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{stack.settings.local_url}/inbox/")
    return page


def wait_live(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("data-live", "on", timeout=LIVE_TIMEOUT_MS)


def shot(page: Page, name: str, *, full: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full)


def replies_to(stack: Stack, session: str) -> list[str]:
    response = stack.http.get(f"/api/chat/{session}/messages")
    assert response.status_code == 200
    return [r["text"] for r in response.json()]


def wait_for_reply(stack: Stack, session: str, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in replies_to(stack, session):
        assert time.monotonic() < deadline, f"{text!r} never reached the person"
        time.sleep(0.2)


def test_counsellor_takes_over_replies_and_returns_the_person_to_the_bot(
    browser: Browser, stack: Stack, session_id: str
) -> None:
    page = open_inbox(browser, stack)
    wait_live(page)
    marker = uuid.uuid4().hex[:6]
    latest = f"Can I still travel with my children? <script>window.pwned=1</script> <b>{marker}</b>"
    hand_off(stack, session_id, latest)

    # It arrives live (no reload), escaped: the script stays text and never runs.
    row = page.locator("tr.row", has_text=marker)
    expect(row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(row.locator("td.preview")).to_contain_text("<script>window.pwned=1</script>")
    assert page.evaluate("window.pwned") is None
    shot(page, "inbox-queue.png")

    row.get_by_role("link").click()
    expect(page.locator("ol.transcript")).to_contain_text("<b>" + marker + "</b>")
    assert page.evaluate("window.pwned") is None
    page.get_by_role("button", name="Claim").click()
    expect(page.locator("p.notice[role=status]")).to_be_visible()

    reply = f"Hello, I am a counsellor at IOM. Yes, we can help with that ({marker})."
    page.get_by_label("Reply to the person").fill(reply)
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("ol.transcript")).to_contain_text(reply)
    wait_for_reply(stack, session_id, reply)
    page.get_by_label("Add a note").fill("Asked about children; check family composition.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".notes")).to_contain_text("family composition")
    shot(page, "inbox-conversation.png", full=True)

    page.get_by_label("Outcome").select_option("answered")
    page.get_by_role("button", name="Close and return to the bot").click()
    expect(page.locator("p.notice[role=status]")).to_contain_text("back with the bot")
    back = RENDERER.render("utter_handoff_closed", "en")["text"]
    wait_for_reply(stack, session_id, back)

    answer = stack.say(session_id, "how does going back to my country with iom work")
    assert answer["handoff"] is False
    assert RENDERER.render("utter_return_info", "en")["text"] in [
        r["text"]
        for r in answer["replies"]  # type: ignore[attr-defined]
    ]
    page.context.close()


def test_an_urgent_message_jumps_the_queue(browser: Browser, stack: Stack) -> None:
    page = open_inbox(browser, stack)
    wait_live(page)
    calm = uuid.uuid4().hex[:6]
    hand_off(stack, f"t-{uuid.uuid4().hex[:12]}", f"a question about my appointment {calm}")
    expect(page.locator("tr.row", has_text=calm)).to_be_visible(timeout=LIVE_TIMEOUT_MS)

    urgent_session = f"t-{uuid.uuid4().hex[:12]}"
    answer = stack.say(urgent_session, "mijn man slaat me en ik ben bang", lang="nl")
    assert answer["urgent"] is True
    rows = page.locator("tr.row")
    expect(rows.first).to_have_class(re.compile(r"\burgent\b"), timeout=LIVE_TIMEOUT_MS)
    expect(rows.first.locator(".badge.urgent")).to_have_text("URGENT")
    texts = rows.all_inner_texts()
    urgent_at = next(i for i, t in enumerate(texts) if "mijn man slaat me" in t)
    calm_at = next(i for i, t in enumerate(texts) if calm in t)
    assert urgent_at < calm_at
    page.get_by_role("link", name="urgent").click()
    expect(page.locator("tr.row", has_text="mijn man slaat me").first).to_be_visible()
    page.goto("/inbox/?view=open")
    shot(page, "inbox-urgent.png")
    page.context.close()


def test_supervisor_dashboard_and_canned_replies(browser: Browser, stack: Stack) -> None:
    page = open_inbox(browser, stack, role="supervisor")
    page.get_by_role("link", name="Canned replies").click()
    page.get_by_label("Language", exact=True).select_option("en")
    page.get_by_label("Title", exact=True).fill("Opening hours")
    page.get_by_label("Text", exact=True).fill(
        "Our office is open Monday to Friday, 9:00 to 17:00."
    )
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("table")).to_contain_text("Opening hours")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator(".kpis")).to_contain_text("handoffs")
    shot(page, "inbox-dashboard.png")
    page.get_by_role("combobox", name="Interface language").select_option("nl")
    expect(page.get_by_role("link", name="Wachtrijen")).to_be_visible()
    page.context.close()
