"""A fake Telegram Bot API: the methods python-telegram-bot calls, with real result shapes."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from .server import Call, FakeServer

BOT_TOKEN = "123456:fake-token-for-tests"  # noqa: S105 (the fake accepts any token)
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Baken",
    "username": "baken_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class FakeTelegram(FakeServer):
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        method = call.path.rsplit("/", 1)[-1]
        params = call.json if isinstance(call.json, dict) else call.form
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            result: dict[str, Any] = {
                "message_id": next(self._ids),
                "from": BOT_USER,
                "chat": {"id": chat_id, "first_name": "Test", "type": "private"},
                "date": int(time.time()),
                "text": params.get("text", ""),
            }
            if params.get("reply_markup"):
                markup = params["reply_markup"]
                result["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
            return 200, {"ok": True, "result": result}
        if method in ("answerCallbackQuery", "setWebhook", "deleteWebhook"):
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    def messages(self) -> list[dict[str, Any]]:
        return [(c.json if isinstance(c.json, dict) else c.form) for c in self.sent("/sendMessage")]
