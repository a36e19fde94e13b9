"""Apprise URLs are secrets (tokens, passwords, webhook paths): what promowatch prints or stores for people to
read keeps the scheme and a host that names a machine, and masks the rest.

Sources: URL forms from Apprise's wiki pages of the services (json, mailto, tgram, pover, discord).
"""

from __future__ import annotations

import pytest

from promowatch.config import mask_url, mask_urls


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param(
            "json://127.0.0.1:8080/hook?token=abc", "json://127.0.0.1:8080/****", id="ipv4-path-query"
        ),
        pytest.param("json://[::1]:8080/hook/s3cret", "json://[::1]:8080/****", id="ipv6-path"),
        pytest.param("json://user:pw@[::1]/x?t=1", "json://****@[::1]/****", id="ipv6-userinfo-path"),
        pytest.param(
            "mailtos://anna:hunter2@mail.example.org", "mailtos://****@mail.example.org", id="mail-pw"
        ),
        pytest.param("tgram://123456789:AAHsecret/987654", "tgram://****/****", id="token-as-host"),
        pytest.param("pover://USER@TOKEN", "pover://****@****", id="user-and-token"),
        pytest.param("discord://webhook_id/webhook_token", "discord://****/****", id="webhook-in-path"),
    ],
)
def test_an_apprise_url_is_shown_with_its_secrets_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_urls_inside_a_message_are_masked_also_in_brackets() -> None:
    message = "delivery to [json://[::1]:9/s3cret] failed; retrying mailto://anna:hunter2@mail.example.org"
    masked = mask_urls(message)
    assert "s3cret" not in masked and "hunter2" not in masked
    assert "[::1]:9" in masked and "mail.example.org" in masked
