"""The two pages people open in a browser, in a real headless Chromium (Debian's chromium and
chromium-driver, driven by selenium), against gunicorn on 127.0.0.1.

- ``/docs``: Swagger UI renders the API from assets this service serves (no CDN: the browser
  is offline here, so a CDN reference could not load) and lists every operation.
- ``/knowledge-base``: renders every rule, and typing a rule id in the search box leaves that
  rule's row visible and hides unrelated ones.
Screenshots go to build/ for a person to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ROOT, Service, gunicorn

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (make install)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
BUILD = ROOT / "build"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Debian's chromium and chromium-driver (make test-browser installs them)",
    ),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[Service]:
    with gunicorn(tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def url(service: Service, path: str) -> str:
    return f"http://127.0.0.1:{service.port}{path}"


def screenshot(browser: webdriver.Chrome, name: str) -> Path:
    BUILD.mkdir(exist_ok=True)
    path = BUILD / name
    browser.save_screenshot(str(path))
    return path


def test_docs_render_every_operation_from_local_assets(service: Service, browser: webdriver.Chrome, client) -> None:
    browser.get(url(service, "/docs"))
    wait = WebDriverWait(browser, 30)
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    shown = {element.get_attribute("id") for element in browser.find_elements(By.CSS_SELECTOR, ".opblock")}
    operations = [op for item in client.get("/openapi.json").get_json()["paths"].values() for op in item.values()]
    assert len(shown) == len(operations)
    assert "Buttock and hip pain decision support" in browser.find_element(By.CSS_SELECTOR, ".info .title").text
    assert screenshot(browser, "docs.png").stat().st_size > 0


def test_knowledge_base_page_renders_and_search_finds_a_rule(service: Service, browser: webdriver.Chrome, kb) -> None:
    browser.get(url(service, "/knowledge-base"))
    rows = browser.find_elements(By.CSS_SELECTOR, "tr[id^='rule-']")
    assert {row.get_attribute("id").removeprefix("rule-") for row in rows} == set(kb.rules)
    assert browser.find_elements(By.CSS_SELECTOR, "#chain-svg .node.red-flag")
    red_flag = next(rule for rule in kb.rules.values() if rule.red_flag)
    other = next(rule for rule in kb.rules.values() if not rule.red_flag)

    browser.find_element(By.ID, "search").send_keys(red_flag.id)
    assert browser.find_element(By.ID, f"rule-{red_flag.id}").is_displayed()
    assert not browser.find_element(By.ID, f"rule-{other.id}").is_displayed()
    assert "matching rows" in browser.find_element(By.ID, "search-count").text
    browser.execute_script("window.scrollTo(0, 0)")
    assert screenshot(browser, "knowledge-base-search.png").stat().st_size > 0
