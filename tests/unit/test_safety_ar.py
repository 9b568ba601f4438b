"""Arabic safety triage (bot/safety_patterns/ar.txt): dialects, MSA and Arabizi (Latin script)."""

from __future__ import annotations

import pytest

from bot.safety import triage


@pytest.mark.parametrize(
    "text",
    [
        "بدي انتحر",
        "أريد أن أنتحر",
        "والله بدي اقتل حالي",
        "عايز اموت خلاص",
        "ما بدي عيش بعد اليوم",
        "جوزي عم يضربني كل يوم",
        "راجلي كيضربني",
        "زوجي ضربني امبارح",
        "اغتصبني ابن عمي",
        "في حدا عم يهددني بالقتل",
        "خايفة رح يقتلني",
        "انا بخطر الحقوني",
        "انا مش بامان بالبيت",
        "صاحب الشغل ماسك جوازي وما بيدفعلي",
        "بيجبروني اشتغل ليل ونهار",
        "ابني ما عم يتنفس",
        "عم انزف كتير",
        "اخدت حبوب كتير",
        "bdi ente7er",
        "bdi 2otol 7ali",
        "bdi mout",
        "jozi bi darbni",
        "ana bi 5atar",
        "3am yhadedni",
        "ibni ma 3am yetnaffas",
        "SOS",
        "حدا طعن جاري وعم ينزف",
        "اخي شرب سم",
        "صاحب الشغل مشغلني بلا معاش",
        "بفكر بالموت كل يوم",
    ],
)
def test_urgent_arabic_messages_are_caught(text: str) -> None:
    assert triage(text).urgent, text


@pytest.mark.parametrize(
    "text",
    [
        "جوازي مات بدي جديد",  # passport "dead" = expired
        "الجواز خالص",
        "بموت بدي ارجع على بلدي",  # "dying" to go home
        "هالشي قتلني من الضحك",  # "this killed me"
        "البوليس اخد جوازي",  # documents held by the police: travel_documents
        "انا بالحجز وبدي ارجع",  # detention alone is not urgent
        "حابسيني بسبب الورق",
        "كنت ضحية اتجار بالبشر وبدي ارجع",  # past victim asking about return
        "هل في خطر اذا رجعت على سوريا",
        "ساعدوني ارجع على بلدي",
        "بدي ارجع على بلدي",
        "shu el shoroot",
        "jawazi mntihi",
        "bdi erja3 3a baladi",
        "wathi2at safar tari2a",
    ],
)
def test_ordinary_arabic_messages_are_not_flagged(text: str) -> None:
    assert not triage(text).urgent, text
