"""IMAP inbox on aioimaplib: TLS, password or XOAUTH2, IDLE with polling fallback, UID checkpoints."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aioimaplib

from service.adapters.inbox import RawMessage, ReadPosition
from service.adapters.oauth import StaticToken, TokenSource
from service.adapters.urls import MailURL
from service.errors import AuthenticationError, InboxError, MailServerError, TLSRequiredError

log = logging.getLogger(__name__)

_FETCH_HEAD_RE = re.compile(rb"^\d+ FETCH \(.*\{(\d+)\}$")
_UID_RE = re.compile(rb"UID (\d+)")
_INTERNALDATE_RE = re.compile(rb'INTERNALDATE "([^"]{1,40})"')
_UIDVALIDITY_RE = re.compile(rb"UIDVALIDITY (\d+)")
_LOST: list[bytes] = [b"connection lost"]
_DONE_TIMEOUT_S = 5.0
_IMAP_ERRORS = (aioimaplib.AioImapException, OSError, asyncio.TimeoutError, ssl.SSLError)


def parse_fetch(lines: Sequence[Any]) -> dict[int, tuple[bytes, datetime | None]]:
    """UID -> (message bytes, INTERNALDATE) from a `UID FETCH (UID INTERNALDATE BODY.PEEK[])` response.

    The server may put UID and INTERNALDATE before the literal or after it, on the closing line;
    the literal itself is never searched (a message may hold any text).
    """
    out: dict[int, tuple[bytes, datetime | None]] = {}
    pending_uid: int | None = None
    pending_date: datetime | None = None
    expecting_literal = False
    waiting: bytes | None = None  # a literal whose UID comes after it
    last: int | None = None  # the UID of the literal just read, when its UID came before it
    for item in lines:
        if expecting_literal:
            data = bytes(item)
            expecting_literal = False
            if pending_uid is not None:
                out[pending_uid] = (data, pending_date)
                waiting, last = None, pending_uid
            else:
                waiting, last = data, None
            continue
        line = bytes(item)
        head = _FETCH_HEAD_RE.match(line)
        if head:
            uid = _UID_RE.search(line)
            pending_uid = int(uid.group(1)) if uid else None
            pending_date, last = _internaldate(line), None
            expecting_literal = True
            continue
        if waiting is not None:
            uid = _UID_RE.search(line)
            if uid:
                out[int(uid.group(1))] = (waiting, pending_date or _internaldate(line))
            waiting = None
        elif last is not None and pending_date is None and (date := _internaldate(line)) is not None:
            out[last] = (out[last][0], date)  # INTERNALDATE after the literal, UID before it
    return out


def _internaldate(line: bytes) -> datetime | None:
    found = _INTERNALDATE_RE.search(line)
    if not found:
        return None
    try:
        return datetime.strptime(found.group(1).decode("ascii").strip(), "%d-%b-%Y %H:%M:%S %z").astimezone(UTC)
    except ValueError:  # a server's odd date: the arrival is unknown, the message is read all the same
        return None


def tls_context(ca_file: str | None, verify: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ImapInbox:
    """One mailbox folder over IMAP; processed mail gets a keyword, or moves to a folder."""

    def __init__(
        self,
        url: MailURL,
        *,
        secret: str,
        auth: str = "password",
        ssl_context: ssl.SSLContext,
        processed_keyword: str = "$FollowupDone",
        processed_folder: str | None = None,
        batch: int = 50,
        poll_s: float = 60.0,
        idle_renew_s: float = 25 * 60.0,
        heartbeat_s: float = 4.0,
        timeout_s: float = 30.0,
        tokens: TokenSource | None = None,
    ) -> None:
        self.url = url
        self.name = url.redacted()
        self._secret = secret
        self._auth = auth
        # xoauth2: the bearer token, renewed by its source; a fixed one when the settings give only that
        self._tokens = tokens or StaticToken(secret)
        self._ssl = ssl_context
        self.keyword = processed_keyword
        self.folder = processed_folder
        self.batch = batch
        self.poll_s = poll_s
        self.idle_renew_s = idle_renew_s
        self.heartbeat_s = heartbeat_s
        self.timeout_s = timeout_s
        self._imap: aioimaplib.IMAP4 | None = None
        self._uidvalidity = 0
        self._last_uid = 0
        self._queue: list[int] = []
        # UIDs fetched and not yet marked: the fetch-ahead searches again before the batch being stored is
        # marked, and would read (and count as duplicates) every message of it once more
        self._handed_out: set[int] = set()
        self._full_scan_done = False
        self.supports_push = False

    # -- connection -----------------------------------------------------------------

    async def open(self, checkpoint: ReadPosition | None) -> None:
        try:
            await self._connect()
            await self._select(checkpoint)
        except _IMAP_ERRORS as exc:
            await self.close()
            raise InboxError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        except MailServerError:  # refused, no TLS, a token that cannot be renewed
            await self.close()
            raise

    async def _connect(self) -> None:
        url = self.url
        if url.implicit_tls:
            imap: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
                url.host, url.port, ssl_context=self._ssl, timeout=self.timeout_s
            )
        else:
            imap = aioimaplib.IMAP4(url.host, url.port, timeout=self.timeout_s)
        self._imap = imap
        # wake a waiting IDLE at once when the server goes away, not at renewal time
        queue = imap.protocol.idle_queue
        imap.protocol.conn_lost_cb = lambda _exc: queue.put_nowait(_LOST)
        await imap.wait_hello_from_server()
        if not url.implicit_tls:
            await self._starttls(imap)
        if self._auth == "xoauth2":
            response = await self._xoauth2(imap, await self._tokens.token())
            if response.result != "OK":
                # expired or revoked before its time: one more try with a renewed token
                log.info("%s refused the OAuth2 token (%s); renewing it", self.name, _text(response.lines))
                self._tokens.invalidate()
                response = await self._xoauth2(imap, await self._tokens.token())
        else:
            response = await imap.login(url.user or "", self._secret)
        if response.result != "OK":
            raise AuthenticationError(f"{self.name}: login refused: {_text(response.lines)}")
        await imap.protocol.capability()
        self.supports_push = imap.has_capability("IDLE")

    async def _xoauth2(self, imap: aioimaplib.IMAP4, token: str) -> aioimaplib.Response:
        """AUTHENTICATE XOAUTH2, answering the continuation a refused token brings.

        aioimaplib's own `xoauth2` never answers it, so a refused token (Dovecot, Gmail and Microsoft 365
        all send their error that way) hung until the command's timeout instead of failing at once.
        """
        protocol = imap.protocol
        sasl = base64.b64encode(f"user={self.url.user or ''}\1auth=Bearer {token}\1\1".encode()).decode("ascii")
        command = _SaslCommand(protocol, "AUTHENTICATE", protocol.new_tag(), "XOAUTH2", sasl,
                               loop=asyncio.get_running_loop())
        async with protocol.state_condition:
            response: aioimaplib.Response = await asyncio.wait_for(protocol.execute(command, scrub=sasl),
                                                                   self.timeout_s)
            if response.result == "OK":
                protocol.state = aioimaplib.AUTH
            protocol.state_condition.notify_all()
        return response

    async def _starttls(self, imap: aioimaplib.IMAP4) -> None:
        # aioimaplib has no STARTTLS: issue the command, then upgrade the transport
        if not imap.has_capability("STARTTLS"):
            if self.url.loopback:
                log.warning("IMAP on %s without TLS (loopback only)", self.name)
                return
            raise TLSRequiredError(f"{self.name}: server offers no STARTTLS; use imaps://")
        protocol = imap.protocol
        response = await protocol.execute(aioimaplib.Command("STARTTLS", protocol.new_tag()))
        if response.result != "OK":
            raise TLSRequiredError(f"{self.name}: STARTTLS refused: {_text(response.lines)}")
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(
            protocol.transport, protocol, self._ssl, server_hostname=self.url.host
        )
        protocol.transport = transport
        protocol.capabilities = set()
        await protocol.capability()

    async def _select(self, checkpoint: ReadPosition | None) -> None:
        imap = self._require()
        if self.folder is not None:
            # the folder processed mail moves to must exist; CREATE of an existing one just fails
            await imap.create(self.folder)
        response = await imap.select(self.url.path)
        if response.result != "OK":
            raise InboxError(f"{self.name}: cannot select {self.url.path}: {_text(response.lines)}")
        for line in response.lines:
            match = _UIDVALIDITY_RE.search(bytes(line))
            if match:
                self._uidvalidity = int(match.group(1))
        if checkpoint and checkpoint.uidvalidity == self._uidvalidity:
            self._last_uid = checkpoint.last_uid
        else:
            if checkpoint:
                log.warning("%s: UIDVALIDITY changed (%s -> %s): rescanning",
                            self.name, checkpoint.uidvalidity, self._uidvalidity)
            self._last_uid = 0
        self._queue = []
        self._handed_out.clear()  # not marked: read again in this new session
        self._full_scan_done = False

    def _require(self) -> aioimaplib.IMAP4:
        if self._imap is None:
            raise InboxError(f"{self.name}: not connected")
        return self._imap

    async def close(self) -> None:
        imap, self._imap = self._imap, None
        if imap is None:
            return
        try:
            if imap.has_pending_idle():
                imap.idle_done()
            await asyncio.wait_for(imap.logout(), 5)
        except (*_IMAP_ERRORS, AttributeError):
            pass  # the connection is going away anyway

    def checkpoint(self) -> ReadPosition | None:
        return ReadPosition(self._uidvalidity, self._last_uid) if self._uidvalidity else None

    # -- reading --------------------------------------------------------------------

    def _unprocessed_criteria(self) -> list[str]:
        # The first scan of a session looks at the whole folder, so that a message
        # committed but not yet flagged before a crash is seen (and deduplicated) again.
        criteria = [] if not self._full_scan_done else [f"UID {self._last_uid + 1}:*"]
        # the keyword is set in folder mode too, for servers without MOVE (COPY leaves the original)
        return [*criteria, "UNKEYWORD", self.keyword]

    async def _search(self) -> list[int]:
        imap = self._require()
        response = await imap.uid_search(*self._unprocessed_criteria(), charset=None)
        if response.result != "OK":
            raise InboxError(f"{self.name}: SEARCH failed: {_text(response.lines)}")
        uids: list[int] = []
        for line in response.lines:
            text = bytes(line).decode("ascii", "replace")
            if text.startswith("SEARCH") or text.startswith("* SEARCH"):
                uids += [int(x) for x in text.split()[1:] if x.isdigit()]
            elif text and all(part.isdigit() for part in text.split()):
                uids += [int(x) for x in text.split()]
        self._full_scan_done = True
        # `n:*` always matches the newest message, even below n
        return sorted(u for u in set(uids) if u not in self._queue and u not in self._handed_out)

    async def fetch_batch(self) -> list[RawMessage]:
        try:
            if not self._queue:
                self._queue = await self._search()
            if not self._queue:
                return []
            take, self._queue = self._queue[: self.batch], self._queue[self.batch :]
            imap = self._require()
            uid_set = ",".join(str(u) for u in take)
            response = await imap.uid("fetch", uid_set, "(UID INTERNALDATE BODY.PEEK[])")
        except _IMAP_ERRORS as exc:
            raise InboxError(f"{self.name}: fetch failed: {type(exc).__name__}: {exc}") from exc
        if response.result != "OK":
            raise InboxError(f"{self.name}: FETCH failed: {_text(response.lines)}")
        found = parse_fetch(response.lines)
        self._handed_out.update(uid for uid in take if uid in found)
        return [
            RawMessage(str(uid), found[uid][0], f"{self.name} uid {uid}", found[uid][1])
            for uid in take
            if uid in found  # expunged meanwhile by someone else
        ]

    async def mark_processed(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        imap = self._require()
        uid_set = ",".join(keys)
        try:
            if self.folder is None:
                response = await imap.uid("store", uid_set, "+FLAGS.SILENT", f"({self.keyword})")
            elif imap.has_capability("MOVE"):
                response = await imap.uid("move", uid_set, self.folder)
            else:
                response = await imap.uid("copy", uid_set, self.folder)
                if response.result == "OK":
                    response = await imap.uid("store", uid_set, "+FLAGS.SILENT", f"({self.keyword})")
        except _IMAP_ERRORS as exc:
            raise InboxError(f"{self.name}: marking failed: {type(exc).__name__}: {exc}") from exc
        if response.result != "OK":
            raise InboxError(f"{self.name}: marking {uid_set} failed: {_text(response.lines)}")
        self._last_uid = max(self._last_uid, *(int(k) for k in keys))
        self._handed_out.difference_update(int(k) for k in keys)

    async def wait(self, timeout_s: float) -> bool:
        """Until the server pushes news (IDLE) or `timeout_s` passes; True if there may be mail."""
        imap = self._require()
        try:
            if not self.supports_push:
                await asyncio.sleep(min(timeout_s, self.poll_s))
                await imap.noop()
                return True
            # IDLE in short spells: ending each one (DONE) is the heartbeat that finds a silent, dead server
            spell = min(timeout_s, self.idle_renew_s, self.heartbeat_s)
            idle = await imap.idle_start(timeout=spell)
            try:
                push = await imap.wait_server_push(timeout=spell + _DONE_TIMEOUT_S)
            except TimeoutError:
                push = []
            if push is _LOST or _says_bye(push):  # before DONE: a dead connection would never answer it
                raise InboxError(f"{self.name}: connection lost during IDLE")
            imap.idle_done()
            # a live server answers DONE at once: one that does not is gone (or half gone), and waiting
            # the whole command timeout kept the worker (and /healthz) on a dead connection for 30 s
            await asyncio.wait_for(idle, min(self.timeout_s, _DONE_TIMEOUT_S))
        except _IMAP_ERRORS as exc:
            raise InboxError(f"{self.name}: IDLE failed: {type(exc).__name__}: {exc}") from exc
        if push == aioimaplib.STOP_WAIT_SERVER_PUSH:  # renewal time, nothing new
            return False
        return any(b"EXISTS" in bytes(line) or b"RECENT" in bytes(line) for line in push)


class _SaslCommand(aioimaplib.Command):  # type: ignore[misc]
    """An AUTHENTICATE whose server challenge (a refusal's error, in XOAUTH2) gets the empty answer it awaits."""

    def __init__(self, protocol: aioimaplib.IMAP4ClientProtocol, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._protocol = protocol

    def flush(self) -> None:
        # aioimaplib calls this right after a continuation line is added to the command's response
        self._protocol.transport.write(b"\r\n")


def _says_bye(push: Any) -> bool:
    """Whether the server said BYE while we were idle (it is shutting down, or dropping us)."""
    return isinstance(push, list) and any(bytes(line).lstrip(b"* ").upper().startswith(b"BYE") for line in push)


def _text(lines: Sequence[Any]) -> str:
    return " ".join(bytes(x).decode("utf-8", "replace") for x in lines)[:300]
