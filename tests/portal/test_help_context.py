"""Every page hands the help widget its context as a server-signed reference."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from shared.context_ref import read_ref
from tests.portal.conftest import Portal
from tests.portal.test_find import find, make_account

_MOUNT = re.compile(r'id="paydesk-help"[^>]*data-context="([^"]*)"')


def help_context(html: str) -> str:
    match = _MOUNT.search(html)
    assert match, "the page has no help widget mount point"
    return match.group(1)


def test_the_basket_passes_a_signed_bill_reference(portal: Portal, client: TestClient) -> None:
    number, invoices = make_account(portal)
    find(client, number, "4821")
    token = help_context(client.get("/basket").text)
    secret = portal.runtime.settings.secret_key
    assert read_ref(secret, token) == ("invoice", invoices[0])
    assert read_ref("another-key", token) is None
    assert read_ref(secret, token[:-2] + "xx") is None


def test_pages_without_context_still_offer_help(client: TestClient) -> None:
    assert help_context(client.get("/").text) == ""
    assert "Need help with a payment?" in client.get("/").text
