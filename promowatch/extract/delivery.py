"""The shop's delivery promise as data: "Lieferzeit 2–3 Werktage", "livré d'ici le 14.11", "delivery date
unknown" read into a range of days or dates, or a stated absence of any promise.

Pure and deterministic: the same text and observation time always give the same promise, so a case bundle
can recompute it from the stored delivery text (the evidence) and ``observed_at``. A day range is turned into
absolute dates from the local calendar day of ``seen_at``: working days count Monday to Friday (public holidays
are not known here), calendar days and weeks count every day. A date without a year ("14.11") takes the year
that puts it nearest after ``seen_at``. Numeric dates are read day first (the European order); English shops
write their dates with month names ("Aug 4"), which are read either way round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, Literal

Kind = Literal["days", "date", "none"]


@dataclass(frozen=True, slots=True)
class DeliveryPromise:
    """What a delivery line promises: ``days`` (a range of days from the observation), ``date`` (absolute dates)
    or ``none`` (the shop states it cannot say); ``earliest``/``latest`` are absolute in both promising kinds."""

    kind: Kind
    min_days: int | None
    max_days: int | None
    working_days: bool
    earliest: date | None
    latest: date | None
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "min_days": self.min_days,
            "max_days": self.max_days,
            "working_days": self.working_days,
            "earliest": None if self.earliest is None else self.earliest.isoformat(),
            "latest": None if self.latest is None else self.latest.isoformat(),
        }


# --------------------------------------------------------------------------- vocabulary

# a stated absence of a promise, in the bundled languages
_NONE = re.compile(
    r"(?:delivery|shipping|dispatch)\s+(?:date|time)\s+(?:is\s+)?(?:unknown|not\s+(?:yet\s+)?(?:known|available))"
    r"|no\s+(?:delivery|shipping)\s+date(?:\s+(?:available|yet))?"
    r"|(?:liefer|versand)(?:termin|zeit|datum)\s*(?::\s*)?(?:noch\s+)?(?:unbekannt|offen|nicht\s+bekannt|"
    r"noch\s+nicht\s+bekannt|unbestimmt)"
    r"|(?:délai|date)\s+de\s+livraison\s*:?\s*(?:inconnue?|non\s+(?:communiquée?|connue?|disponible|défini[e]?))"
    r"|(?:data|tempi|tempo)\s+di\s+consegna\s*:?\s*(?:sconosciut[ao]|non\s+(?:disponibile|nota|noto|definit[ao])"
    r"|da\s+definire)"
    r"|(?:fecha|plazo)\s+de\s+entrega\s*:?\s*(?:desconocid[ao]|no\s+disponible|por\s+confirmar)"
    r"|(?:data|prazo)\s+de\s+entrega\s*:?\s*(?:desconhecid[ao]|indispon[ií]vel|a\s+confirmar)"
    r"|(?:levertijd|leverdatum)\s*:?\s*(?:onbekend|nog\s+niet\s+bekend)"
    r"|leveransdatum\s*:?\s*(?:okänt|okänd)|termin\s+dostawy\s*:?\s*nieznany|termín\s+dodání\s*:?\s*neznámý",
    re.IGNORECASE,
)

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan januar jän janvier janv gennaio gen enero ene janeiro januari stycznia leden januar",
        "february feb februar février févr fevrier fevr febbraio febrero febr fevereiro fev februari lutego",
        "march mar märz mär maerz mars marzo março maart marca",
        "april apr avril aprile abril avr kwietnia",
        "may mai maggio mayo maio mei maja",
        "june jun juni juin giugno junio junho czerwca",
        "july jul juli juillet juil luglio lug julio julho lipca",
        "august aug août aout agosto ago augustus sierpnia",
        "september sep sept septembre settembre set septiembre setembro september września",
        "october oct oktober okt octobre ottobre ott octubre outubro out października",
        "november nov novembre novembre noviembre novembro listopada",
        "december dec dezember dez décembre déc decembre dicembre dic diciembre dezembro grudnia",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS.setdefault(_name, _number)
_MONTH = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))

_WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "monday mon montag mo lundi lun lunedì lunedi lunes segunda maandag poniedziałek",
        "tuesday tue tues dienstag di mardi mar martedì martedi martes terça dinsdag wtorek",
        "wednesday wed mittwoch mi mercredi mer mercoledì mercoledi miércoles miercoles quarta woensdag środa",
        "thursday thu thur thurs donnerstag do jeudi jeu giovedì giovedi jueves quinta donderdag czwartek",
        "friday fri freitag fr vendredi ven venerdì venerdi viernes sexta vrijdag piątek",
        "saturday sat samstag sa samedi sam sabato sábado sabado zaterdag sobota",
        "sunday sun sonntag so dimanche dim domenica domingo zondag niedziela",
    )
):
    for _name in _names.split():
        _WEEKDAYS.setdefault(_name, _number)
# short forms alone ("Mo", "mar", "do") are words too often: a weekday alone must be written out
_LONG_WEEKDAY = "|".join(sorted((re.escape(n) for n in _WEEKDAYS if len(n) > 4), key=len, reverse=True))

_WORKING = (
    r"business\s+days?|working\s+days?|werk(?:tage?n?|tag)|arbeitstage?n?|jours?\s+ouvr(?:és|ables?|és?)"
    r"|giorni\s+(?:lavorativi|feriali|utili)|gg\.?\s+lavorativi|giorno\s+lavorativo|d[ií]as\s+(?:h[áa]biles|laborables)"
    r"|dias\s+[úu]teis|dia\s+[úu]til|werkdag(?:en)?|arkip[äa]iv\w*|delovn\w+\s+dn\w*|dni\s+robocz\w*"
    r"|prac(?:ovn\w*|\.)\s*d(?:n[íiů]|ní)\w*|arbetsdag\w*|tööpäev\w*|darba\s+dien\w*|zile\s+lucr[ăa]toare"
    r"|рабоч\w+\s+дн\w+|営業日|영업일|个?工作日|個?工作天|ימי\s+עסקים|أيام\s+عمل"
)
_DAYS = (
    r"days?|tage?n?|tg\.?|jours?|j\b|giorni|giorno|gg\b|d[ií]as?|dagen|dag|dni|dní|dnů|dana|dien\w*|p[äa]iv\w*"
    r"|zile|дн\w+|день|日|天|일|ימים|أيام"
)
_WEEKS = r"weeks?|wochen?|semaines?|settimane?|semanas?|weken|week|tygodni\w*|týdn\w*|veckor|vecka|viiko\w*|недел\w*"
_HOURS = r"hours?|hrs?|h\b|stunden|std\.?|heures?|ore\b|horas?|uur|godzin\w*|hodin\w*|timmar|tunni\w*|час\w*|時間|시간|小[时時]"
_UNIT = re.compile(rf"\s*(?:-\s*)?(?P<unit>{_WORKING}|{_WEEKS}|{_HOURS}|{_DAYS})", re.IGNORECASE)
_JOIN = r"\s*(?:-|/|to|and|bis|à|a|au|al|und|y|e|et|or|ou|o|oder|až|do|tot|till)\s*"
_QUANTITY = re.compile(
    rf"(?<![\d.,/])(?P<low>\d{{1,3}})(?:{_JOIN}(?P<high>\d{{1,3}}))?(?![\d.,/]\d)", re.IGNORECASE
)
# a duration that belongs to a return, a trial or a guarantee, not to the delivery
_NOT_DELIVERY = re.compile(
    r"return|retour|trial|rückgabe|rückgaberecht|umtausch|widerruf|reso\b|resi\b|recesso|restituir|garantie|"
    r"garanzia|guarantee|warranty|devoluci|devolu|palautus|zwrot|support|reviews?",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "ein": 1, "eine": 1, "einen": 1, "einem": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
    "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
    "uno": 1, "una": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "sette": 7, "otto": 8,
    "nove": 9, "dieci": 10,
}  # fmt: skip
_NUMBER_WORD = re.compile(
    r"\b(" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE
)
_NEXT_DAY = re.compile(
    r"next\s+(?:business|working)\s+day|nächsten\s+(?:werktag|arbeitstag)|jour\s+ouvr[ée]s?\s+suivant"
    r"|giorno\s+lavorativo\s+successivo|siguiente\s+d[ií]a\s+h[áa]bil|pr[óo]ximo\s+dia\s+[úu]til",
    re.IGNORECASE,
)
_SAME_DAY = re.compile(
    r"same\s+(?:business\s+)?day|gleichen\s+tag|am\s+selben\s+tag|le\s+jour\s+même|in\s+giornata|stesso\s+giorno"
    r"|el\s+mismo\s+d[ií]a|no\s+mesmo\s+dia",
    re.IGNORECASE,
)
# relative day words ("Morgen" is also German for "morning", which a delivery line does not speak of)
_DAY_AFTER = re.compile(
    r"\b(?:übermorgen|après-demain|apres-demain|dopodomani|pasado\s+mañana|overmorgen|depois\s+de\s+amanhã)\b",
    re.IGNORECASE,
)
_TOMORROW = re.compile(
    r"\b(?:tomorrow|morgen|demain|domani|mañana|amanhã|jutro|zítra|zajtra|huomenna|imorgon|rīt|mâine|"
    r"завтра)\b|明日|明天|내일|מחר|غدا",
    re.IGNORECASE,
)
_TODAY = re.compile(
    r"\b(?:today|heute|aujourd'hui|oggi|hoy|vandaag|hoje|dziś|dzisiaj|dnes|tänään|idag|täna|šodien|astăzi|"
    r"сегодня)\b|今日|今天|오늘|היום|اليوم",
    re.IGNORECASE,
)
# "free shipping today!", "order today": today names an offer or the order, not the delivery
_NOT_TODAY = re.compile(
    r"(?:free|gratuit\w*|gratis|kostenlos\w*|order|bestell\w*|command\w*|ordin\w*)\W*(?:\w+\W+){0,2}$",
    re.IGNORECASE,
)
# a countdown to the order cut-off ("Order within 2h 6m", "Ordina entro 20 ore e 53 min") is no delivery time
_COUNTDOWN = re.compile(
    r"(?:order|ordina|ordine|bestell\w*|commande\w*|ordene|pida|bestel)\s+(?:within|entro|innerhalb(?:\s+von)?|"
    r"dans(?:\s+les)?|in|en|binnen|avant)\s+(?:(?:\d+\s*[a-zà-ü.]*|and|e|und|et|y)\s*)+",
    re.IGNORECASE,
)
# clock times ("vor 23:59 Uhr", "avant 20h00", "by 2pm") are no durations and no dates
_CLOCK = re.compile(r"\b\d{1,2}(?:[:h]\d{2}|\.\d{2}\s*uhr)\s*(?:uhr|h)?\b|\b\d{1,2}\s*(?:uhr|[ap]\.?m\.?)(?!\w)",
                    re.IGNORECASE)  # fmt: skip

_DATE_NUMERIC = re.compile(
    r"(?<![\d.,/])(?P<d>\d{1,2})\s*[./](?P<m>\d{1,2})(?:[./](?P<y>\d{4}|\d{2}))?\.?(?![\d,]|\.\d)"
    r"(?!\s*(?:€|eur|chf|fr\b|\$|£|%|kg|g\b|cm|mm|m\b|l\b))",
    re.IGNORECASE,
)
_DATE_ISO = re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)")
_DATE_DAY_MONTH = re.compile(
    rf"(?<![\d.])(?:(?P<d0>\d{{1,2}})(?:st|nd|rd|th|er|º|\.)?{_JOIN})?(?P<d>\d{{1,2}})(?:st|nd|rd|th|er|º|\.)?\s*"
    rf"(?:de\s+)?(?P<m>{_MONTH})\b\.?(?:\s*(?:de\s+)?(?P<y>\d{{4}}))?",
    re.IGNORECASE,
)
_DATE_MONTH_DAY = re.compile(
    rf"\b(?P<m>{_MONTH})\b\.?\s*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\d.:]\d)(?:{_JOIN}(?P<d1>\d{{1,2}})"
    rf"(?:st|nd|rd|th)?(?![\d.:/]))?(?:,?\s*(?P<y>\d{{4}}))?",
    re.IGNORECASE,
)
_WEEKDAY_ALONE = re.compile(rf"\b(?P<w>{_LONG_WEEKDAY})\b", re.IGNORECASE)


# --------------------------------------------------------------------------- reading


def parse_delivery(text: str | None, seen_at: datetime, zone: tzinfo | None = None) -> DeliveryPromise | None:
    """The promise of a delivery line seen at ``seen_at`` (dates counted in ``zone``, else seen_at's own zone),
    or None when the text says nothing about when the item arrives.

    >>> from datetime import UTC
    >>> p = parse_delivery("Lieferzeit 2–3 Werktage", datetime(2026, 11, 13, 9, tzinfo=UTC))  # a Friday
    >>> p.kind, p.min_days, p.max_days, p.working_days, str(p.earliest), str(p.latest)
    ('days', 2, 3, True, '2026-11-17', '2026-11-18')
    """
    if not text or not text.strip():
        return None
    return _read(text, (seen_at.astimezone(zone) if zone is not None else seen_at).date())


# a shop repeats the same line all day on every check: the rules read each (line, day) once
@lru_cache(maxsize=16384)
def _read(text: str, today: date) -> DeliveryPromise | None:
    clean = _normalise(text)
    if _NONE.search(clean):
        return DeliveryPromise("none", None, None, False, None, None, text)
    found = _dates(clean, today)
    if found is not None:
        earliest, latest = found
        return DeliveryPromise("date", None, None, False, earliest, latest, text)
    span = _span(clean)
    if span is not None:
        low, high, working = span
        return DeliveryPromise(
            "days", low, high, working, _add(today, low, working), _add(today, high, working), text
        )
    for pattern, days in ((_DAY_AFTER, 2), (_TOMORROW, 1), (_TODAY, 0)):
        match = pattern.search(clean)
        if match is not None and not (days == 0 and _NOT_TODAY.search(clean[: match.start()])):
            moment = today + timedelta(days=days)
            return DeliveryPromise("date", None, None, False, moment, moment, text)
    match = _WEEKDAY_ALONE.search(clean)
    if match is not None:
        wanted = _WEEKDAYS[match["w"].lower()]
        moment = today + timedelta(days=(wanted - today.weekday() - 1) % 7 + 1)
        return DeliveryPromise("date", None, None, False, moment, moment, text)
    return None


def _normalise(text: str) -> str:
    clean = text.replace("\xa0", " ").replace("\u202f", " ").replace("’", "'")
    clean = re.sub(r"[‐‑‒–—−]", "-", clean)
    clean = _COUNTDOWN.sub(" ", clean)
    return _CLOCK.sub(" ", clean)


def _add(start: date, days: int, working: bool) -> date:
    """``days`` after ``start``: Monday to Friday only when ``working`` (Friday + 1 working day is Monday)."""
    if not working:
        return start + timedelta(days=days)
    moment = start
    while days > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def _nearest_after(day: int, month: int, today: date) -> date | None:
    """The date of ``day.month`` in the year that puts it nearest after ``today``.

    A date up to a week past stays in this year: a page that still shows yesterday's date is late, it does not
    promise next year.
    """
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            moment = date(year, month, day)
        except ValueError:
            continue
        if moment >= today - timedelta(days=7):
            return moment
    return None


def _make(day: str | int, month: str | int, year: str | None, today: date) -> date | None:
    """A date from its parts (a month number or name); without a year, the nearest after ``today``."""
    d = int(day)
    m = month if isinstance(month, int) else int(month) if month.isdigit() else _MONTHS[month.lower()]
    if year is None:
        return _nearest_after(d, m, today)
    y = int(year)
    if y < 100:
        y += 2000
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _dates(clean: str, today: date) -> tuple[date, date] | None:
    """The first one or two dates of the text as (earliest, latest)."""
    found: list[tuple[int, date]] = []
    for match in _DATE_ISO.finditer(clean):
        moment = _make(match["d"], match["m"], match["y"], today)
        if moment is not None:
            found.append((match.start(), moment))
    for match in _DATE_DAY_MONTH.finditer(clean):
        moment = _make(match["d"], match["m"], match["y"], today)
        if moment is None:
            continue
        found.append((match.start("d"), moment))
        if match["d0"]:  # "du 14 au 16 novembre", "14.-16. November"
            first = _make(match["d0"], match["m"], match["y"], today)
            if first is not None:
                found.append((match.start(), first))
    for match in _DATE_MONTH_DAY.finditer(clean):
        if any(start <= match.start() <= start + 8 for start, _ in found):
            continue  # "14 nov 2026" was read day first already
        moment = _make(match["d"], match["m"], match["y"], today)
        if moment is None:
            continue
        found.append((match.start(), moment))
        if match["d1"]:  # "Aug 2 and 25", "August 8 - 14"
            last = _make(match["d1"], match["m"], match["y"], today)
            if last is not None:
                found.append((match.end(), last))
    taken = [span for span in (m.span() for m in _DATE_ISO.finditer(clean))]
    for match in _DATE_NUMERIC.finditer(clean):
        if any(a <= match.start() < b for a, b in taken):
            continue
        d, m = int(match["d"]), int(match["m"])
        if not (1 <= d <= 31 and 1 <= m <= 12) or _UNIT.match(clean, match.end()):
            continue  # "1.5 Wochen" is a duration
        if re.search(r"(?:€|\$|£|chf|eur|fr\.?)\s*$", clean[max(0, match.start() - 5) : match.start()], re.I):
            continue  # "CHF 12.10" is a price
        moment = _make(d, m, match["y"], today)
        if moment is not None:
            found.append((match.start(), moment))
    if not found:
        return None
    first_two = [moment for _, moment in sorted(found)[:2]]
    return min(first_two), max(first_two)


def _span(clean: str) -> tuple[int, int, bool] | None:
    """(min days, max days, working days) of the first duration the text states."""
    if _NEXT_DAY.search(clean):
        return 1, 1, True
    if _SAME_DAY.search(clean):
        return 0, 0, False
    numbered = _NUMBER_WORD.sub(lambda m: str(_NUMBER_WORDS[m[1].lower()]), clean)
    for match in _QUANTITY.finditer(numbered):
        unit = _UNIT.match(numbered, match.end())
        if unit is None:
            continue
        before = numbered[max(0, match.start() - 30) : match.start()]
        after = numbered[unit.end() : unit.end() + 20]
        if _NOT_DELIVERY.search(before) or _NOT_DELIVERY.search(after):
            continue
        low = int(match["low"])
        high = int(match["high"]) if match["high"] else low
        if high < low:
            continue
        word = unit["unit"]
        if re.fullmatch(_WORKING, word, re.IGNORECASE):
            return low, high, True
        if re.fullmatch(_WEEKS, word, re.IGNORECASE):
            return low * 7, high * 7, False
        if re.fullmatch(_HOURS, word, re.IGNORECASE):
            return -(-low // 24), -(-high // 24), False
        return low, high, False
    return None


def promise_json(text: str | None, seen_at: datetime) -> dict[str, Any] | None:
    """The promise of a stored delivery line as an observation shows it (None: the line promises nothing)."""
    promise = parse_delivery(text, seen_at)
    return None if promise is None else promise.to_json()
