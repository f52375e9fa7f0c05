"""Starts a real Puguh for a test module: the binary built from this repository
(conftest.py builds it once per session), a fresh data directory, a free
loopback port, and the admin listener off. Also: the CLI with the same
environment, and plain-HTTP helpers for setting up users without the SDK."""

from __future__ import annotations

import base64
import itertools
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SDK_ROOT = Path(__file__).resolve().parents[2]
REPO_ROOT = SDK_ROOT.parent.parent


def binary_path() -> Path:
    return Path(os.environ.get("PUGUH_BIN") or SDK_ROOT / ".test-bin" / "puguh")


def build_puguh() -> Path:
    """go build ./cmd/puguh into .test-bin/ (PUGUH_BIN names a binary built elsewhere instead)."""
    if os.environ.get("PUGUH_BIN"):
        return binary_path()
    out = binary_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["go", "build", "-o", str(out), "./cmd/puguh"], cwd=REPO_ROOT, check=True, timeout=600)
    return out


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base_url: str
    env: dict[str, str]
    data_dir: str
    process: subprocess.Popen[bytes]
    log_path: str

    @property
    def issuer(self) -> str:
        return self.base_url

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")[-8000:]

    def cli(self, *args: str) -> str:
        """Run ``puguh ARGS…`` against the same database; its stdout."""
        done = subprocess.run([str(binary_path()), *args], env=self.env, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"puguh {' '.join(args)}: exit {done.returncode}\n{done.stdout}{done.stderr}")
        return done.stdout

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_puguh(env: dict[str, str] | None = None) -> Server:
    """Start Puguh and wait (bounded, 30 s) until GET /api/v1/health answers 200."""
    binary = binary_path()
    if not binary.exists():
        raise RuntimeError(f"{binary} is missing (conftest.py builds it; or set PUGUH_BIN)")
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="puguh-sdk-py-")
    base_url = f"http://127.0.0.1:{port}"
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", data_dir),
        "PUGUH_ADDR": f"127.0.0.1:{port}",
        "PUGUH_ISSUER": base_url,
        "PUGUH_DATA_DIR": data_dir,
        "PUGUH_ADMIN_ADDR": "off",
        "PUGUH_LOG_LEVEL": "warn",
        "PUGUH_SHUTDOWN_TIMEOUT": "2s",
        **(env or {}),
    }
    log_path = os.path.join(data_dir, "server.log")
    log = open(log_path, "wb")  # noqa: SIM115 - the child writes to it until stop()
    process = subprocess.Popen([str(binary), "serve"], env=full_env, stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    server = Server(base_url, full_env, data_dir, process, log_path)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            text = server.log()
            server.stop()
            raise RuntimeError(f"puguh exited during start ({process.returncode}):\n{text}")
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            text = server.log()
            server.stop()
            raise RuntimeError(f"puguh did not answer /api/v1/health within 30 s:\n{text}")
        time.sleep(0.1)


_counter = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{os.getpid()}-{next(_counter)}-{secrets.token_hex(3)}@example.com"


def post_json(url: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(url, json=body, headers=headers or {}, timeout=10)


@dataclass
class User:
    email: str
    password: str
    user_id: str
    organization_id: str
    access_token: str
    refresh_token: str
    extra: dict[str, Any] = field(default_factory=dict)


def login(server: Server, email: str, password: str) -> tuple[str, str]:
    """(access_token, refresh_token) of a fresh sign-in, with plain httpx."""
    res = post_json(f"{server.base_url}/api/v1/auth/login", {"email": email, "password": password})
    assert res.status_code == 200, f"login: {res.status_code} {res.text}"
    return res.json()["access_token"], res.json()["refresh_token"]


def new_user(server: Server, prefix: str = "user", full_name: str = "Test User") -> User:
    """Register a user and log in, with plain httpx."""
    email = unique_email(prefix)
    password = f"pw-{secrets.token_hex(6)}-long enough"
    reg = post_json(f"{server.base_url}/api/v1/auth/register", {"email": email, "password": password, "full_name": full_name})
    assert reg.status_code == 201, f"register: {reg.status_code} {reg.text}"
    access, refresh = login(server, email, password)
    return User(email, password, reg.json()["user_id"], reg.json()["organization_id"], access, refresh)


def logout(server: Server, access_token: str) -> None:
    """Log a token out with plain httpx: the way tests make a token fail without waiting an hour."""
    res = httpx.post(f"{server.base_url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)
    assert res.status_code == 204, f"logout: {res.status_code} {res.text}"


def refresh(server: Server, refresh_token: str) -> tuple[str, str]:
    res = post_json(f"{server.base_url}/api/v1/auth/refresh", {"refresh_token": refresh_token})
    assert res.status_code == 200, f"refresh: {res.status_code} {res.text}"
    return res.json()["access_token"], res.json()["refresh_token"]


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A JWT's header and payload, not verified (tests only)."""

    def part(s: str) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
        return value

    h, p, _ = token.split(".")
    return part(h), part(p)


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str | None
    api_key: str | None


class Recorder:
    """httpx event hooks recording every request (method, path, Authorization, X-API-Key)."""

    def __init__(self) -> None:
        self.calls: list[Recorded] = []

    def _record(self, request: httpx.Request) -> None:
        self.calls.append(
            Recorded(request.method, request.url.path, request.headers.get("authorization"), request.headers.get("x-api-key"))
        )

    def hook(self, request: httpx.Request) -> None:
        self._record(request)

    async def async_hook(self, request: httpx.Request) -> None:
        self._record(request)

    def client(self, **kwargs: Any) -> httpx.Client:
        hooks = kwargs.pop("event_hooks", {})
        return httpx.Client(event_hooks={**hooks, "request": [self.hook]}, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        hooks = kwargs.pop("event_hooks", {})
        return httpx.AsyncClient(event_hooks={**hooks, "request": [self.async_hook]}, **kwargs)
