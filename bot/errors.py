"""The gateway's small exception tree (errors are mapped to these in one place per seam)."""


class BakenError(Exception):
    pass


class SendError(BakenError):
    """A channel could not deliver a message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # a provider error code or exception class name, never message text


class TemporarySendError(SendError):
    """Worth retrying later (network, 5xx, rate limit)."""


class PermanentSendError(SendError):
    """Will never succeed as is (opted out, unreachable, outside the window): record and show."""


class RateLimitedError(SendError):
    """Not now: the channel's pace (e.g. Telegram's 1 message/s per chat). Not an attempt."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("rate-limited")
        self.retry_after = retry_after
