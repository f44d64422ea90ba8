"""Browser tests: one `reflex run --env prod` per session on a free port with a fresh database,
driven by Playwright with Debian's chromium. A failing test leaves a screenshot in test-artifacts/.

Each session builds the frontend in its own temporary folder (REFLEX_WEB_WORKDIR), not in the
project's .web: a dev server or another test run from the same checkout would otherwise rebuild the
files under the other's feet (seen as 404s on /assets/*.js).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.canaries import found_in_audit_log

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
FAILURES = ARTIFACTS / "e2e-failures"
# under pytest-xdist each worker runs a server of its own, logged to a file of its own
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
SERVER_LOG = ARTIFACTS / (f"e2e-server-{WORKER}.log" if WORKER else "e2e-server.log")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
START_TIMEOUT = 300  # seconds; a first build installs the frontend packages
TIMEOUT_MS = 15_000
SOMETHING = re.compile(r"\S")  # any visible text

DEMO_PASSWORD = "Demo-2026-pass"
MEMBER_PHONE = "13800138000"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(instance: Path, web: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTAPP_")}
    env.update(
        CUSTAPP_ENV="test",
        CUSTAPP_BCRYPT_ROUNDS="4",
        CUSTAPP_INSTANCE_DIR=str(instance),
        CUSTAPP_DATABASE_URL=f"sqlite:///{instance / 'custapp.db'}",
        # the schedule's steps (issue 17) would change the demo data under the tests; the
        # runner still runs what a page queues (立即运行 included)
        CUSTAPP_SCHEDULER="false",
        REFLEX_BUN_PATH=str(ROOT / ".tools" / "node_modules" / ".bin" / "bun"),
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_CHECK_LATEST_VERSION="false",
        REFLEX_WEB_WORKDIR=str(web),
        REFLEX_STATES_WORKDIR=str(web.parent / "states"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _log_tail(lines: int = 40) -> str:
    try:
        return "\n".join(SERVER_LOG.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (OSError, urllib.error.URLError):
        return 0, ""


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


class Server:
    """The app under test: its address and its instance (for the command line)."""

    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url = url
        self.env = env

    def cli(self, *args: str, password: str | None = None) -> None:
        """One `custapp` command against the test instance; its output goes to the server log."""
        env = {**self.env, "CUSTAPP_NEW_PASSWORD": password} if password else self.env
        with SERVER_LOG.open("a") as log:
            log.write(f"$ custapp {' '.join(args)}\n")
            log.flush()
            result = subprocess.run(
                [str(ROOT / ".venv" / "bin" / "custapp"), *args],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=120,
            )
        if result.returncode != 0:
            pytest.fail(f"custapp {args[0]} failed ({result.returncode}):\n{_log_tail()}")

    def create_user(self, username: str, password: str, role: str = "front_desk") -> str:
        """A staff account for one test alone (the password comes through the environment)."""
        self.cli(
            "create-user",
            "--username",
            username,
            "--role",
            role,
            "--store",
            "HQ",
            password=password,
        )
        return username


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium: a missing browser fails the browser tests (before any build)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"The browser tests need Debian's chromium at {CHROMIUM}. `make test` installs it "
            "when run as root; otherwise: sudo apt-get install -y chromium fonts-noto-cjk",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def server(chromium, tmp_path_factory) -> Iterator[Server]:  # noqa: ANN001
    """A migrated, demo-seeded app served by `reflex run --env prod` on a free port."""
    ARTIFACTS.mkdir(exist_ok=True)
    SERVER_LOG.write_text("")
    work = tmp_path_factory.mktemp("e2e")
    (work / "instance").mkdir()
    port = _free_port()
    url = f"http://localhost:{port}"
    # the page's own origin is the one /_event and the API answer (issue 14 item 10)
    env = {**_server_env(work / "instance", work / "web"), "CUSTAPP_ALLOWED_ORIGINS": url}
    app = Server(url, env)
    app.cli("migrate")
    app.cli("seed-demo")
    log = SERVER_LOG.open("a")
    log.write(f"$ reflex run --env prod --single-port (port {port})\n")
    log.flush()
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "reflex"),
            "run",
            "--env",
            "prod",
            "--single-port",
            "--frontend-port",
            str(port),
            "--backend-port",
            str(port),
        ],
        cwd=ROOT,
        env=app.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, ended as a whole below
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"reflex exited with {proc.returncode} before serving:\n{_log_tail()}",
                    pytrace=False,
                )
            # Ready when the backend answers and the built page is served (not just a 404).
            ping, _ = _get(f"{app.url}/ping")
            if ping == 200:
                status, html = _get(f"{app.url}/login")
                if status == 200 and 'id="login"' in html:
                    break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"reflex did not serve {app.url} in {START_TIMEOUT}s:\n{_log_tail()}",
                    pytrace=False,
                )
            time.sleep(1)
        yield app
    finally:
        _kill_group(proc)
        log.close()
        shutil.rmtree(work / "web", ignore_errors=True)  # ~160 MB of node_modules


@pytest.fixture(scope="session")
def base_url(server: Server) -> str:
    return server.url


@pytest.fixture(scope="session", autouse=True)
def no_canary_in_the_audit_log(server: Server) -> Iterator[None]:
    """At the end of the browser session, no canary typed into a login, a reason or a note is in
    any text column of the audit log (issue 14, acceptance 6)."""
    yield
    found = found_in_audit_log(server.env["CUSTAPP_DATABASE_URL"])
    assert not found, f"the audit log holds canary values (seq, column, value): {found}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The docs screenshots first, on the demo data as `make run` shows it."""
    e2e = [i for i, item in enumerate(items) if item.get_closest_marker("e2e")]
    if not e2e:
        return
    first = e2e[0]
    shots = [item for item in items if item.path.name == "test_screenshots.py"]
    rest = [item for item in items[first:] if item not in shots]
    items[first:] = [*shots, *rest]


# --- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator:
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser) -> Iterator:  # noqa: ANN001
    """Makes fresh browser profiles (no cookies, no session storage), closed after the test, so
    a failing test's screenshots can still show every one of them."""
    made = []

    def make():  # noqa: ANN202
        ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.console_lines = []  # what its pages logged, for a failure report

        def watch(page) -> None:  # noqa: ANN001
            page.on("console", lambda m: ctx.console_lines.append(f"[{m.type}] {m.text}"))
            page.on("pageerror", lambda e: ctx.console_lines.append(f"[pageerror] {e}"))

        ctx.on("page", watch)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def context(new_context):  # noqa: ANN001
    return new_context()


@pytest.fixture
def page(context, base_url):  # noqa: ANN001
    return context.new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001
    """On a failing test, save a screenshot of each of its pages (and their console)."""
    report = yield
    browser = getattr(item, "funcargs", {}).get("browser")
    if report.when in ("setup", "call") and report.failed and browser is not None:
        FAILURES.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", item.nodeid.split("::", 1)[-1])[:120]
        saved, console = [], []
        for c, ctx in enumerate(browser.contexts):
            console += [f"--- context {c}", *getattr(ctx, "console_lines", [])]
            for p, pg in enumerate(ctx.pages):
                target = FAILURES / f"{name}-{c}-{p}.png"
                try:
                    pg.screenshot(path=str(target), full_page=True)
                    saved.append(f"{target.relative_to(ROOT)}  ({pg.url})")
                except Exception as exc:  # a crashed page must not hide the real failure
                    saved.append(f"{target.name}: no screenshot ({exc})")
        (FAILURES / f"{name}-console.txt").write_text("\n".join(console) + "\n")
        report.sections.append(("e2e screenshots", "\n".join(saved) or "(no open page)"))
    return report


# --- journeys the tests share ----------------------------------------------------------------


class App:
    """The steps many tests take, on the server under test."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.url = server.url

    def open_login(self, page) -> None:  # noqa: ANN001
        """The login page, hydrated: the form is in the served HTML before React takes it over,
        and a click before that would be a plain HTML form submission."""
        page.goto(f"{self.url}/login", wait_until="commit")
        page.wait_for_function(
            """() => { const el = document.querySelector('#login');
                       return !!el && Object.keys(el).some(k => k.startsWith('__reactProps')); }"""
        )

    def submit_login(self, page, login: str, password: str, *, member: bool = False) -> None:  # noqa: ANN001
        self.open_login(page)
        if member:
            page.get_by_role("radio", name="会员登录").click()
            expect(page.locator("#login")).to_have_attribute("placeholder", MEMBER_PHONE)
        page.fill("#login", login)
        page.fill("#password", password)
        page.get_by_test_id("login-submit").click()

    def login(self, page, login: str, password: str = DEMO_PASSWORD, *, member: bool = False):  # noqa: ANN001
        """Log in and wait until the shell shows who is logged in."""
        self.submit_login(page, login, password, member=member)
        expect(page.get_by_test_id("user-name")).to_have_text(SOMETHING)
        return page

    def goto_shell(self, page, path: str) -> None:  # noqa: ANN001
        """A signed-in page, with the shell filled in by the server."""
        page.goto(f"{self.url}{path}", wait_until="commit")
        expect(page.get_by_test_id("user-name")).to_have_text(SOMETHING)


@pytest.fixture
def app(server: Server) -> Iterator[App]:
    """The app, and after the test the check that no event handler failed on the server while
    it ran (Reflex shows the browser only "An error occurred")."""
    start = SERVER_LOG.stat().st_size
    yield App(server)
    with SERVER_LOG.open("rb") as log:
        log.seek(start)
        written = log.read().decode(errors="replace")
    failures = [line for line in written.splitlines() if "Backend Exception" in line]
    assert not failures, f"the server failed while the test ran:\n{_log_tail(80)}"
