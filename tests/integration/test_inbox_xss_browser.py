"""Cross-site scripting through a migrant's message, in a real browser (Playwright driving Debian's
Chromium) against the real stack: markup in a message shows as text in the queue and in the
conversation, and nothing in it runs. Three witnesses: no dialog opens, the payloads' window
flags stay unset, and the page reports no Content-Security-Policy violation (which would mean
markup reached the page as markup and only the CSP stopped it)."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, Dialog, expect

from bot.inbox.queues import PREVIEW_CHARS

from .conftest import Stack
from .test_inbox_browser import SCREENSHOTS, browser, open_inbox  # noqa: F401 (fixture)
from .test_inbox_security import handed_off

pytestmark = pytest.mark.stack

PAYLOADS = [
    "<img src=x onerror=\"window.xssImg=1;alert('img')\">",
    "<script>window.xssScript=1;alert('script')</script>",
    "<svg onload=\"window.xssSvg=1;alert('svg')\"></svg>",
    '"><iframe src="javascript:alert(\'frame\')"></iframe>',
    "{{ 7*7 }}",
]
FLAGS = "[window.xssImg, window.xssScript, window.xssSvg]"
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def test_markup_in_a_message_is_shown_as_text_and_never_runs(
    browser: Browser,  # noqa: F811 (the imported fixture)
    stack: Stack,
) -> None:
    page = open_inbox(browser, stack)
    page.add_init_script(WATCH_CSP)
    dialogs: list[str] = []

    def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    marker = uuid.uuid4().hex[:6]
    text = f"help me {marker} " + " ".join(PAYLOADS)
    handed_off(stack, text)

    page.goto("/inbox/?view=open")
    row = page.locator("tr.row", has_text=marker)
    expect(row).to_be_visible()
    expect(row.locator("td.preview")).to_contain_text(text[:PREVIEW_CHARS])  # the queue shortens
    assert row.locator("td.preview img, td.preview script, td.preview svg").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "inbox-xss-queue.png"))

    row.get_by_role("link").click()
    transcript = page.locator("ol.transcript")
    expect(transcript).to_contain_text(marker)
    message = transcript.locator("li.msg.person", has_text=marker).last
    for payload in PAYLOADS:
        expect(message).to_contain_text(payload)
    assert message.locator("img, script, svg, iframe").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "inbox-xss-conversation.png"), full_page=True)

    assert page.evaluate(FLAGS) == [None, None, None]
    assert page.evaluate("window.cspViolations") == []
    assert dialogs == []
    page.context.close()
