"""Farsi/Dari safety triage (bot/safety_patterns/fa.txt): Persian script (with or without the
zero-width non-joiner, Persian or Arabic keyboard letters) and Latin-script Farsi (Finglish)."""

from __future__ import annotations

import pytest

from bot.safety import triage


@pytest.mark.parametrize(
    "text",
    [
        "میخوام خودمو بکشم",
        "می‌خواهم خودکشی کنم",
        "فكر خودكشي دارم",  # Arabic-keyboard ك and ي
        "دیگه نمی‌خوام زنده باشم",
        "میخوام بمیرم",
        "شوهرم منو میزنه",
        "شوهرم مرا لت و کوب میکند",
        "بهم تجاوز کرد",
        "تهدیدم کرده که منو میکشه",
        "الان در خطرم",
        "امنیت ندارم",
        "مجبورم میکنن شب و روز کار کنم",
        "کارفرما پاسپورتمو نگه داشته",
        "بچم نفس نمیکشه",
        "خونریزی دارم",
        "قرص زیاد خوردم",
        "khodkoshi",
        "mikham khodamo bekosham",
        "shoharam mano mizane",
        "dar khataram",
        "bacham nafas nemikeshe",
        "یکی همسایمو چاقو زده",
        "برادرم سم خورده",
        "به مرگ فکر میکنم",
        "بدون پول کار میکنم مدارکمو نمیدن",
    ],
)
def test_urgent_farsi_messages_are_caught(text: str) -> None:
    assert triage(text).urgent, text


@pytest.mark.parametrize(
    "text",
    [
        "پاسپورتم مرده",  # passport "dead" = expired
        "پاسپورتم باطل شده",
        "دارم میمیرم برای دیدن مادرم",  # "dying" to see my mother
        "پلیس پاسپورتمو گرفته",  # documents held by the police
        "تو بازداشتم میخوام برگردم",  # detention alone is not urgent
        "قربانی قاچاق انسان بودم میخوام برگردم",  # past victim asking about return
        "میخوام کار کنم",
        "خطر داره اگه برگردم افغانستان",
        "mikham bargardam iran",
        "passport gom kardam",
        "man tu bazdashtam",
    ],
)
def test_ordinary_farsi_messages_are_not_flagged(text: str) -> None:
    assert not triage(text).urgent, text
