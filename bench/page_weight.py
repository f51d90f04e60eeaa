"""Bytes a first visit to each citizen page transfers, HTML + CSS + JS + images, beside the
portal issue's bar (60 KB per page).

    .venv/bin/python bench/page_weight.py

Starts the real server (`paydesk serve`, demo data) in a temporary folder, opens each page
in Chromium with an empty cache, and adds up every response: the body as received (the
server does not compress, so that is what goes over the wire) and, separately, body plus
headers as Chromium counted them. Prints a table; record it in RESULTS.md.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Response, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE
from e2e.server import Server, start_server

BAR_BYTES = 60 * 1024
LOCALES = ("en", "fr", "es")


@dataclass
class Weight:
    body: int = 0
    wire: int = 0
    files: list[tuple[str, int]] = field(default_factory=list)


def measure(browser: Browser, url: str, locale: str) -> Weight:
    context = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]}, locale=locale)
    page = context.new_page()
    responses: list[Response] = []

    def keep(response: Response) -> None:
        responses.append(response)

    page.on("response", keep)
    page.goto(url, wait_until="load")
    weight = Weight()
    for response in responses:
        size = len(response.body()) if response.status < 300 or response.status >= 400 else 0
        sizes = response.request.sizes()
        weight.body += size
        weight.wire += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        weight.files.append((urlsplit(response.url).path.rsplit("/", 1)[-1] or "/", size))
    context.close()
    return weight


def pages(server: Server) -> dict[str, str]:
    return {
        "home": server.url("/"),
        "verify (QR link)": server.receipt_verify_url(),
    }


def main() -> int:
    with (
        tempfile.TemporaryDirectory() as folder,
        start_server(Path(folder)) as server,
        sync_playwright() as driver,
    ):
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        rows = []
        for locale in LOCALES:
            targets = pages(server)
            # A hosted card page can be opened only once it is paid, so one per locale.
            targets["sandbox card page"] = server.hosted_session(locale=locale).url
            for name, url in targets.items():
                weight = measure(browser, url, f"{locale}-CA")
                rows.append((name, locale, weight))
        browser.close()

    print(f"{'page':<20} {'lang':<4} {'bodies':>9} {'wire':>9}  {'bar':<4}  files (bytes)")
    for name, locale, weight in rows:
        verdict = "ok" if weight.wire <= BAR_BYTES else "OVER"
        files = ", ".join(f"{file} {size}" for file, size in weight.files)
        print(f"{name:<20} {locale:<4} {weight.body:>9,} {weight.wire:>9,}  {verdict:<4}  {files}")
    print(f"\nbar: {BAR_BYTES:,} bytes (60 KB) per page; 'wire' = bodies + response headers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
