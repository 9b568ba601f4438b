"""Turkish safety triage (bot/safety_patterns/tr.txt), with and without Turkish letters."""

from __future__ import annotations

import pytest

from bot.safety import triage


@pytest.mark.parametrize(
    "text",
    [
        "intihar edeceğim",
        "İntihar etmek istiyorum",
        "kendimi öldürmek istiyorum",
        "kendimi oldurmek istiyorum",
        "artık yaşamak istemiyorum",
        "olmek istiyorum",
        "kocam beni dövüyor",
        "kocam beni dovuyor",
        "bana tecavüz etti",
        "tecavuz",
        "beni öldürecek",
        "beni öldürmekle tehdit ediyor",
        "tehlikedeyim",
        "güvende değilim",
        "zorla çalıştırıyorlar",
        "patronum pasaportumu vermiyor",
        "beni evde kilitliyorlar",
        "çocuğum nefes almıyor",
        "nefes alamiyorum",
        "kalp krizi geçiriyor",
        "çok hap içtim",
        "komşumu bıçakladılar kanıyor",
        "kardeşim zehir içti",
        "ölmeyi düşünüyorum",
        "maaş vermiyor pasaportumu da almış",
        "beni boğmaya çalıştı",
    ],
)
def test_urgent_turkish_messages_are_caught(text: str) -> None:
    assert triage(text).urgent, text


@pytest.mark.parametrize(
    "text",
    [
        "pasaportum öldü",  # passport "dead" = expired
        "pasaportumun süresi doldu",
        "memleketimi özledim ölüyorum",  # "dying" of homesickness
        "polis pasaportumu aldı",  # documents held by the police
        "gözaltındayım dönmek istiyorum",  # detention alone is not urgent
        "insan ticareti mağduruydum dönmek istiyorum",  # past victim asking about return
        "acil seyahat belgesi lazım",
        "geri dönmek tehlikeli mi",
        "ülkeme dönmek istiyorum",
        "çalışmak istiyorum",
    ],
)
def test_ordinary_turkish_messages_are_not_flagged(text: str) -> None:
    assert not triage(text).urgent, text
