"""Baken custom actions for the Rasa action server (rasa_sdk).

Run with ``rasa run actions --actions actions``. Rules for everything in this package:

- every text the person sees goes through ``dispatcher.utter_message(response="utter_...")`` so the
  gateway's NLG endpoint renders it in the person's language; no hard-coded user-facing text;
- control signals for the gateway are sent as ``json_message`` (they arrive as ``"custom"`` in the
  REST channel's reply): ``{"handoff": {...}}`` and ``{"intake_submitted": {...}}``;
- no database access and no import of the gateway package ``bot``.
"""
