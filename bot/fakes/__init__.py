"""Local fake servers of external APIs (Twilio REST, Telegram Bot API) with their real shapes,
used by the tests and by `baken bench`.

Each is a real HTTP server on 127.0.0.1 that records what it received and can be told to fail,
so the real client libraries are exercised end to end without the internet."""
