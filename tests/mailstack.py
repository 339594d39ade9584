"""A real Postfix + Dovecot mail stack on 127.0.0.1 for tests, without systemd.

``start_mailstack()`` writes a private configuration under one root directory
(``/tmp/followup-mailstack-XXXX`` by default), starts Dovecot (IMAP, IMAPS,
LMTP, SASL auth for Postfix) and Postfix (SMTP, submission, SMTPS) on free
loopback ports, and waits until everything accepts connections::

    Postfix smtp / submission / smtps  --LMTP (unix socket)-->  Dovecot  -->  Maildir
    Dovecot imap (plain + STARTTLS) / imaps                      <--  IMAP clients

Users are ``<name>@example.test`` with password ``secret``.  Every recipient
that is not one of them (any domain) is rewritten to ``catchall@example.test``
and nothing is ever relayed off the machine.

Needs root and the Debian packages postfix, dovecot-imapd, dovecot-lmtpd and
openssl (this module never installs anything).  When they are missing
``MailstackUnavailable`` is raised so tests can skip; when they are present but
the stack does not come up, ``MailstackStartupError`` (a subclass) carries the
tail of the daemons' logs.

Standard library only.
"""

from __future__ import annotations

import atexit
import contextlib
import email
import email.policy
import grp
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "DEFAULT_USERS",
    "DOMAIN",
    "PASSWORD",
    "PORT_NAMES",
    "Mailstack",
    "MailstackStartupError",
    "MailstackUnavailable",
    "start_mailstack",
]

DOMAIN = "example.test"
PASSWORD = "secret"
DEFAULT_USERS: tuple[str, ...] = ("support", "owner", "alice", "bob", "catchall")
CATCHALL = "catchall"
PORT_NAMES: tuple[str, ...] = ("smtp", "submission", "smtps", "imap", "imaps")
VMAIL_USER = "vmail"

START_TIMEOUT_S = 15.0
STOP_GRACE_S = 1.5
_POLL_S = 0.02
# sun_path is 108 bytes including the NUL; keep room for "/auth-postfix" etc.
_MAX_SOCKET_DIR = 90
_USER_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin", "/bin")
_DOVECOT_LIBEXEC_DIRS = ("/usr/lib/dovecot", "/usr/libexec/dovecot", "/usr/local/libexec/dovecot")
_MAILDIR_NAME_RE = re.compile(r"^(\d+)\.M(\d+)P")


class MailstackUnavailable(RuntimeError):
    """The mail stack cannot run here (not root, packages missing, ...): skip."""


class MailstackStartupError(MailstackUnavailable):
    """The packages are there but the stack did not come up; message has log tails."""


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Layout:
    """Every path of one stack, derived from its root."""

    root: Path

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def dovecot_etc(self) -> Path:
        return self.etc / "dovecot"

    @property
    def dovecot_conf(self) -> Path:
        return self.dovecot_etc / "dovecot.conf"

    @property
    def dovecot_users(self) -> Path:
        return self.dovecot_etc / "users"

    @property
    def postfix_etc(self) -> Path:
        return self.etc / "postfix"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def dovecot_base(self) -> Path:
        return self.run / "dovecot"

    @property
    def dovecot_pidfile(self) -> Path:
        return self.dovecot_base / "master.pid"

    @property
    def lmtp_socket(self) -> Path:
        return self.dovecot_base / "lmtp"

    @property
    def auth_socket(self) -> Path:
        return self.dovecot_base / "auth-postfix"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def dovecot_state(self) -> Path:
        return self.state / "dovecot"

    @property
    def postfix_data(self) -> Path:
        return self.state / "postfix"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def postfix_queue(self) -> Path:
        return self.spool / "postfix"

    @property
    def postfix_pidfile(self) -> Path:
        return self.postfix_queue / "pid" / "master.pid"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def mail(self) -> Path:
        return self.root / "mail"

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def cert(self) -> Path:
        return self.tls / "cert.pem"

    @property
    def key(self) -> Path:
        return self.tls / "key.pem"


# --------------------------------------------------------------------------- processes


class _Stat(NamedTuple):
    state: str
    ppid: int
    session: int
    starttime: int


def _read_stat(pid: int) -> _Stat | None:
    """Fields of /proc/<pid>/stat, or None if the process does not exist (or is a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the comm field may contain spaces and parentheses: split after the last ')'
    fields = raw[raw.rfind(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # pid 1 here may never reap orphans: zombies count as gone
        return None
    return _Stat(fields[0], int(fields[1]), int(fields[3]), int(fields[19]))


@dataclass(frozen=True)
class _Proc:
    """A process identified by pid *and* start time, so pid reuse is harmless."""

    pid: int
    starttime: int

    def alive(self) -> bool:
        stat = _read_stat(self.pid)
        return stat is not None and stat.starttime == self.starttime

    def kill(self, sig: signal.Signals) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)


def _read_comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def _master_from_pidfile(pidfile: Path, comm: str) -> _Proc | None:
    """The live master named in pidfile, only if /proc/<pid>/comm matches."""
    try:
        text = pidfile.read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        return None
    pid = int(digits)
    stat = _read_stat(pid)
    if stat is None or _read_comm(pid) != comm:
        return None
    return _Proc(pid, stat.starttime)


def _members(masters: Iterable[_Proc]) -> list[_Proc]:
    """Live processes of these masters: their sessions plus their descendants.

    Both Postfix's and Dovecot's master are session leaders (setsid), and their
    children stay in that session even once orphaned by a dying master.
    """
    sessions = {m.pid for m in masters}
    if not sessions:
        return []
    procs: dict[int, _Stat] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _read_stat(int(entry))) is not None:
            procs[int(entry)] = stat
    children: dict[int, list[int]] = {}
    for pid, stat in procs.items():
        children.setdefault(stat.ppid, []).append(pid)
    found: set[int] = set()
    todo = [pid for pid, stat in procs.items() if stat.session in sessions]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return [_Proc(pid, procs[pid].starttime) for pid in sorted(found)]


def _terminate(pidfiles: Sequence[tuple[Path, str]]) -> None:
    """SIGTERM the masters named in pidfiles and wait until all their processes are gone.

    Whatever is left after STOP_GRACE_S gets SIGKILL: Dovecot's master sometimes
    waits 5 s for its log process when a login process was just starting.
    Pid files are removed afterwards.
    """
    masters = [m for path, comm in pidfiles if (m := _master_from_pidfile(path, comm))]
    for master in masters:
        master.kill(signal.SIGTERM)
    start = time.monotonic()
    killed = False
    while left := _members(masters):
        elapsed = time.monotonic() - start
        if elapsed >= STOP_GRACE_S and not killed:
            for proc in left:
                proc.kill(signal.SIGKILL)
            killed = True
        elif elapsed >= STOP_GRACE_S + 5:
            raise RuntimeError(f"mail stack processes survived SIGKILL: {[p.pid for p in left]}")
        time.sleep(_POLL_S)
    for path, _ in pidfiles:
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- helpers


def _free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (all bound at once, then released)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _listening_ports() -> set[int] | None:
    """TCP ports in LISTEN state on 127.0.0.1 or 0.0.0.0 (None if /proc/net/tcp is unreadable)."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    ports: set[int] = set()
    for line in lines:
        fields = line.split()
        addr, _, port = fields[1].partition(":")
        if fields[3] == "0A" and addr in ("0100007F", "00000000"):  # 0A: LISTEN
            ports.add(int(port, 16))
    return ports


def _tcp_accepts(port: int, listening: set[int] | None) -> bool:
    # The kernel accepts connections on a listening socket.  Looked up rather than
    # probed: a probe makes Dovecot start an imap-login process, and one still alive
    # when Dovecot is stopped makes its master start auth and then wait 5 s for it.
    if listening is not None:
        return port in listening
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _is_socket(path: Path) -> bool:
    # Not probed by connecting: each connection makes Dovecot spawn an lmtp/auth
    # process, and one still starting up when the stack is stopped delays the
    # shutdown by seconds.  Stale sockets are removed on stop, so existence is enough
    # (Dovecot binds and listens before it creates the next socket).
    try:
        return stat.S_ISSOCK(path.lstat().st_mode)
    except OSError:
        return False


def _search_path() -> str:
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join([d for d in dirs if d] + [d for d in _SBIN_DIRS if d not in dirs])


def _which(name: str) -> str | None:
    return shutil.which(name, path=_search_path())


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = _search_path()
    env["LC_ALL"] = "C"
    env.update(extra)
    return env


def _tail(path: Path, lines: int) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.write_text(text)
    path.chmod(mode)
    # trap: Postfix re-reads a "hot" main.cf (mtime within the last second) every
    # 300 ms until it cools down, in every postconf/daemon start: ~2 s per fresh stack
    past = time.time() - 60
    os.utime(path, (past, past))


def _mkdir(path: Path, mode: int = 0o755, owner: tuple[int, int] | None = None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)  # explicit: the caller's umask may be 077 (trap: vmail must traverse)
    if owner is not None:
        os.chown(path, *owner)


def _local_part(user: str) -> str:
    local, _, domain = user.partition("@")
    if domain and domain.lower() != DOMAIN:
        raise ValueError(f"{user!r}: mailboxes of this stack are all @{DOMAIN}")
    return local.lower()


def _maildir_key(name: str) -> tuple[int, int, str]:
    match = _MAILDIR_NAME_RE.match(name)
    if match is None:
        return (0, 0, name)
    return (int(match.group(1)), int(match.group(2)), name)


def _parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _run(argv: Sequence[str], what: str, env: Mapping[str, str], log: Path, timeout_s: float = 30) -> None:
    """Run a command with stdio detached (stdout/stderr appended to log)."""
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
            timeout=timeout_s,
            check=False,
        )
    if proc.returncode != 0:
        raise MailstackStartupError(f"{what} failed (exit {proc.returncode}):\n{_tail(log, 30)}")


# --------------------------------------------------------------------------- the stack


@dataclass(frozen=True)
class Mailstack:
    """A running (or stopped) stack; all state lives under root."""

    root: Path
    smtp_port: int
    submission_port: int
    smtps_port: int
    imap_port: int
    imaps_port: int
    ca_file: Path
    password: str = PASSWORD
    domain: str = DOMAIN
    users: tuple[str, ...] = field(default=DEFAULT_USERS)

    # ------------------------------------------------------------ addresses / paths

    @property
    def _layout(self) -> _Layout:
        return _Layout(self.root)

    @property
    def tls_files(self) -> tuple[Path, Path]:
        """The servers' certificate and key (self-signed for localhost and 127.0.0.1)."""
        return self._layout.cert, self._layout.key

    def address(self, user: str) -> str:
        """'support' -> 'support@example.test'."""
        return f"{_local_part(user)}@{self.domain}"

    def maildir(self, user: str) -> Path:
        """The user's Maildir (INBOX) on disk; it may not exist before the first delivery."""
        return self._layout.mail / self.domain / _local_part(user) / "Maildir"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts (only) this stack's certificate."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def log_tail(self, lines: int = 25) -> str:
        """The last lines of every log under root/log, for error messages."""
        parts = []
        for path in sorted(self._layout.log.glob("[dp]*")):  # dovecot.*, postfix.*
            text = _tail(path, lines)
            if text.strip():
                parts.append(f"--- {path} ---\n{text}")
        return "\n".join(parts)

    # ------------------------------------------------------------ mail on disk

    def _maildir_files(self, user: str) -> list[Path]:
        base = self.maildir(user)
        files: list[Path] = []
        for sub in ("new", "cur"):
            try:
                names = os.listdir(base / sub)
            except FileNotFoundError:
                continue
            files.extend(base / sub / n for n in names if not n.startswith("."))
        files.sort(key=lambda p: _maildir_key(p.name))
        return files

    def _read_messages(self, user: str, cache: dict[str, EmailMessage]) -> list[EmailMessage]:
        """Parse the Maildir's messages (cached by unique name), retrying on races.

        An IMAP session may move a file from new/ to cur/ (renaming its flags part)
        while we list or read: such a pass is repeated, a few times at most.
        """
        for _ in range(5):
            result: dict[str, EmailMessage] = {}
            complete = True
            for path in self._maildir_files(user):
                key = path.name.split(":", 1)[0]  # the part that never changes
                if key in result:
                    continue  # listed in new/ and again in cur/
                msg = cache.get(key)
                if msg is None:
                    try:
                        data = path.read_bytes()
                    except FileNotFoundError:  # moved to cur/ (or expunged) meanwhile
                        complete = False
                        continue
                    msg = cache[key] = _parse(data)
                result[key] = msg
            if complete:
                break
        return list(result.values())

    def messages(self, user: str) -> list[EmailMessage]:
        """Every message now in the user's INBOX Maildir (new/ and cur/), oldest first."""
        return self._read_messages(user, {})

    def wait_for_message(
        self,
        user: str,
        predicate: Callable[[EmailMessage], bool],
        timeout_s: float = 10,
    ) -> EmailMessage:
        """Poll the user's Maildir until a message satisfies predicate; return it."""
        cache: dict[str, EmailMessage] = {}
        deadline = time.monotonic() + timeout_s
        while True:
            seen = self._read_messages(user, cache)
            for msg in seen:
                if predicate(msg):
                    return msg
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL_S)
        subjects = [str(m.get("Subject", "")) for m in seen]
        raise TimeoutError(
            f"no matching message for {self.address(user)} within {timeout_s:g} s "
            f"in {self.maildir(user)}; {len(seen)} message(s) there, subjects: {subjects!r}\n"
            f"{self.log_tail(15)}"
        )

    # ------------------------------------------------------------ sending

    def send(
        self,
        msg: EmailMessage | bytes,
        *,
        mail_from: str,
        rcpt_to: list[str],
    ) -> None:
        """Hand a message to Postfix on smtp_port (no TLS, no auth) and check acceptance."""
        # local_hostname: smtplib's default socket.getfqdn() may block on DNS
        with smtplib.SMTP("127.0.0.1", self.smtp_port, local_hostname="localhost", timeout=15) as smtp:
            if isinstance(msg, bytes):
                refused = smtp.sendmail(mail_from, rcpt_to, msg)
            else:
                refused = smtp.send_message(msg, from_addr=mail_from, to_addrs=rcpt_to)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    # ------------------------------------------------------------ processes

    def pids(self) -> list[int]:
        """Live processes of this stack: both masters and all their children."""
        lay = self._layout
        masters = [
            m
            for m in (
                _master_from_pidfile(lay.dovecot_pidfile, "dovecot"),
                _master_from_pidfile(lay.postfix_pidfile, "master"),
            )
            if m is not None
        ]
        return [p.pid for p in _members(masters)]

    def dovecot_running(self) -> bool:
        return _master_from_pidfile(self._layout.dovecot_pidfile, "dovecot") is not None

    def postfix_running(self) -> bool:
        return _master_from_pidfile(self._layout.postfix_pidfile, "master") is not None

    def stop(self, *, remove_root: bool = False) -> None:
        """Stop Dovecot and Postfix (in parallel) and wait until all their processes are gone.

        remove_root: also delete root (mail, logs, config).  Safe to call repeatedly.
        """
        lay = self._layout
        _terminate([(lay.dovecot_pidfile, "dovecot"), (lay.postfix_pidfile, "master")])
        self._remove_dovecot_sockets()
        atexit.unregister(self.stop)
        if remove_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def stop_dovecot(self) -> None:
        """Stop only Dovecot (IMAP, LMTP and SASL go away; Postfix queues mail)."""
        _terminate([(self._layout.dovecot_pidfile, "dovecot")])
        self._remove_dovecot_sockets()

    def _remove_dovecot_sockets(self) -> None:
        lay = self._layout
        for path in (lay.lmtp_socket, lay.auth_socket):
            path.unlink(missing_ok=True)

    def start_dovecot(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """(Re)start Dovecot with the same config and ports; wait until it serves."""
        if not self.dovecot_running():
            self._spawn_dovecot()
        self._wait_ready(timeout_s, postfix=False)

    def _spawn_dovecot(self) -> None:
        lay = self._layout
        # trap: dovecot's master keeps the caller's stdio open; never give it a pipe
        _run(
            [_require("dovecot"), "-c", str(lay.dovecot_conf)],
            "dovecot start",
            _env(),
            lay.log / "dovecot.stderr",
        )

    def _spawn_postfix(self) -> None:
        lay = self._layout
        postfix = _require("postfix")
        env = _env(MAIL_CONFIG=str(lay.postfix_etc))
        log = lay.log / "postfix.stderr"
        cfg = ["-c", str(lay.postfix_etc)]
        _run([postfix, *cfg, "post-install", "create-missing"], "postfix post-install", env, log)
        _run([postfix, *cfg, "check"], "postfix check", env, log)
        # `postfix start` would repeat both checks (another ~0.3 s) unless told not to
        (lay.postfix_queue / "quick-start").touch()
        _run([postfix, *cfg, "start"], "postfix start", env, log)

    def _wait_ready(self, timeout_s: float, *, postfix: bool = True, dovecot: bool = True) -> None:
        lay = self._layout
        ports: list[int] = []
        sockets: list[Path] = []
        if dovecot:
            ports += [self.imap_port, self.imaps_port]
            sockets += [lay.lmtp_socket, lay.auth_socket]
        if postfix:
            ports += [self.smtp_port, self.submission_port, self.smtps_port]
        deadline = time.monotonic() + timeout_s
        while True:
            listening = _listening_ports()
            ports = [p for p in ports if not _tcp_accepts(p, listening)]
            sockets = [s for s in sockets if not _is_socket(s)]
            if not ports and not sockets:
                return
            dead = [
                name
                for name, wanted, running in (
                    ("dovecot", dovecot, self.dovecot_running),
                    ("postfix", postfix, self.postfix_running),
                )
                if wanted and not running()
            ]
            if dead or time.monotonic() >= deadline:
                why = f"{' and '.join(dead)} not running" if dead else f"not ready after {timeout_s:g} s"
                raise MailstackStartupError(
                    f"mail stack in {self.root}: {why}; waiting for ports {ports} "
                    f"and sockets {[str(s) for s in sockets]}\n{self.log_tail()}"
                )
            time.sleep(_POLL_S)


# --------------------------------------------------------------------------- setup


def _require(binary: str) -> str:
    path = _which(binary)
    if path is None:
        raise MailstackUnavailable(
            f"{binary!r} not found in {_search_path()} (apt-get install postfix dovecot-imapd dovecot-lmtpd openssl)"
        )
    return path


def _check_prerequisites() -> None:
    if os.geteuid() != 0:
        raise MailstackUnavailable(
            "the Postfix/Dovecot mail stack needs root (Postfix and Dovecot drop privileges themselves)"
        )
    for binary in ("postfix", "postconf", "dovecot", "openssl", "useradd"):
        _require(binary)
    libexec = [Path(d) for d in _DOVECOT_LIBEXEC_DIRS if Path(d).is_dir()]
    for helper, package in (("imap", "dovecot-imapd"), ("lmtp", "dovecot-lmtpd")):
        if libexec and not any((d / helper).exists() for d in libexec):
            raise MailstackUnavailable(
                f"dovecot {helper} server not found in {libexec} ({package} not installed?)"
            )
    for user in ("postfix", "dovecot", "dovenull"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            raise MailstackUnavailable(
                f"system user {user!r} missing (postfix/dovecot packages not installed?)"
            ) from None
    try:
        grp.getgrnam("postdrop")
    except KeyError:
        raise MailstackUnavailable("group 'postdrop' missing (postfix package not installed?)") from None


def _ensure_vmail() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(VMAIL_USER)
    except KeyError:
        subprocess.run(
            [
                _require("useradd"),
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                VMAIL_USER,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        try:  # another process may have created it concurrently: look again
            entry = pwd.getpwnam(VMAIL_USER)
        except KeyError:
            raise MailstackUnavailable(f"could not create the {VMAIL_USER!r} system user") from None
    return entry.pw_uid, entry.pw_gid


def _make_cert(lay: _Layout) -> None:
    if lay.cert.exists() and lay.key.exists():
        return
    _run(
        [
            _require("openssl"),
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "3650",
            "-sha256",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(lay.key),
            "-out",
            str(lay.cert),
        ],
        "openssl req",
        _env(),
        lay.log / "openssl.log",
    )
    lay.key.chmod(0o600)
    lay.cert.chmod(0o644)


def _instance_name(root: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", root.name)
    return name if name.startswith("followup-") else f"followup-{name}"


def _dovecot_conf(lay: _Layout, ports: Mapping[str, int], vmail_uid: int, fast: bool,
                  oauth2_introspection_url: str | None = None) -> str:
    dh = Path("/usr/share/dovecot/dh.pem")
    lines = [
        "# generated by tests/mailstack.py",
        "protocols = imap lmtp",
        "listen = 127.0.0.1",
        # care+tag@ goes to care's INBOX (signed reply addresses use the tag)
        "recipient_delimiter = +",
        f"base_dir = {lay.dovecot_base}",
        f"state_dir = {lay.dovecot_state}",
        f"instance_name = {_instance_name(lay.root)}",
        f"log_path = {lay.log / 'dovecot.log'}",
        # no stats process: otherwise children still starting up at shutdown wait
        # 5 s for its handshake, and stop() takes 6 s instead of a fraction
        "stats_writer_socket_path =",
        f"first_valid_uid = {vmail_uid}",
        "mail_location = maildir:~/Maildir",
        f"mail_uid = {VMAIL_USER}",
        f"mail_gid = {VMAIL_USER}",
        "mail_max_userip_connections = 100",
        "login_trusted_networks = 127.0.0.0/8",  # also: no auth penalty for failed logins from loopback
        "ssl = yes",
        f"ssl_cert = <{lay.cert}",
        f"ssl_key = <{lay.key}",
        *([f"ssl_dh = <{dh}"] if dh.exists() else []),
        "ssl_min_protocol = TLSv1.2",
        "disable_plaintext_auth = no",
        "auth_mechanisms = plain login" + (" xoauth2 oauthbearer" if oauth2_introspection_url else ""),
        f"auth_default_realm = {DOMAIN}",
        *([
            # bearer tokens are checked by asking the test's OAuth2 provider (tests/oauth_provider.py)
            "passdb {",
            "  driver = oauth2",
            "  mechanisms = xoauth2 oauthbearer",
            f"  args = {lay.dovecot_etc / 'dovecot-oauth2.conf.ext'}",
            "}",
        ] if oauth2_introspection_url else []),
        "passdb {",
        "  driver = passwd-file",
        *(["  mechanisms = plain login"] if oauth2_introspection_url else []),
        f"  args = scheme=PLAIN username_format=%u {lay.dovecot_users}",
        "}",
        "userdb {",
        "  driver = passwd-file",
        f"  args = username_format=%u {lay.dovecot_users}",
        f"  default_fields = uid={VMAIL_USER} gid={VMAIL_USER} home={lay.mail}/%d/%n",
        "}",
        "namespace inbox {",
        "  inbox = yes",
        "  separator = /",
        "}",
        "service imap-login {",
        "  inet_listener imap {",
        "    address = 127.0.0.1",
        f"    port = {ports['imap']}",
        "  }",
        "  inet_listener imaps {",
        "    address = 127.0.0.1",
        f"    port = {ports['imaps']}",
        "    ssl = yes",
        "  }",
        "}",
        "service lmtp {",
        "  unix_listener lmtp {",
        "    mode = 0666",
        "  }",
        "}",
        # no auth penalty (2, 4, 8, 15 s per login from an IP after failed ones):
        # Postfix's SASL logins carry the client IP and are not exempt like
        # login_trusted_networks, so one wrong-password test would slow down the rest
        "service anvil {",
        "  unix_listener anvil-auth-penalty {",
        "    mode = 0",
        "  }",
        "}",
        "service auth {",
        "  unix_listener auth-postfix {",
        "    mode = 0660",
        "    user = postfix",
        "    group = postfix",
        "  }",
        "}",
        "protocol lmtp {",
        f"  postmaster_address = postmaster@{DOMAIN}",
        "}",
    ]
    if fast:
        lines += [
            "mail_fsync = never",
            "maildir_very_dirty_syncs = yes",
            "auth_failure_delay = 0",  # wrong-password tests answer at once, not after 2 s
        ]
    return "\n".join(lines) + "\n"


def _postfix_compatibility_level() -> str:
    """'3.6' where Postfix knows it (3.6 and later), else '2'."""
    out = subprocess.run(
        [_require("postconf"), "-dh", "mail_version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    match = re.match(r"(\d+)\.(\d+)", out.strip())
    return "3.6" if match and (int(match.group(1)), int(match.group(2))) >= (3, 6) else "2"


def _postfix_main_cf(lay: _Layout, fast: bool) -> str:
    error = "error:outbound mail disabled in the followup test stack"
    lines = [
        "# generated by tests/mailstack.py",
        f"compatibility_level = {_postfix_compatibility_level()}",
        f"queue_directory = {lay.postfix_queue}",
        f"data_directory = {lay.postfix_data}",
        "mail_owner = postfix",
        "setgid_group = postdrop",
        f"myhostname = mail.{DOMAIN}",
        f"mydomain = {DOMAIN}",
        "myorigin = $mydomain",
        "mydestination =",
        "local_recipient_maps =",
        "alias_maps =",
        "alias_database =",
        "append_dot_mydomain = no",
        "inet_interfaces = 127.0.0.1",
        "inet_protocols = ipv4",
        "mynetworks = 127.0.0.0/8",
        "relayhost =",
        # nothing ever leaves the machine
        f"default_transport = {error}",
        f"relay_transport = {error}",
        f"local_transport = {error}",
        f"virtual_mailbox_domains = {DOMAIN}",
        "recipient_delimiter = +",
        f"virtual_mailbox_maps = texthash:{lay.postfix_etc / 'vmailbox'}",
        f"virtual_alias_maps = regexp:{lay.postfix_etc / 'virtual_alias.regexp'}",
        # must be empty: the default ($virtual_alias_maps) makes the catch-all regexp
        # claim the domain as an alias domain -> "User unknown in virtual alias table"
        "virtual_alias_domains =",
        f"virtual_transport = lmtp:unix:{lay.lmtp_socket}",
        # no syslog: log to a file, which must be under an allowed prefix
        f"maillog_file_prefixes = /var, /dev/stdout, {lay.log}",
        f"maillog_file = {lay.log / 'postfix.log'}",
        "smtpd_banner = $myhostname ESMTP followup-test",
        "smtpd_peername_lookup = no",
        "biff = no",
        "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
        f"smtpd_tls_cert_file = {lay.cert}",
        f"smtpd_tls_key_file = {lay.key}",
        "smtpd_tls_security_level = may",
        "smtpd_tls_auth_only = no",
        "smtpd_sasl_type = dovecot",
        f"smtpd_sasl_path = {lay.auth_socket}",
        "smtpd_sasl_auth_enable = no",
    ]
    if fast:
        lines += [
            # retry deferred mail (e.g. while Dovecot is stopped) within seconds, not minutes
            "queue_run_delay = 1s",
            "minimal_backoff_time = 1s",
            "maximal_backoff_time = 2s",
            "transport_retry_time = 1s",
            "smtpd_error_sleep_time = 0s",
            # an smtpd that dies at start (its SASL socket gone with Dovecot) makes the master throttle the
            # service for service_throttle_time (60 s): submission would hang that long after Dovecot is back
            "service_throttle_time = 1s",
            "in_flow_delay = 0s",
        ]
    return "\n".join(lines) + "\n"


def _postfix_master_cf(ports: Mapping[str, int]) -> str:
    auth = [
        "  -o smtpd_sasl_auth_enable=yes",
        "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject",
    ]
    # column 5 (chroot) is "n" everywhere: the chroot jail would lack our paths
    services = [
        "# generated by tests/mailstack.py (no chroot anywhere)",
        f"{ports['smtp']} inet n - n - - smtpd",
        f"{ports['submission']} inet n - n - - smtpd",
        "  -o syslog_name=postfix/submission",
        "  -o smtpd_tls_security_level=encrypt",
        "  -o smtpd_tls_auth_only=yes",
        *auth,
        f"{ports['smtps']} inet n - n - - smtpd",
        "  -o syslog_name=postfix/smtps",
        "  -o smtpd_tls_wrappermode=yes",
        *auth,
        "pickup unix n - n 60 1 pickup",
        "cleanup unix n - n - 0 cleanup",
        "qmgr unix n - n 300 1 qmgr",
        "tlsmgr unix - - n 1000? 1 tlsmgr",
        "rewrite unix - - n - - trivial-rewrite",
        "bounce unix - - n - 0 bounce",
        "defer unix - - n - 0 bounce",
        "trace unix - - n - 0 bounce",
        "verify unix - - n - 1 verify",
        "flush unix n - n 1000? 0 flush",
        "proxymap unix - - n - - proxymap",
        "proxywrite unix - - n - 1 proxymap",
        "smtp unix - - n - - smtp",
        "relay unix - - n - - smtp",
        "showq unix n - n - - showq",
        "error unix - - n - - error",
        "retry unix - - n - - error",
        "discard unix - - n - - discard",
        "lmtp unix - - n - - lmtp",
        "anvil unix - - n - 1 anvil",
        "scache unix - - n - 1 scache",
        "postlog unix-dgram n - n - 1 postlogd",
    ]
    return "\n".join(services) + "\n"


def _write_config(
    lay: _Layout, ports: Mapping[str, int], users: Sequence[str], vmail: tuple[int, int], fast: bool,
    oauth2_introspection_url: str | None = None,
) -> None:
    for path in (
        lay.root,
        lay.etc,
        lay.dovecot_etc,
        lay.postfix_etc,
        lay.run,
        lay.state,
        lay.dovecot_state,
        lay.spool,
        lay.postfix_queue,
        lay.log,
        lay.tls,
    ):
        _mkdir(path)
    _mkdir(lay.mail, owner=vmail)
    _make_cert(lay)

    dovecot_gid = grp.getgrnam("dovecot").gr_gid
    _write(lay.dovecot_users, "".join(f"{u}@{DOMAIN}:{{PLAIN}}{PASSWORD}::::::\n" for u in users), 0o640)
    os.chown(lay.dovecot_users, 0, dovecot_gid)
    _write(lay.dovecot_conf, _dovecot_conf(lay, ports, vmail[0], fast, oauth2_introspection_url))
    if oauth2_introspection_url:
        _write(lay.dovecot_etc / "dovecot-oauth2.conf.ext", "\n".join([
            "introspection_mode = post",
            f"introspection_url = {oauth2_introspection_url}",
            "force_introspection = yes",
            "username_attribute = username",
            "active_attribute = active",
            "active_value = true",
        ]) + "\n")

    _write(lay.postfix_etc / "vmailbox", "".join(f"{u}@{DOMAIN} OK\n" for u in users))
    known = "|".join(re.escape(u) for u in users)
    _write(
        lay.postfix_etc / "virtual_alias.regexp",
        f"# every recipient that is not a known mailbox ends up in {CATCHALL}@{DOMAIN}\n"
        f"if !/^({known})(\\+[^@]*)?@{re.escape(DOMAIN)}$/\n"
        f"/.*/ {CATCHALL}@{DOMAIN}\n"
        "endif\n",
    )
    _write(lay.postfix_etc / "main.cf", _postfix_main_cf(lay, fast))
    _write(lay.postfix_etc / "master.cf", _postfix_master_cf(ports))


def start_mailstack(
    root: Path | None = None,
    *,
    users: Sequence[str] = DEFAULT_USERS,
    fast: bool = True,
    ports: Mapping[str, int] | None = None,
    timeout_s: float = START_TIMEOUT_S,
    oauth2_introspection_url: str | None = None,
) -> Mailstack:
    """Configure and start Postfix + Dovecot under root; return once all ports serve.

    users: local parts of the mailboxes (``catchall`` is always added).
    fast: no fsync in Dovecot, failed logins answered after ~0.5 s instead of 2 s,
        Postfix retries deferred mail (e.g. while Dovecot is stopped) after ~1 s.
    ports: override some of PORT_NAMES (the rest are picked free on 127.0.0.1).
    oauth2_introspection_url: also accept XOAUTH2/OAUTHBEARER (IMAP, and SMTP through Dovecot's SASL),
        each token checked at this RFC 7662 introspection endpoint.
    Raises MailstackUnavailable (cannot run here) or MailstackStartupError (did not
    come up; whatever started is stopped again).
    """
    _check_prerequisites()
    names: list[str] = []
    for user in (*users, CATCHALL):
        local = _local_part(user)
        if not _USER_RE.match(local):
            raise ValueError(f"invalid user name {user!r}")
        if local not in names:
            names.append(local)
    overrides = dict(ports or {})
    unknown = set(overrides) - set(PORT_NAMES)
    if unknown:
        raise ValueError(f"unknown port names {sorted(unknown)}; expected some of {PORT_NAMES}")
    picked = iter(_free_ports(len(PORT_NAMES) - len(overrides)))
    port_map = {name: overrides[name] if name in overrides else next(picked) for name in PORT_NAMES}

    if root is None:
        root = Path(tempfile.mkdtemp(prefix="followup-mailstack-", dir="/tmp"))
    root = root.resolve()
    lay = _Layout(root)
    if len(str(lay.dovecot_base)) > _MAX_SOCKET_DIR:
        raise ValueError(f"root {root} is too long for unix socket paths; use a shorter one")
    for parent in root.parents:
        # Dovecot delivers as vmail: a closed parent (pytest's tmp_path, /root) would
        # only show up later as mail deferred with "Permission denied"
        if parent.exists() and not parent.stat().st_mode & stat.S_IXOTH:
            raise ValueError(f"root {root}: {parent} is not traversable by others (the vmail user); use /tmp")

    stack = Mailstack(
        root=root,
        smtp_port=port_map["smtp"],
        submission_port=port_map["submission"],
        smtps_port=port_map["smtps"],
        imap_port=port_map["imap"],
        imaps_port=port_map["imaps"],
        ca_file=lay.cert,
        users=tuple(names),
    )
    # daemons left over from an earlier run in the same root (found by pid file)
    stack.stop()
    atexit.register(stack.stop)
    try:
        _write_config(lay, port_map, names, _ensure_vmail(), fast, oauth2_introspection_url)
        stack._spawn_dovecot()
        stack._spawn_postfix()
        stack._wait_ready(timeout_s)
    except (OSError, subprocess.SubprocessError) as exc:
        stack.stop()
        raise MailstackStartupError(f"mail stack setup in {root} failed: {exc}\n{stack.log_tail()}") from exc
    except BaseException:
        stack.stop()
        raise
    return stack
