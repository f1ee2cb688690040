"""`stek serve` as the Dockerfile and the systemd unit run it: Secure cookies behind a trusted
TLS proxy only, JSON log lines with the request id, a clear stop on a bad retention term."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

STEK = str(Path(sys.executable).parent / "stek")
ROOT = Path(__file__).parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(db: str, *flags: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    log = Path(db.split("///", 1)[1]).with_suffix(f".{port}.log")
    with log.open("w") as err:
        proc = subprocess.Popen(
            [STEK, "serve", "--port", str(port), "--database-url", db, *flags],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "STEK_RETENTION_INTERVAL_HOURS": "0", **(env or {})},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a cold start imports numba, OR-Tools; 2 cores
        while True:
            try:
                httpx.get(f"{url}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"stek serve did not start ({proc.poll()}): {log.read_text()}")
                time.sleep(0.2)
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.fixture
def db(sqlite_template: Path, tmp_path: Path) -> str:
    shutil.copy(sqlite_template, tmp_path / "serve.db")
    return f"sqlite:///{tmp_path / 'serve.db'}"


def _cookie_is_secure(url: str) -> bool:
    answer = httpx.get(f"{url}/inloggen", headers={"X-Forwarded-Proto": "https"})
    cookies = answer.headers.get_list("set-cookie")
    assert cookies, "the sign-in form sets its CSRF cookie"
    return all("secure" in c.lower() for c in cookies)


def test_cookies_secure_only_through_a_trusted_proxy_and_json_logs(db: str) -> None:
    with _serve(db, "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1") as (url, _):
        assert _cookie_is_secure(url)
        plain = httpx.get(f"{url}/inloggen")  # the proxy spoke http: no Secure
        assert not any("secure" in c.lower() for c in plain.headers.get_list("set-cookie"))
    with _serve(db, "--proxy-headers", "--forwarded-allow-ips", "10.9.9.9") as (url, _):
        assert not _cookie_is_secure(url)  # the peer is not the named proxy
    with _serve(db) as (url, log):
        assert not _cookie_is_secure(url)  # proxy headers off (the default)
        # the same server's log: JSON lines with the request id
        answer = httpx.get(f"{url}/api/v1/rounds", headers={"X-Request-ID": "from-proxy-42"})
        assert answer.headers["x-request-id"] == "from-proxy-42"
        time.sleep(0.5)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert lines, "no log lines"
    assert all({"time", "level", "logger", "message", "request_id"} <= set(x) for x in lines)
    access = [x for x in lines if x["logger"] == "stek.access" and x["path"] == "/api/v1/rounds"]
    assert access and access[0]["request_id"] == "from-proxy-42" and access[0]["status"] == 401
    assert any(x["logger"].startswith("uvicorn") for x in lines)  # uvicorn's lines too


@pytest.mark.parametrize("value", ["-7", "zeven"])
def test_bad_retention_term_stops_start_up(db: str, value: str) -> None:
    done = subprocess.run(
        [STEK, "serve", "--database-url", db],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "STEK_RETENTION_AUDIT_ENTRIES_DAYS": value},
    )
    assert done.returncode == 2
    assert "STEK_RETENTION_AUDIT_ENTRIES_DAYS" in done.stdout + done.stderr
    assert "heel aantal dagen" in done.stdout + done.stderr


def test_dockerfile_runs_stek_serve_as_a_user_behind_proxy_headers() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "\nUSER stek\n" in text
    assert "--proxy-headers" in text and "--forwarded-allow-ips" in text
    deployment = (ROOT / "docs" / "deployment.md").read_text()
    assert "--proxy-headers --forwarded-allow-ips" in deployment
    assert "EUROPEAN UNION PUBLIC LICENCE v. 1.2" in (ROOT / "LICENSE").read_text()
    assert "license: EUPL-1.2" in (ROOT / "publiccode.yml").read_text()
