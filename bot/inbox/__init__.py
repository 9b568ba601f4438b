"""The counsellor inbox (issue 5): a server-rendered web app under ``/inbox``.

Counsellors log in, see handed-off conversations arrive live (server-sent events), claim them,
reply through the person's own channel (the outbox), and close them, which returns the person
to the bot. Modules: ``security`` (passwords, sessions, TOTP), ``web`` (templates, guards,
headers), ``queues`` and ``conversation`` (reads and actions), ``dashboard``, ``events`` (SSE),
``routes`` (the HTTP routes), ``cli`` (``baken users``).
"""
