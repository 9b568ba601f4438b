"""What the pipeline benchmark sends: ordinary first-line questions in several languages, the way
people type them. Each is answered by Rasa with a topic's reply, so a benchmark conversation
never starts the intake form or a handoff (which would silence the bot) and never takes the
gateway's own shortcuts (safety triage, language commands). Written for the benchmark, not taken
from the training data or the dev sets."""

from __future__ import annotations

MESSAGES: tuple[str, ...] = (
    "how does the return program work",
    "can i get help with a ticket to go back home",
    "i lost my passport what can i do",
    "is there money to start a small business after i go back",
    "my wife is still in eritrea how can she come here",
    "what is cd4d exactly",
    "what are your office hours",
    "hoe werkt terugkeer met iom",
    "mijn paspoort is kwijt wat moet ik doen",
    "kan ik hulp krijgen met werk zoeken in nederland",
    "wat is hervestiging via unhcr",
    "comment fonctionne le retour volontaire",
    "j ai perdu mon passeport",
    "est ce que vous aidez pour trouver du travail",
    "geri dönüş programı nasıl işliyor",
    "pasaportumu kaybettim ne yapmalıyım",
    "как работает программа возвращения",
    "я потерял паспорт что делать",
    "كيف برنامج العودة الطوعية",
    "ضاع جواز سفري شو لازم اعمل",
    "برنامه بازگشت داوطلبانه چطور است",
    "پاسپورتم گم شده چکار کنم",
    "sidee buu u shaqeeyaa barnaamijka dib u laabashada",
    "baasaboorkayga waa lumay maxaan sameeyaa",
    "ናብ ዓደይ ንምምላስ ሓገዝ ክረክብ ይኽእል ዶ",
    "ፓስፖርተይ ጠፊኡኒ እንታይ ክገብር",
)
