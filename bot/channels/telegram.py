"""Telegram through python-telegram-bot's ``Bot`` (no updater: updates arrive on our webhook).

PTB is asynchronous and the sender is a thread, so this adapter owns one event loop thread and runs
every Bot API call there. Buttons are inline keyboards whose ``callback_data`` (at most 64 bytes)
is ``<outbound message id>:<button index>``; the webhook maps it back to the button's payload.
Pacing: at most one message per second per chat and 30 per second for the bot (Telegram's limits),
enforced by asking the sender to come back later rather than by sleeping.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import time
from collections import deque
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.channels import Capabilities, Outgoing, SendResult
from bot.errors import PermanentSendError, RateLimitedError, TemporarySendError
from bot.messages import InboundMessage

log = logging.getLogger(__name__)
T = TypeVar("T")
PER_CHAT_INTERVAL = 1.0
BOT_WIDE_PER_SECOND = 30  # Telegram's limit for bulk messages across all chats
ALLOWED_UPDATES = ["message", "callback_query"]


class TelegramChannel:
    name = "telegram"
    capabilities = Capabilities(buttons=True, templates=False, media=True, max_length=4096)

    def __init__(self, token: str, api_base: str, secret_token: str) -> None:
        base = api_base.rstrip("/")
        self.bot = Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
        self.secret_token = secret_token
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="baken-telegram", daemon=True
        )
        self._thread.start()
        self._last_sent: dict[str, float] = {}
        self._recent: deque[float] = deque(maxlen=BOT_WIDE_PER_SECOND)
        self._pace_lock = threading.Lock()

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _ready(self) -> Bot:
        await self.bot.initialize()  # getMe, once; a no-op afterwards
        return self.bot

    def close(self) -> None:
        try:
            self._run(self.bot.shutdown(), timeout=5)
        except Exception:  # shutting down anyway
            log.warning("telegram shutdown failed")
        self._loop.call_soon_threadsafe(self._loop.stop)

    # -- inbound -----------------------------------------------------------------------------
    def verify(self, header: str | None) -> bool:
        if not self.secret_token or header is None:
            return False
        return hmac.compare_digest(header.encode(), self.secret_token.encode())

    def parse_inbound(self, data: dict[str, Any]) -> InboundMessage | None:
        """A Telegram update → InboundMessage; None for update kinds we do not handle."""
        update = Update.de_json(data, self.bot)
        received = datetime.now(UTC)
        query = update.callback_query
        if query is not None and query.message is not None:
            return InboundMessage(
                urn=f"telegram:{query.message.chat.id}",
                channel=self.name,
                channel_message_id=f"u{update.update_id}",
                received_at=received,
                payload=f"button:{query.data or ''}",
                raw={"callback_query_id": query.id},
            )
        message = update.message
        if message is None or message.chat.type != "private":
            return None
        media: list[dict[str, str]] = []
        if message.voice:
            media.append({"type": "voice", "file_id": message.voice.file_id})
        if message.photo:
            media.append({"type": "photo", "file_id": message.photo[-1].file_id})
        if message.document:
            media.append({"type": "document", "file_id": message.document.file_id})
        text = (message.text or message.caption or "").strip()
        if not text and not media:
            return None
        return InboundMessage(
            urn=f"telegram:{message.chat.id}",
            channel=self.name,
            channel_message_id=f"u{update.update_id}",
            received_at=received,
            text=text or None,
            media=media,
        )

    def answer_callback(self, callback_query_id: str) -> None:
        """Stop the button's spinner; fire and forget (a failure only costs a spinner)."""
        future = asyncio.run_coroutine_threadsafe(self._answer(callback_query_id), self._loop)
        future.add_done_callback(lambda f: f.exception())

    async def _answer(self, callback_query_id: str) -> None:
        try:
            await (await self._ready()).answer_callback_query(callback_query_id)
        except TelegramError as exc:
            log.warning("telegram callback answer failed", extra={"error": type(exc).__name__})

    # -- outbound ----------------------------------------------------------------------------
    def send(self, out: Outgoing) -> SendResult:
        chat_id = out.address.removeprefix("telegram:")
        with self._pace_lock:
            now = time.monotonic()
            wait = self._last_sent.get(chat_id, 0.0) + PER_CHAT_INTERVAL - now
            if len(self._recent) == BOT_WIDE_PER_SECOND:
                wait = max(wait, self._recent[0] + 1.0 - now)
            if wait > 0:
                raise RateLimitedError(wait)
            self._last_sent[chat_id] = now
            self._recent.append(now)
        markup = None
        if out.reply.buttons:
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(b.title[:64], callback_data=f"{out.message_id}:{i}")]
                    for i, b in enumerate(out.reply.buttons)
                ]
            )
        text = out.reply.text[: self.capabilities.max_length]
        try:
            sent = self._run(self._send(int(chat_id), text, markup))
        except RetryAfter as exc:
            raise RateLimitedError(exc.retry_after.total_seconds()) from exc  # type: ignore[union-attr]
        except Forbidden as exc:  # the person blocked the bot
            raise PermanentSendError("forbidden") from exc
        except BadRequest as exc:
            raise PermanentSendError("bad-request") from exc
        except (NetworkError, TimeoutError) as exc:
            raise TemporarySendError(type(exc).__name__) from exc
        return SendResult(provider_id=str(sent))

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> int:
        message = await (await self._ready()).send_message(
            chat_id=chat_id, text=text, reply_markup=markup
        )
        return message.message_id

    def set_webhook(self, url: str) -> bool:
        async def call() -> bool:
            return await (await self._ready()).set_webhook(
                url,
                secret_token=self.secret_token,
                allowed_updates=ALLOWED_UPDATES,
                max_connections=40,
            )

        return self._run(call())
