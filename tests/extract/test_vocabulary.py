"""schema.org ItemAvailability in every form shops write it (full URL, http, https, bare, OpenGraph words)."""

import pytest

from promowatch.domain import Availability
from promowatch.extract.vocabulary import item_availability

A = Availability
TERMS = [
    ("InStock", A.IN_STOCK, None),
    ("OutOfStock", A.OUT_OF_STOCK, False),
    ("SoldOut", A.OUT_OF_STOCK, False),
    ("PreOrder", A.PREORDER, True),
    ("PreSale", A.PREORDER, True),
    ("BackOrder", A.BACKORDER, True),
    ("LimitedAvailability", A.LIMITED, None),
    ("InStoreOnly", A.IN_STOCK, False),
    ("OnlineOnly", A.IN_STOCK, True),
    ("Discontinued", A.DISCONTINUED, False),
    ("MadeToOrder", A.BACKORDER, True),
    ("Reserved", A.OUT_OF_STOCK, False),
]
FORMS = ["https://schema.org/{}", "http://schema.org/{}", "{}", "schema.org/{}", "http://www.schema.org/{}"]


@pytest.mark.parametrize(
    ("raw", "state", "orderable"),
    [
        pytest.param(form.format(term), state, orderable, id=form.format(term))
        for term, state, orderable in TERMS
        for form in FORMS
    ],
)
def test_schema_org_item_availability(raw: str, state: Availability, orderable: bool | None) -> None:
    assert item_availability(raw) == (state, orderable)


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        pytest.param("in stock", A.IN_STOCK, id="og-in-stock (fp-test-stanford-athletics og:availability)"),
        pytest.param("instock", A.IN_STOCK, id="og-instock (fp-train-sciencebob)"),
        pytest.param("oos", A.OUT_OF_STOCK, id="facebook-catalogue-oos"),
        pytest.param("out of stock", A.OUT_OF_STOCK, id="og-out-of-stock"),
        pytest.param("BackOrder", A.BACKORDER, id="og-backorder (fp-test-crate-barrel)"),
    ],
)
def test_opengraph_words(raw: str, state: Availability) -> None:
    mapped = item_availability(raw)
    assert mapped is not None and mapped[0] is state


def test_unknown_word_is_not_mapped() -> None:
    assert item_availability("ask in store") is None
