"""Browser test support: Playwright (Python) driving Debian's Chromium against pytest-django's live
server. Playwright cannot download browsers here, so the system package is used by path."""

import os
from pathlib import Path

import pytest
from django.db import connections

# Playwright's sync API runs an asyncio event loop in the test thread; Django refuses ORM calls
# from such a thread unless told the caller knows it is synchronous (it is, here).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture
def open_page(live_server):
    """Returns a function that opens an English-language page on the live server.

    The browser starts inside the test body, so a missing Chromium makes the test FAIL (not
    error or skip) with a message naming the package to install.
    """
    from playwright.sync_api import sync_playwright

    browsers, drivers = [], []

    def open_page():
        if not CHROMIUM.exists():
            pytest.fail(
                f"Chromium is not installed at {CHROMIUM}. Install Debian's package "
                "'chromium' (apt-get install -y chromium); Playwright cannot download "
                "browsers in this environment.",
                pytrace=False,
            )
        playwright = sync_playwright().start()
        drivers.append(playwright)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        browsers.append(browser)
        context = browser.new_context(base_url=live_server.url, locale="en-US")
        context.set_default_timeout(5_000)
        return context.new_page()

    yield open_page
    # ORM calls made while Playwright's event loop runs get their own connection (Django keys
    # connections by async context); close them here, in that same state, or PostgreSQL keeps
    # the test database busy at teardown.
    connections.close_all()
    for browser in browsers:
        browser.close()
    for playwright in drivers:
        playwright.stop()
