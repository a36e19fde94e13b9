"""The gettext catalogues cover every text of the dossier in every case language, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from promowatch.report import texts

ROOT = Path(texts.__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")
TRANSLATED = [language for language in texts.LANGUAGES if language != "en"]


def _source_messages() -> set[str]:
    """What `pybabel extract -F promowatch/report/babel.cfg -k N_ -k translate` finds."""
    method_map = [
        ("promowatch/**.py", "python"),
        ("promowatch/report/templates/**.html", "jinja2"),
    ]
    found = extract_from_dir(
        str(ROOT),
        method_map,
        keywords={"N_": None, "translate": (1,), "_": None, "gettext": None},
        callback=None,
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def _catalogue(language: str) -> dict[str, tuple[str, bool]]:
    path = texts.LOCALE_DIR / language / "LC_MESSAGES" / f"{texts.DOMAIN}.po"
    with path.open("rb") as f:
        return {m.id: (m.string, m.fuzzy) for m in read_po(f) if m.id and isinstance(m.id, str)}


@pytest.fixture(scope="module")
def source() -> set[str]:
    messages = _source_messages()
    assert len(messages) > 100  # the extraction itself works
    return messages


@pytest.mark.parametrize("language", [pytest.param(x, id=x) for x in texts.LANGUAGES])
def test_every_text_has_a_catalogue_entry(source: set[str], language: str) -> None:
    missing = sorted(source - _catalogue(language).keys())
    assert not missing, (
        f"{language}: run pybabel extract/update (texts.py's docstring); missing {missing[:5]}"
    )


@pytest.mark.parametrize("language", [pytest.param(x, id=x) for x in TRANSLATED])
def test_every_entry_is_translated_with_its_placeholders(source: set[str], language: str) -> None:
    catalogue = _catalogue(language)
    for message in sorted(source):
        translation, fuzzy = catalogue.get(message, ("", False))
        assert translation and not fuzzy, f"{language}: {message!r} is not translated"
        assert sorted(PLACEHOLDER.findall(translation)) == sorted(PLACEHOLDER.findall(message)), (
            f"{language}: {translation!r} does not keep the placeholders of {message!r}"
        )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        pytest.param("fr", "pas commandable en ligne", id="fr"),
        pytest.param("de", "online nicht bestellbar", id="de"),
        pytest.param("it", "non ordinabile online", id="it"),
        pytest.param("en", "not orderable online", id="en"),
    ],
)
def test_rule_names_are_words_of_the_case_language(language: str, expected: str) -> None:
    assert texts.value_word("rule", "unorderable_online", language) == expected
    assert texts.value_word("orderable", False, language) == expected


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        pytest.param("state", "confirmed", "bestätigt", id="state"),
        pytest.param("availability", "out_of_stock", "nicht an Lager", id="availability"),
        pytest.param("orderable", None, "Bestellbarkeit unbekannt", id="orderable-unknown"),
        pytest.param("button", True, "aktiv", id="button-enabled"),
        # a value a newer rule adds before its words exist is shown as it is, never dropped
        pytest.param("rule", "some_future_rule", "some_future_rule", id="unlisted"),
    ],
)
def test_values_as_words(kind: str, value: object, expected: str) -> None:
    assert texts.value_word(kind, value, "de") == expected
