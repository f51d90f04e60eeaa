"""The hosted card page, driven over HTTP. One SQLite store serves the module, and the
last test scans that file byte by byte for any card number."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from shared.gateway.protocol import GatewayError, GatewayTimeout, TransactionState
from shared.gateway.sandbox import SANDBOX_CARDS, SandboxGateway
from shared.gateway.sandbox.messages import MESSAGES

VISA = "4242424242424242"
AMEX = "378282246310005"
RETURN = "https://paydesk.example/pay/return?cart=7"
CANCEL = "https://paydesk.example/pay/cancelled"
# Numbers typed into the page in this module; none may reach the database.
TYPED = {card.number for card in SANDBOX_CARDS} | {"4111111111111111", "4242424242424241"}


def open_page(gateway: SandboxGateway, *, locale: str = "en", amount: int = 12345) -> str:
    session = gateway.create_hosted_session(
        amount=amount,
        currency="CAD",
        our_key=f"order-{amount}-{locale}",
        return_url=RETURN,
        cancel_url=CANCEL,
        locale=locale,
        description="Building permit BP-2291",
    )
    return session.url


def form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found, "the form carries an anti-forgery token"
    return found[1]


def card_form(token: str, **overrides: str) -> dict[str, str]:
    return {
        "form_token": token,
        "name": "Alex Martin",
        "number": "4242 4242 4242 4242",
        "expiry": "12/35",
        "cvc": "123",
        **overrides,
    }


def session_of(location: str) -> str:
    """The session id the page added to the return or cancel URL."""
    return parse_qs(urlsplit(location).query)["session"][0]


def session_in(page_url: str) -> str:
    return urlsplit(page_url).path.rsplit("/", 1)[1]


class Markup(HTMLParser):
    """Just enough of the page's structure to check its accessibility."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


# -- the page ----------------------------------------------------------------------


def test_the_form_is_labelled_and_autocompletes(
    client: TestClient, hosted_gateway: SandboxGateway
) -> None:
    page = client.get(open_page(hosted_gateway))

    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert "$123.45" in page.text
    assert "Building permit BP-2291" in page.text
    markup = Markup(page.text)
    labelled = {attrs["for"] for attrs in markup.all("label")}
    inputs = {
        attrs["name"]: attrs for attrs in markup.all("input") if attrs.get("type") != "hidden"
    }
    assert set(inputs) == {"name", "number", "expiry", "cvc"}
    for attrs in inputs.values():
        assert attrs["id"] in labelled
    assert {name: attrs["autocomplete"] for name, attrs in inputs.items()} == {
        "name": "cc-name",
        "number": "cc-number",
        "expiry": "cc-exp",
        "cvc": "cc-csc",
    }
    assert inputs["number"]["inputmode"] == "numeric"
    assert "MM/YY" in page.text


def test_the_page_shows_the_test_cards(client: TestClient, hosted_gateway: SandboxGateway) -> None:
    page = client.get(open_page(hosted_gateway))

    assert "Sandbox — use a test card" in page.text
    for card in SANDBOX_CARDS:
        assert card.spaced in page.text
    assert "4242 4242 4242 4242" in page.text
    assert "3782 822463 10005" in page.text


def test_no_inline_script_or_style(client: TestClient, hosted_gateway: SandboxGateway) -> None:
    url = open_page(hosted_gateway)
    first = client.get(url)
    with_errors = client.post(url, data=card_form(form_token(first.text), number="1"))
    pages = [first, with_errors, client.get("/sandbox-gateway/"), client.get("/sandbox-gateway/x")]

    for page in pages:
        markup = Markup(page.text)
        assert [s for s in markup.all("script") if not s.get("src")] == []
        assert markup.all("style") == []
        assert not any("style" in attrs for _, attrs in markup.tags)
        assert not any(name.startswith("on") for _, attrs in markup.tags for name in attrs)
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert page.headers["x-content-type-options"] == "nosniff"


def test_the_stylesheet_is_served(client: TestClient, hosted_gateway: SandboxGateway) -> None:
    page = client.get(open_page(hosted_gateway))
    sheet = Markup(page.text).all("link")[0]["href"]
    assert sheet is not None
    assert urlsplit(sheet).path.startswith("/sandbox-gateway/static/")

    css = client.get(sheet)
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    ("field", "typed", "anchor", "message"),
    [
        ("number", "4242 4242 4242 4241", "card-number", "Enter a valid card number"),
        ("number", "4242", "card-number", "Enter a valid card number"),
        ("expiry", "01/20", "card-expiry", "The card has expired"),
        ("expiry", "13/35", "card-expiry", "Enter the expiry date as MM/YY"),
        ("expiry", "soon", "card-expiry", "Enter the expiry date as MM/YY"),
        ("cvc", "12", "card-cvc", "Enter the 3 or 4 digit security code"),
        ("cvc", "12a", "card-cvc", "Enter the 3 or 4 digit security code"),
        ("name", "  ", "cardholder-name", "Enter the name on the card"),
    ],
)
def test_errors_are_summarised_and_linked_to_their_field(
    client: TestClient,
    hosted_gateway: SandboxGateway,
    field: str,
    typed: str,
    anchor: str,
    message: str,
) -> None:
    url = open_page(hosted_gateway)
    token = form_token(client.get(url).text)

    page = client.post(url, data=card_form(token, **{field: typed}))

    assert page.status_code == 422
    assert page.text.count('role="alert"') == 1
    assert f'<a href="#{anchor}">{message}</a>' in page.text
    assert "<title>Error: " in page.text
    markup = Markup(page.text)
    (control,) = [attrs for attrs in markup.all("input") if attrs.get("id") == anchor]
    assert control["aria-invalid"] == "true"
    assert f"{anchor}-error" in (control["aria-describedby"] or "")
    assert not hosted_gateway.hosted_result(session_in(url)).completed


def test_every_problem_is_listed_at_once(
    client: TestClient, hosted_gateway: SandboxGateway
) -> None:
    url = open_page(hosted_gateway)
    token = form_token(client.get(url).text)

    page = client.post(url, data=card_form(token, name="", number="1234", expiry="01/20", cvc=""))

    summary = page.text.split('role="alert"')[1].split("</div>")[0]
    assert summary.count("<li>") == 4


def test_card_number_and_code_are_not_echoed_back(
    client: TestClient, hosted_gateway: SandboxGateway
) -> None:
    url = open_page(hosted_gateway)
    token = form_token(client.get(url).text)

    page = client.post(url, data=card_form(token, number="4242424242424242", cvc="12"))

    body = page.text.replace("4242 4242 4242 4242", "")  # the test-card panel
    assert "4242424242424242" not in body
    assert 'value="12"' not in body
    assert 'value="Alex Martin"' in body
    assert 'value="12/35"' in body


# -- paying and cancelling -------------------------------------------------------------


def test_paying_redirects_to_the_return_url_with_the_session(
    client: TestClient, hosted_gateway: SandboxGateway
) -> None:
    url = open_page(hosted_gateway)
    token = form_token(client.get(url).text)

    done = client.post(url, data=card_form(token))

    assert done.status_code == 303
    location = done.headers["location"]
    assert location.startswith("https://paydesk.example/pay/return?")
    assert parse_qs(urlsplit(location).query)["cart"] == ["7"]
    result = hosted_gateway.hosted_result(session_of(location))
    assert result.completed
    assert result.our_key == "order-12345-en"
    assert result.token is not None
    assert result.card is not None
    assert (result.card.brand, result.card.last4) == ("visa", "4242")
    assert (result.card.exp_month, result.card.exp_year) == (12, 2035)
    answer = hosted_gateway.authorize(
        token=result.token, amount=12345, currency="CAD", our_key=result.our_key
    )
    assert answer.state is TransactionState.CAPTURED


def test_a_return_url_without_a_query_gets_one(
    client: TestClient, hosted_gateway: SandboxGateway
) -> None:
    session = hosted_gateway.create_hosted_session(
        amount=500,
        currency="CAD",
        our_key="plain",
        return_url="https://paydesk.example/done",
        cancel_url=CANCEL,
        locale="en",
        description="Fine",
    )
    token = form_token(client.get(session.url).text)

    done = client.post(session.url, data=card_form(token))

    assert done.headers["location"] == f"https://paydesk.example/done?session={session.id}"


def test_cancel_goes_back_with_no_token(client: TestClient, hosted_gateway: SandboxGateway) -> None:
    url = open_page(hosted_gateway, amount=800)
    page = client.get(url)
    (cancel_form,) = [
        attrs
        for attrs in Markup(page.text).all("form")
        if (attrs["action"] or "").endswith("/cancel")
    ]
    assert cancel_form["action"] is not None

    gone = client.post(cancel_form["action"], data={"form_token": form_token(page.text)})

    assert gone.status_code == 303
    assert gone.headers["location"].startswith(f"{CANCEL}?session=")
    result = hosted_gateway.hosted_result(session_of(gone.headers["location"]))
    assert not result.completed
    assert result.token is None
    assert result.card is None
    later = client.post(url, data=card_form(form_token(page.text)))
    assert later.status_code == 409


def test_a_page_pays_once(client: TestClient, hosted_gateway: SandboxGateway) -> None:
    url = open_page(hosted_gateway, amount=900)
    token = form_token(client.get(url).text)
    first = client.post(url, data=card_form(token))
    assert first.status_code == 303

    second = client.post(url, data=card_form(token, number=AMEX, cvc="1234"))

    assert second.status_code == 409
    assert "This payment page has already been used" in second.text
    assert first.headers["location"].replace("&", "&amp;") in second.text
    kept = hosted_gateway.hosted_result(session_in(url)).card
    assert kept is not None
    assert kept.last4 == "4242"  # the first card, not the second
    again = client.get(url)
    assert again.status_code == 200
    assert "This payment page has already been used" in again.text
    assert "<form" not in again.text


def test_a_forged_post_is_refused(client: TestClient, hosted_gateway: SandboxGateway) -> None:
    url = open_page(hosted_gateway, amount=1100)
    client.get(url)

    forged = client.post(url, data=card_form("guessed"))
    missing = client.post(url, data={k: v for k, v in card_form("").items() if k != "form_token"})
    cancel = client.post(f"{url}/cancel", data={"form_token": "guessed"})
    accented = client.post(url, data=card_form("d\u00e9j\u00e0-vu"))

    assert [forged.status_code, missing.status_code, cancel.status_code] == [403, 403, 403]
    assert accented.status_code == 403
    assert "This form has expired" in forged.text
    result = hosted_gateway.hosted_result(session_in(url))
    assert (result.completed, result.token) == (False, None)
    assert client.get(url).status_code == 200


def test_an_unknown_session_is_a_404_page(client: TestClient) -> None:
    page = client.get("/sandbox-gateway/pay/cs_nope")
    posted = client.post("/sandbox-gateway/pay/cs_nope", data=card_form("x"))
    cancelled = client.post("/sandbox-gateway/pay/cs_nope/cancel", data={"form_token": "x"})

    assert [page.status_code, posted.status_code, cancelled.status_code] == [404, 404, 404]
    assert '<html lang="en">' in page.text
    assert "Page not found" in page.text


def test_the_404_page_speaks_the_browser_language(client: TestClient) -> None:
    page = client.get("/sandbox-gateway/pay/cs_nope", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert '<html lang="es">' in page.text
    assert "Página no encontrada" in page.text


def test_hosted_result_of_an_unknown_session(hosted_gateway: SandboxGateway) -> None:
    with pytest.raises(GatewayError) as refused:
        hosted_gateway.hosted_result("cs_nope")
    assert refused.value.code == "unknown_session"


@pytest.mark.parametrize(
    ("url_field", "url"), [("return_url", "javascript:alert(1)"), ("cancel_url", "/relative")]
)
def test_only_absolute_http_urls_are_accepted(
    hosted_gateway: SandboxGateway, url_field: str, url: str
) -> None:
    request = {
        "amount": 100,
        "currency": "CAD",
        "our_key": "bad-url",
        "return_url": RETURN,
        "cancel_url": CANCEL,
        "locale": "en",
        "description": "x",
    } | {url_field: url}
    with pytest.raises(GatewayError) as refused:
        hosted_gateway.create_hosted_session(**request)  # type: ignore[arg-type]
    assert refused.value.code == "invalid_url"


# -- languages -------------------------------------------------------------------------


def test_french_page(client: TestClient, hosted_gateway: SandboxGateway) -> None:
    url = open_page(hosted_gateway, locale="fr-CA")
    page = client.get(url)

    assert '<html lang="fr">' in page.text
    assert "Payer par carte" in page.text
    assert "123,45\xa0$" in page.text
    assert "Numéro de carte" in page.text
    assert "Bac à sable — utilisez une carte de test" in page.text
    wrong = client.post(url, data=card_form(form_token(page.text), number="4242"))
    assert "Entrez un numéro de carte valide" in wrong.text
    assert "<title>Erreur : " in wrong.text


def test_spanish_page(client: TestClient, hosted_gateway: SandboxGateway) -> None:
    url = open_page(hosted_gateway, locale="es")
    page = client.get(url)

    assert '<html lang="es">' in page.text
    assert "Pagar con tarjeta" in page.text
    assert "Número de tarjeta" in page.text
    wrong = client.post(url, data=card_form(form_token(page.text), expiry="01/20"))
    assert "La tarjeta ha caducado" in wrong.text


def test_an_unknown_locale_falls_back_to_english(
    client: TestClient, hosted_gateway: SandboxGateway
) -> None:
    page = client.get(open_page(hosted_gateway, locale="de-DE"))
    assert '<html lang="en">' in page.text


def test_every_language_has_every_message() -> None:
    english = set(MESSAGES["en"])
    for locale, messages in MESSAGES.items():
        assert set(messages) == english, locale


# -- the rest of the app -----------------------------------------------------------------


def test_index_and_health(client: TestClient) -> None:
    index = client.get("/sandbox-gateway/")
    health = client.get("/sandbox-gateway/healthz")

    assert index.status_code == 200
    assert "sandbox" in index.text.lower()
    assert health.json() == {"status": "ok"}


# -- PCI: keep this last; it scans what the whole module left in the store ------------


def test_no_card_number_reaches_the_database_file(
    client: TestClient,
    hosted_gateway: SandboxGateway,
    hosted_db: Path,
    find_pans: Callable[[bytes], list[str]],
) -> None:
    issued = []
    for n, number in enumerate(sorted(TYPED)):
        url = open_page(hosted_gateway, amount=20_000 + n)
        client.post(url, data=card_form(form_token(client.get(url).text), number=number))
        kiosk = client.post(
            "/sandbox-gateway/card-present/tokens",
            json={"pan": number, "exp_month": 12, "exp_year": 2035, "name": "Alex Martin"},
        )
        if kiosk.status_code == 201:
            issued.append(kiosk.json()["token"])
    for card in SANDBOX_CARDS:
        token = hosted_gateway.tokenize_card_present(card.number, 12, 2035, None)
        with contextlib.suppress(GatewayTimeout):  # timeout cards still store an outcome
            hosted_gateway.authorize(
                token=token, amount=100, currency="CAD", our_key=f"pci-{card.number[-4:]}"
            )

    files = sorted(hosted_db.parent.glob(f"{hosted_db.name}*"))
    raw = b"".join(path.read_bytes() for path in files)
    assert hosted_db in files
    # The scan reads the real store: the tokens just issued are in these bytes.
    assert len(issued) == len(SANDBOX_CARDS) + 1
    assert all(token.encode() in raw for token in issued)
    assert find_pans(raw) == []
    for number in TYPED:
        assert number.encode() not in raw
