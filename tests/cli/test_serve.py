"""``powerlist serve`` through the real entry point: it refuses an old schema and serves pages."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serve_refuses_an_uninitialised_database(cli):
    result = cli("serve", "--port", str(_free_port()), "--no-scheduler")
    assert result.code == 1 and "powerlist init" in result.err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serve_answers_http(cli):
    cli("init", check=True)
    port = _free_port()
    proc = subprocess.Popen(
        [*cli.command, "serve", "--port", str(port), "--no-scheduler"],
        env=cli.env,
        cwd=cli.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    body = response.read().decode()
                    status = response.status
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"server did not answer: {proc.communicate(timeout=5)}") from None
                time.sleep(0.2)
        assert status == 200
        assert "powerlist" in body or "权力" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)
