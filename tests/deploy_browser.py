"""A headless Chromium driven through chromedriver's W3C WebDriver API, over loopback only.

No Selenium: a dozen WebDriver calls over ``urllib``. Needs Debian's ``chromium`` and
``chromium-driver``; :func:`browser_missing_reason` says what is missing. Chromium starts
with a fresh profile and every name except localhost resolving to nothing, so a page that
tries to reach the internet fails instead of leaving the machine.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tests.prefect_server import free_port

T = TypeVar("T")

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_NAMES = ("chromedriver",)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-default-browser-check",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--window-size=1440,1000",
)
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C element reference key


def _find(names: tuple[str, ...]) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


def browser_missing_reason() -> str | None:
    """Return why the browser tests cannot run here, or None."""
    if _find(CHROMIUM_NAMES) is None:
        return "chromium is not installed (apt-get install chromium chromium-driver)"
    if _find(DRIVER_NAMES) is None:
        return "chromedriver is not installed (apt-get install chromium-driver)"
    return None


class WebDriverError(RuntimeError):
    pass


class Browser:
    """One chromedriver process and one browser session. Use as a context manager."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.driver: subprocess.Popen[bytes] | None = None
        self.session = ""

    def __enter__(self) -> Browser:
        chromium, driver = _find(CHROMIUM_NAMES), _find(DRIVER_NAMES)
        assert chromium and driver, browser_missing_reason()
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "chromedriver.log").open("ab") as log:
            self.driver = subprocess.Popen(
                [driver, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait(lambda: self._call("GET", "/status")["ready"], 20, "chromedriver did not start")
        profile = self.workdir / "profile"
        options = {"binary": chromium, "args": [*FLAGS, f"--user-data-dir={profile}"]}
        capabilities = {"browserName": "chrome", "goog:chromeOptions": options}
        answer = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
        self.session = answer["sessionId"]
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.session:
                self._call("DELETE", f"/session/{self.session}")
        except (OSError, WebDriverError):
            pass
        if self.driver is not None:
            self.driver.terminate()
            try:
                self.driver.wait(10)
            except subprocess.TimeoutExpired:
                self.driver.kill()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read() or b"{}").get("value")
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("value", {})
            raise WebDriverError(f"{method} {path}: {detail.get('message', exc)}") from None

    def _session(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)

    @staticmethod
    def _wait(check: Callable[[], T], timeout: float, message: str) -> T:
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = check()
                if result:
                    return result
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(message)
            time.sleep(0.3)

    def get(self, url: str) -> None:
        self._session("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return str(self._session("GET", "/url"))

    def text(self) -> str:
        """The visible text of the page."""
        return str(self.execute("return document.body ? document.body.innerText : ''"))

    def execute(self, script: str, *args: Any) -> Any:
        return self._session("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, selector: str, using: str = "css selector", timeout: float = 20) -> str:
        """Wait for the first element matching ``selector``; return its WebDriver id."""

        def found() -> str:
            return str(
                self._session("POST", "/element", {"using": using, "value": selector})[ELEMENT]
            )

        try:
            return self._wait(found, timeout, "")
        except TimeoutError:
            raise TimeoutError(
                f"no {selector!r} on {self.url} within {timeout} s; the page shows:\n"
                f"{self.text()[:2000]}"
            ) from None

    def type(self, element: str, text: str) -> None:
        self._session("POST", f"/element/{element}/value", {"text": text})

    def click(self, element: str) -> None:
        self._session("POST", f"/element/{element}/click", {})

    def wait_for_text(self, *needles: str, timeout: float = 30) -> str:
        """Wait until the page shows every one of ``needles``; return the page text."""

        def shows_all() -> str:
            text = self.text()
            return text if all(n in text for n in needles) else ""

        try:
            return self._wait(shows_all, timeout, "")
        except TimeoutError:
            raise TimeoutError(
                f"page {self.url} did not show {needles!r} within {timeout} s; it shows:\n"
                f"{self.text()[:2000]}"
            ) from None

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self._session("GET", "/screenshot")))
