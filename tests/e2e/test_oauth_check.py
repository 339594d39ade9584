"""`followup check` with OAuth2: it renews a token and says when it, and the client secret, expire."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.servers
USER = "oauthdesk@example.test"


def check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    return subprocess.run([sys.executable, "-m", "service", "check"], text=True, capture_output=True,
                          env={**base, **env}, cwd=ROOT, timeout=120)


def oauth_env(stack: Any, provider: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "FOLLOWUP_INBOX_URL": f"imaps://{USER}@127.0.0.1:{stack.imaps_port}/INBOX", "FOLLOWUP_IMAP_AUTH": "xoauth2",
        "FOLLOWUP_OUTBOX_URL": f"smtp://{USER}@127.0.0.1:{stack.submission_port}", "FOLLOWUP_SMTP_AUTH": "xoauth2",
        "FOLLOWUP_OAUTH2_TOKEN_URL": provider.token_url, "FOLLOWUP_OAUTH2_CLIENT_ID": "followup-test",
        "FOLLOWUP_OAUTH2_CLIENT_SECRET": "s3cret", "FOLLOWUP_TLS_CA_FILE": str(stack.ca_file),
        "FOLLOWUP_SHARED_ADDRESS": USER, "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}", **extra,
    }


def test_check_renews_the_token_and_says_when_everything_expires(oauth_stack: Any, tmp_path: Path) -> None:
    stack, provider = oauth_stack
    soon = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    run = check(oauth_env(stack, provider, tmp_path, FOLLOWUP_OAUTH2_REFRESH_TOKEN=provider.issue_refresh_token(),
                          FOLLOWUP_OAUTH2_CLIENT_SECRET_EXPIRES=soon))
    assert run.returncode == 0, run.stdout + run.stderr
    line = next(li for li in run.stdout.splitlines() if "oauth2:" in li)
    assert line.startswith("ok")
    until = re.search(r"access token valid until (\S+ \S+) UTC \(in (\d+) min\)", line)
    assert until is not None, line
    assert f"client secret expires {soon} (in 9 days - make a new one soon)" in line or \
        f"client secret expires {soon} (in 10 days - make a new one soon)" in line, line
    assert "refresh token from the settings" in line  # no database yet: nothing rotated is kept
    assert re.search(r"ok +inbox: .*readable", run.stdout) and re.search(r"ok +outbox: ", run.stdout), run.stdout
    assert "s3cret" not in run.stdout + run.stderr


def test_check_says_plainly_when_the_provider_refuses(oauth_stack: Any, tmp_path: Path) -> None:
    stack, provider = oauth_stack
    run = check(oauth_env(stack, provider, tmp_path, FOLLOWUP_OAUTH2_REFRESH_TOKEN="rt-revoked"))
    assert run.returncode == 1
    line = next(li for li in run.stdout.splitlines() if "oauth2:" in li)
    assert line.startswith("FAIL") and "invalid_grant" in line and provider.token_url in line, line
    assert "Traceback" not in run.stderr
