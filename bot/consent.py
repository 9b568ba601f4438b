"""The privacy notice a person accepts before the assistant answers (design.md §6, issue 7).

Until the notice is accepted, only three things happen: safety answers (triage runs before the
gate), a way to a human (``consent:human``) and the choice of language. The first message that
waited for consent is answered as soon as the person accepts.

``NOTICE_VERSION`` names the wording of ``utter_privacy_notice`` in every language: change it
whenever the notice's meaning changes, so each acceptance records what the person agreed to.
"""

from __future__ import annotations

NOTICE_VERSION = "2026-11-29"
NOTICE_RESPONSE = "utter_privacy_notice"
THANKS_RESPONSE = "utter_consent_thanks"
HUMAN_RESPONSE = "utter_handoff"

ACCEPT = "consent:yes"
HUMAN = "consent:human"

# "Delete my data": Rasa recognises the wish (intent delete_data) and asks for confirmation with
# these two buttons; only a press of (or the number of) the offered button erases.
ERASE_CONFIRM = "erase:yes"
ERASE_CANCEL = "erase:no"
ERASED_RESPONSE = "utter_data_erased"
KEPT_RESPONSE = "utter_data_kept"
