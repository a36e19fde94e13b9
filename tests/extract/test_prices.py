"""parse_amount: one price node's text -> (Decimal, ISO currency). Examples are as Swiss, EU and US shops print them."""

from decimal import Decimal

import pytest

from promowatch.extract.prices import currency_code, parse_amount, parse_amount_in, structured_amount


@pytest.mark.parametrize(
    ("text", "default", "amount", "currency"),
    [
        pytest.param("1’299.–", None, "1299.00", None, id="swiss-typographic-apostrophe-dash"),
        pytest.param("1'299.-", None, "1299.00", None, id="swiss-ascii-apostrophe-hyphen"),
        pytest.param("CHF 499.–", None, "499.00", "CHF", id="chf-prefix-dash-cents"),
        pytest.param("Fr. 49.90", None, "49.90", "CHF", id="fr-abbreviation"),
        pytest.param("49,–", "CHF", "49.00", "CHF", id="comma-dash-default-currency"),
        pytest.param("CHF 1’099.00", None, "1099.00", "CHF", id="chf-apostrophe-cents"),
        pytest.param("€ 149,99", None, "149.99", "EUR", id="euro-comma-decimal (otto.de style)"),
        pytest.param("1.299,00 €", None, "1299.00", "EUR", id="german-thousands-dot"),
        pytest.param("US $1,250.00", None, "1250.00", "USD", id="us-dollar-grouping"),
        pytest.param("£1,899", None, "1899.00", "GBP", id="pound-no-cents"),
        pytest.param("1 529 ₽", None, "1529.00", "RUB", id="rouble-space-grouping"),
        pytest.param("ab 12.90", "CHF", "12.90", "CHF", id="from-price-default-currency"),
        pytest.param("Prix sur demande", "CHF", None, "CHF", id="no-digits"),
    ],
)
def test_parse_amount(text: str, default: str | None, amount: str | None, currency: str | None) -> None:
    got_amount, got_currency = parse_amount(text, default)
    assert got_amount == (Decimal(amount) if amount else None)
    assert got_currency == currency


@pytest.mark.parametrize(
    ("symbol", "country", "code"),
    [
        pytest.param("$", "US", "USD", id="dollar-us"),
        pytest.param("$", "CA", "CAD", id="dollar-canada"),
        pytest.param("kr", "SE", "SEK", id="krona-sweden"),
        pytest.param("RUR", None, "RUB", id="legacy-rouble-code"),
        pytest.param("Fr.", "CH", "CHF", id="swiss-franc-abbreviation"),
        pytest.param("€", None, "EUR", id="euro-sign"),
    ],
)
def test_currency_code(symbol: str, country: str | None, code: str) -> None:
    assert currency_code(symbol, country) == code


def test_dollar_depends_on_country() -> None:
    assert parse_amount_in("$5.000", None, "CL") == (Decimal("5000.00"), "CLP")


@pytest.mark.parametrize(
    ("value", "amount"),
    [
        pytest.param("1299.00", "1299.00", id="string"),
        pytest.param(1299, "1299.00", id="int"),
        pytest.param(19.9, "19.90", id="float-from-json"),
        pytest.param("1,299.00", "1299.00", id="grouped-string"),
        pytest.param("", None, id="empty"),
        pytest.param(True, None, id="bool-is-not-money"),
    ],
)
def test_structured_amount(value: object, amount: str | None) -> None:
    assert structured_amount(value) == (Decimal(amount) if amount else None)
