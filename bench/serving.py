"""The app on loopback for the benchmarks: a free port and uvicorn in a thread or `stek serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from api.app import create_app
from api.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(url: str) -> Iterator[str]:
    """Serve the app on database ``url`` at 127.0.0.1 in a thread; yields its base URL.

    The second factor is off (``require_totp=False``): the benchmarks time the work after
    signing in, and their demo users have no TOTP secret (``tests/api/test_totp*`` cover it).
    """
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings(database_url=url, require_totp=False)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def stek_process(url: str, log_path: str = "/dev/null") -> Iterator[tuple[str, int]]:
    """``stek serve`` on database ``url`` as its own process, as deployed; yields its base URL
    and process id (for benchmarks that sample its memory) once it answers ``/api/v1/health``.
    """
    port = free_port()
    stek = str(Path(sys.executable).parent / "stek")
    env = {
        **os.environ,
        "STEK_REQUIRE_TOTP": "false",  # as in serve(): the demo users have no TOTP secret
        "STEK_RETENTION_INTERVAL_HOURS": "0",
    }
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [stek, "serve", "--port", str(port), "--database-url", url],
            stdout=log,
            stderr=log,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{base}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"stek serve did not start ({proc.poll()})") from None
                time.sleep(0.1)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def serve_process(url: str, log_path: str = "/dev/null") -> Iterator[str]:
    """``stek serve`` as its own process (:func:`stek_process`); yields its base URL.

    For browser benchmarks: a server in a thread of the benchmark shares the interpreter lock
    with Playwright's client, so every click would also wait for the other's Python work.
    """
    with stek_process(url, log_path) as (base, _pid):
        yield base


@contextmanager
def scratch_pg_database(base: str, name: str) -> Iterator[str | None]:
    """A new, empty PostgreSQL database ``name`` on the server of ``base`` for one benchmark,
    dropped afterwards; None (and a line on stderr) when the server is not reachable."""
    import sys

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from store.db import make_engine

    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL skipped: {exc}".splitlines()[0], file=sys.stderr)
        admin.dispose()
        yield None
        return
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
