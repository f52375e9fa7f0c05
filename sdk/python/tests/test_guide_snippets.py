"""Done means: a user can install this package into a fresh virtual environment
(Debian's Python with its system site packages, no package index) and run the
API guide's two snippets against a local Puguh. This module does exactly that,
with the snippets taken verbatim from README.md and the install commands the
README gives."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from puguh_sdk import VERSION
from tests.support.puguh import SDK_ROOT, Server, login, logout, new_user, post_json, start_puguh

README = (SDK_ROOT / "README.md").read_text(encoding="utf-8")


def snippet(name: str) -> str:
    """The code block after ``<!-- guide-snippet: NAME -->`` in README.md, verbatim."""
    m = re.search(rf"<!-- guide-snippet: {name} -->\n```python\n(.*?)```\n", README, re.DOTALL)
    assert m, f"README.md has no guide snippet {name}"
    return m.group(1)


class Project:
    """A user's project: a virtual environment with the package installed from a clean copy of sdk/python."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="puguh-sdk-py-consumer-"))
        self.venv = self.root / ".venv"
        self.python = self.venv / "bin" / "python"
        self.install_output = ""

    def setup(self) -> None:
        # What a checkout holds (no build/ or egg-info from earlier local builds).
        source = self.root / "sdk" / "python"
        shutil.copytree(SDK_ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        for f in ("pyproject.toml", "README.md"):
            shutil.copy(SDK_ROOT / f, source / f)
        # The README's commands: python3 -m venv --system-site-packages .venv; pip install --no-index --no-build-isolation ./sdk/python
        run([sys.executable, "-m", "venv", "--system-site-packages", str(self.venv)], cwd=self.root)
        done = run([str(self.venv / "bin" / "pip"), "install", "--no-index", "--no-build-isolation", "./sdk/python"], cwd=self.root)
        self.install_output = done.stdout + done.stderr

    def run(self, code: str, env: dict[str, str]) -> str:
        path = self.root / "app.py"
        path.write_text(code, encoding="utf-8")
        clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root), **env}
        return run([str(self.python), str(path)], cwd=self.root, env=clean).stdout

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{' '.join(args)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = start_puguh()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def project() -> Iterator[Project]:
    p = Project()
    try:
        p.setup()
        yield p
    finally:
        p.remove()


def test_the_package_installs_offline_into_a_fresh_virtual_environment(project: Project) -> None:
    assert f"Successfully installed puguh-sdk-{VERSION}" in project.install_output, project.install_output
    where = project.run(
        "import importlib.metadata, os, puguh_sdk\n"
        "print(puguh_sdk.__file__)\n"
        "print(sorted(os.listdir(os.path.dirname(puguh_sdk.__file__))))\n"
        "print(importlib.metadata.version('puguh-sdk'))\n"
        "print('|'.join(sorted(importlib.metadata.requires('puguh-sdk') or [])))\n",
        {},
    ).splitlines()
    assert where[0].startswith(str(project.venv)), f"imported from {where[0]}, not the virtual environment"
    for f in ("py.typed", "types.py", "__init__.py", "resources"):
        assert f in where[1], f"{f} is not installed"
    assert where[2] == VERSION
    # Only Debian-packaged dependencies (setuptools writes them as "PyJWT (>=2.6)").
    assert [re.sub(r"[ ()]", "", r) for r in where[3].split("|")] == ["PyJWT>=2.6", "cryptography>=3.4", "httpx>=0.23"]


def test_snippet_using_api_key_runs_verbatim(server: Server, project: Project) -> None:
    owner = new_user(server, prefix="guide-key")
    key = post_json(f"{server.base_url}/api/v1/api-keys", {"name": "guide"}, {"Authorization": f"Bearer {owner.access_token}"})
    assert key.status_code == 201
    code = snippet("api-key") + "\nimport json\nprint(json.dumps(client.health.check()))\n"
    out = project.run(
        code, {"PUGUH_BASE_URL": server.base_url, "PUGUH_API_KEY": key.json()["key"], "PUGUH_ORGANIZATION_ID": owner.organization_id}
    )
    assert json.loads(out)["principal"] == {"type": "api_key", "id": key.json()["id"], "organization_id": owner.organization_id}


# The user's own code around the JWT snippet: where user_token comes from and what refresh_token_callback does.
JWT_PRELUDE = '''\
import json
import os
import urllib.request

user_token = os.environ["USER_TOKEN"]
refreshes = 0


def refresh_token_callback():
    global refreshes
    refreshes += 1
    request = urllib.request.Request(
        os.environ["PUGUH_BASE_URL"] + "/api/v1/auth/refresh",
        data=json.dumps({"refresh_token": os.environ["USER_REFRESH_TOKEN"]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)["access_token"]

'''


def test_snippet_using_jwt_runs_verbatim_and_renews_an_expired_token(server: Server, project: Project) -> None:
    user = new_user(server, prefix="guide-jwt")
    expired, _ = login(server, user.email, user.password)
    logout(server, expired)
    code = JWT_PRELUDE + snippet("jwt") + '\nme = client.iam.users.me()\nprint(json.dumps({"email": me["email"], "refreshes": refreshes}))\n'
    out = project.run(code, {"PUGUH_BASE_URL": server.base_url, "USER_TOKEN": expired, "USER_REFRESH_TOKEN": user.refresh_token})
    assert json.loads(out) == {"email": user.email, "refreshes": 1}


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed (Debian: apt-get install mypy)")
def test_both_snippets_type_check_against_the_installed_package(project: Project) -> None:
    declarations = "user_token: str = ''\n\n\ndef refresh_token_callback() -> str | None:\n    return None\n\n\n"
    (project.root / "api_key.py").write_text(snippet("api-key"), encoding="utf-8")
    (project.root / "jwt_snippet.py").write_text(declarations + snippet("jwt"), encoding="utf-8")
    # --python-executable: mypy finds puguh_sdk in the virtual environment, typed through its py.typed.
    done = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(SDK_ROOT / ".mypy_cache"),
            "--python-executable", str(project.python), "api_key.py", "jwt_snippet.py",
        ],  # fmt: skip
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
