"""Phrase tables: every bundled phrase is found in a product-page line, and real lines map to the right category."""

import pytest

from promowatch.extract.phrases import CATEGORIES, bundled_locales, load_locale, normalise_text, phrase_book


@pytest.mark.parametrize("locale", bundled_locales())
def test_every_bundled_phrase_is_found_in_a_stock_line(locale: str) -> None:
    # Each phrase as it appears in a buy box: capitalised, between other lines, {n} filled in.
    book = phrase_book()
    missed = []
    for category, phrases in load_locale(locale).items():
        for phrase in phrases:
            line = "Art. 4711 | " + phrase.replace("{n}", "3").capitalize() + " | CHF 499.–"
            found = [
                (h.category, h.phrase) for h in book.find(normalise_text(line)) if h.category == category
            ]
            if found != [(category, phrase)]:
                missed.append(f"{category}: {phrase!r} in {line!r} gives {found}")
    assert not missed, f"{len(missed)} {locale} phrases not found as themselves:\n" + "\n".join(missed)


# Lines written as the named shops print them (corpus notes, or Swiss shops' usual wording).
LINES = [
    (
        "Actuellement indisponible. Nous ne savons pas quand cet article sera de nouveau approvisionné",
        "temporarily_unavailable",
        "amazon.fr (corpus peb-4ff590718c)",
    ),
    ("Épuisé", "sold_out", "Swiss French buy box"),
    ("Ce produit est épuisé", "sold_out", "darty-like template (peb-2a84a964ab)"),
    ("Temporairement en rupture de stock", "temporarily_unavailable", "French retailer stock line"),
    ("Uniquement en magasin", "store_only", "French store-only badge (peb-6299847d2a)"),
    ("En stock, livré chez vous dès le 04/12", "in_stock", "fnac-like (peb-2a84a964ab)"),
    ("Plus que 2 en stock", "limited", "French scarcity line"),
    ("lieferbar - in 3-5 Werktagen", "in_stock", "otto.de (peb-040c3ea5ea)"),
    ("Nicht verfügbar", "out_of_stock", "German stock line"),
    ("Nur noch 2 Stück auf Lager", "limited", "German scarcity line"),
    ("Derzeit nicht lieferbar", "temporarily_unavailable", "Swiss German online shop (issue 18)"),
    ("Nur in der Filiale erhältlich", "store_only", "German discounter"),
    ("Auf Lager.", "in_stock", "amazon.de (peb-95f9586d43)"),
    ("Nicht mehr im Sortiment", "discontinued", "German retailer"),
    ("Disponibilità: solo 1", "limited", "Italian shop (peb-e9879f3b5b)"),
    ("Subito Disponibile", "in_stock", "Italian shop (peb-2dfce31e99)"),
    ("Articolo esaurito", "sold_out", "Italian shop"),
    ("Non disponibile", "out_of_stock", "Italian shop"),
    (
        "Currently unavailable. We don't know when or if this item will be back in stock.",
        "temporarily_unavailable",
        "amazon.com (peb-0094967f37)",
    ),
    ("Only 2 left in stock - order soon.", "limited", "amazon.com"),
    ("Your store only has 2 in stock", "limited", "home depot (fp-train-home-depot)"),
    ("Out Of Stock Online", "not_deliverable", "cvs (fp-test-cvs)"),
    ("Pre-order now", "preorder", "rei (fp-test-rei): a pre-order button"),
    ("This item has been discontinued", "discontinued", "healthypets (fp-test-healthypets)"),
    ("In Stock. Usually ships same business day.", "in_stock", "tiger direct (fp-test-tiger-direct)"),
]


@pytest.mark.parametrize(
    ("line", "category"), [pytest.param(line, cat, id=source) for line, cat, source in LINES]
)
def test_first_stock_phrase_of_a_real_line(line: str, category: str) -> None:
    hits = phrase_book().find(normalise_text(line))
    assert hits and hits[0].category == category, hits


@pytest.mark.parametrize(
    ("line", "absent"),
    [
        pytest.param("Nicht verfügbar", "in_stock", id="de-negation-is-not-verfügbar"),
        pytest.param("Non disponible", "in_stock", id="fr-negation-is-not-disponible"),
        pytest.param("Indisponible", "in_stock", id="fr-indisponible-is-one-word"),
        pytest.param("Out of stock", "in_stock", id="en-out-of-stock-is-not-in-stock"),
        pytest.param("Notify me when back in stock", "in_stock", id="en-notify-is-not-in-stock"),
        pytest.param("Bientôt disponible", "in_stock", id="fr-soon-is-not-in-stock"),
    ],
)
def test_negations_are_not_read_as_in_stock(line: str, absent: str) -> None:
    assert absent not in {h.category for h in phrase_book().find(normalise_text(line))}


def test_profile_phrases_extend_a_locale() -> None:
    extra = {"fr": {"out_of_stock": ("plus livrable chez nous",)}}
    hits = phrase_book(extra).find(normalise_text("Hélas, plus livrable chez nous"))
    assert [(h.category, h.locale) for h in hits] == [("out_of_stock", "profile:fr")]


def test_bundled_tables_use_known_categories_only() -> None:
    for locale in ("fr", "de", "it", "en"):
        assert locale in bundled_locales()
        assert set(load_locale(locale)) <= set(CATEGORIES)


def test_a_user_phrase_file_extends_its_locale(tmp_path, monkeypatch):
    # a shop's own wording that no bundled table knows, added by the user in $PROMOWATCH_PHRASES/fr.toml
    page = (
        "<html><body><main><h1>Machine à café</h1><span class='price'>499.–</span>"
        "<p class='stock'>Hélas, plus de machines chez nous</p></main></body></html>"
    ).encode()
    from promowatch.extract import extract_offer

    before = extract_offer(page, "https://shop.example.ch/p/1")
    (tmp_path / "fr.toml").write_text('out_of_stock = ["plus de machines chez nous"]\n')
    monkeypatch.setenv("PROMOWATCH_PHRASES", str(tmp_path))
    after = extract_offer(page, "https://shop.example.ch/p/1")
    assert before.availability.value == "unknown"
    assert after.availability.value == "out_of_stock"


def test_a_user_phrase_file_with_an_unknown_category_names_the_file(tmp_path, monkeypatch):
    (tmp_path / "de.toml").write_text('ausverkauft = ["weg"]\n')
    monkeypatch.setenv("PROMOWATCH_PHRASES", str(tmp_path))
    from promowatch.extract import extract_offer

    with pytest.raises(ValueError, match=r"de\.toml: 'ausverkauft' is not a phrase category"):
        extract_offer(b"<html><body><h1>x</h1></body></html>", "https://shop.example.de/p/1")
