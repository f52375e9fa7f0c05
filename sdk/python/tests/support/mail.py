"""The messages a test server wrote to its outbox ($PUGUH_DATA_DIR/outbox,
without PUGUH_SMTP_URL): one .eml file each."""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
import time
from email.message import EmailMessage
from pathlib import Path

from tests.support.puguh import Server

LINK = re.compile(r"https?://\S+")


def mail_link(server: Server, to: str, path: str, n: int = 0) -> str:
    """Waits (10 s at most) for the (n+1)th link to server.base_url+path mailed to `to`."""
    prefix = server.base_url + path
    deadline = time.monotonic() + 10
    while True:
        links: list[str] = []
        for f in sorted((Path(server.data_dir) / "outbox").glob("*.eml")):
            msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            if email.utils.parseaddr(str(msg["To"]))[1].lower() != to.lower():
                continue
            part = msg.get_body(preferencelist=("plain",))
            text = part.get_content() if isinstance(part, EmailMessage) else ""
            links += [link for link in LINK.findall(str(text)) if link.startswith(prefix)]
        if len(links) > n:
            return links[n]
        if time.monotonic() > deadline:
            raise AssertionError(f"no message {n + 1} to {to} with a link to {path} after 10 s")
        time.sleep(0.02)
