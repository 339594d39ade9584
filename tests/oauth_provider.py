"""A stand-in OAuth2 provider on loopback: a token endpoint (HTTPS) for followup, an introspection
endpoint (HTTP) for Dovecot's oauth2 passdb. Tokens expire within a test; refresh tokens rotate.

Both grants followup uses are served: refresh_token (a spent refresh token is refused afterwards,
as providers that rotate do) and client_credentials (checked against the client secret).
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote


@dataclass
class ProviderState:
    username: str
    client_id: str
    client_secret: str
    lifetime_s: float
    rotate: bool
    refresh_tokens: set[str] = field(default_factory=set)
    access: dict[str, float] = field(default_factory=dict)  # token -> expiry (time.time())
    grants: list[str] = field(default_factory=list)  # each grant served, in order
    refused: list[str] = field(default_factory=list)  # each grant refused, with its reason
    introspections: int = 0
    down: bool = False  # the token endpoint answers 503
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    state: ProviderState

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        return {k: v[0] for k, v in parse_qs(raw).items()}

    def _client(self, form: dict[str, str]) -> tuple[str, str]:
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return unquote(user), unquote(password)
        return form.get("client_id", ""), form.get("client_secret", "")

    def do_POST(self) -> None:
        form = self._form()
        if self.path.startswith("/introspect"):
            self._introspect(form)
        elif self.path.startswith("/token"):
            self._token(form)
        else:
            self._answer(404, {"error": "not_found"})

    def _introspect(self, form: dict[str, str]) -> None:
        s = self.state
        with s.lock:
            s.introspections += 1
            expiry = s.access.get(form.get("token", ""))
        if expiry is None or expiry < time.time():
            self._answer(200, {"active": False})
        else:
            self._answer(200, {"active": True, "username": s.username, "exp": int(expiry)})

    def _token(self, form: dict[str, str]) -> None:
        s = self.state
        grant = form.get("grant_type", "")
        client_id, client_secret = self._client(form)
        with s.lock:
            if s.down:
                self._answer(503, {"error": "temporarily_unavailable"})
                return
            if client_id != s.client_id or (grant == "client_credentials" and client_secret != s.client_secret):
                s.refused.append(f"{grant}: invalid_client")
                self._answer(401, {"error": "invalid_client", "error_description": "unknown client or secret"})
                return
            body: dict[str, Any] = {"token_type": "Bearer", "expires_in": s.lifetime_s}
            if grant == "refresh_token":
                spent = form.get("refresh_token", "")
                if spent not in s.refresh_tokens:
                    s.refused.append("refresh_token: invalid_grant")
                    self._answer(400, {"error": "invalid_grant", "error_description": "refresh token unknown or spent"})
                    return
                if s.rotate:
                    s.refresh_tokens.discard(spent)
                    body["refresh_token"] = "rt-" + secrets.token_urlsafe(12)
                    s.refresh_tokens.add(body["refresh_token"])
            elif grant != "client_credentials":
                self._answer(400, {"error": "unsupported_grant_type"})
                return
            access = "at-" + secrets.token_urlsafe(16)
            s.access[access] = time.time() + s.lifetime_s
            s.grants.append(grant)
            body["access_token"] = access
        self._answer(200, body)


class OAuthProvider:
    """Serves until `stop()`: `introspection_url` (plain) at once, `token_url` once `serve_tls` is given a
    certificate (the mail stack's, made when it starts, which in turn needs the introspection URL)."""

    def __init__(self, *, username: str, lifetime_s: float = 4.0, rotate: bool = True,
                 client_id: str = "followup-test", client_secret: str = "s3cret", refresh_token: str = "rt-first") -> None:
        self.state = ProviderState(username, client_id, client_secret, lifetime_s, rotate, {refresh_token})
        self.first_refresh_token = refresh_token
        self._handler = type("Handler", (_Handler,), {"state": self.state})
        self._plain = ThreadingHTTPServer(("127.0.0.1", 0), self._handler)
        self._servers = [self._plain]
        self._tls: ThreadingHTTPServer | None = None
        threading.Thread(target=self._plain.serve_forever, daemon=True).start()

    def serve_tls(self, cert: Path, key: Path) -> None:
        """Start the token endpoint over TLS with this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._tls = ThreadingHTTPServer(("127.0.0.1", 0), self._handler)
        self._tls.socket = context.wrap_socket(self._tls.socket, server_side=True)
        self._servers.append(self._tls)
        threading.Thread(target=self._tls.serve_forever, daemon=True).start()

    @property
    def token_url(self) -> str:
        assert self._tls is not None, "serve_tls first"
        return f"https://127.0.0.1:{self._tls.server_address[1]}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self._plain.server_address[1]}/introspect"

    def issue_refresh_token(self) -> str:
        """A new refresh token, as a mailbox owner's consent gives one (each test starts from its own)."""
        token = "rt-" + secrets.token_urlsafe(12)
        with self.state.lock:
            self.state.refresh_tokens.add(token)
        return token

    def expire_all(self) -> None:
        """Every access token handed out so far stops working now (as at the end of its hour)."""
        with self.state.lock:
            self.state.access = {token: 0.0 for token in self.state.access}

    def stop(self) -> None:
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
