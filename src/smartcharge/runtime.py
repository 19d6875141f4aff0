"""Composition root: builds the service, read models, API, OCPP gateway and scheduler."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Self
from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from fastapi import FastAPI
from limits.storage import Storage

from api.app import create_app
from api.context import ApiContext
from api.edge import EdgeSettings, origin_of
from api.ratelimit import LoginThrottle, ThrottleLimits
from api.sessions import SessionStore
from chargers.connection import GatewayContext
from chargers.gateway import Gateway, gateway_id_at
from chargers.throttle import CallLimits, CallRate, HandshakeLimits, HandshakeThrottle
from domain.passwords import bound_concurrent_hashes
from domain.service import Clock, SmartCharging
from projections.health import FollowerProbe, Health
from projections.mail_outbox import MailOutbox
from projections.mail_texts import MailTexts
from projections.mails import MailReactions
from projections.queries import ReadModelQueries
from projections.runner import ReadModelsRunner
from projections.tables import Tables
from scheduler.group_preview import RememberedAllowances, group_schedule
from scheduler.leader import LeaderLock, lock_key_for
from scheduler.service import ProfileScheduler
from smartcharge.database import Database, start_embedded
from smartcharge.limits_storage import PostgresLimitsStorage, limits_uri
from smartcharge.mail import Mailer, Mailing, MailSender, OutboxMailer, SmtpMailer
from smartcharge.settings import Settings

log = logging.getLogger(__name__)


def resolve_database(settings: Settings) -> Database:
    if settings.database_url:
        return Database.from_url(settings.database_url, schema=settings.database_schema)
    embedded = start_embedded(Path(settings.data_dir) / "postgres")
    return Database(
        embedded.dbname,
        embedded.host,
        embedded.port,
        embedded.user,
        embedded.password,
        schema=settings.database_schema,
    )


def make_mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_username,
            settings.smtp_password,
        )
    return OutboxMailer(settings.outbox_dir)


def make_mailing(
    settings: Settings, service: SmartCharging, datastore: PostgresDatastore, mailer: Mailer | None
) -> Mailing:
    """The mail follower and sender, not yet started; its tables are made by
    `outbox.create_table()`."""
    reactions = MailReactions(
        MailTexts(settings.public_base_url()),
        Tables(datastore.schema),
        lambda aggregate_id, version: service.repository.get(aggregate_id, version=version),
        service.invitation_validity.total_seconds() / 86400,
    )
    outbox = MailOutbox(datastore, reactions, service.recorder.max_notification_id)
    sender = MailSender(outbox, mailer or make_mailer(settings), settings.mail_sender)
    return Mailing(service, outbox, sender)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """TLS for wss:// when a certificate is configured (OCPP-J 1.6 §6.2)."""
    if settings.ocpp_tls_cert is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.ocpp_tls_cert, settings.ocpp_tls_key)
    return context


def make_gateway(
    settings: Settings,
    service: SmartCharging,
    queries: ReadModelQueries,
    handshake_storage: Storage | None = None,
) -> Gateway:
    """The OCPP gateway, not yet listening: `start()` it (serve, gateway commands).
    Failed handshakes are counted in `handshake_storage` (this process's memory if None).

    Its id is the configured one, else host name, port and process id: two processes on
    one port (the second fails to listen) never share one."""
    port = settings.ocpp_port or uuid.uuid4().hex[:8]  # any free port: a name of its own
    place = settings.gateway_id or f"{socket.gethostname()}:{port}"
    context = GatewayContext(
        service=service,
        queries=queries,
        gateway_id=settings.gateway_id or gateway_id_at(place),
        call_timeout=settings.ocpp_call_timeout,
        heartbeat_interval=settings.ocpp_heartbeat_interval,
        ping_interval=settings.ocpp_ping_interval,
        call_rate=CallRate(CallLimits(settings.ocpp_calls_per_minute, settings.ocpp_call_burst)),
    )
    handshakes = HandshakeThrottle(
        handshake_storage,
        HandshakeLimits(
            per_charger=settings.ocpp_failed_handshakes_per_charger,
            per_address=settings.ocpp_failed_handshakes_per_address,
            window_seconds=settings.ocpp_failed_handshake_window,
        ),
    )
    tls = tls_context(settings)
    return Gateway(context, settings.ocpp_host, settings.ocpp_port, tls, handshakes, place=place)


def edge_settings(settings: Settings) -> EdgeSettings:
    return EdgeSettings(
        max_body_bytes=settings.max_request_body_bytes,
        public_origin=origin_of(settings.public_url) if settings.public_url else "",
    )


def service_env(settings: Settings, database: Database) -> dict[str, str]:
    """The command service's settings: its database and the domain's own."""
    return {
        **database.eventsourcing_env(settings.database_pool_size),
        "PRIORITY_CHARGE_DEFAULT_MINUTES": str(settings.priority_charge_default_minutes),
        "INVITATION_VALID_DAYS": str(settings.invitation_valid_days),
    }


def open_service(settings: Settings) -> SmartCharging:
    """Only the command service, for a command that records and leaves (`operator add`):
    no read models, no threads."""
    return SmartCharging(env=service_env(settings, resolve_database(settings)))


def end_sessions(service: SmartCharging, user_id: UUID) -> None:
    """Log a user out everywhere from a command that opened only the service (`operator
    disable`): the sessions live in the read models' schema, beside the event store."""
    recorder = service.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)  # open_service's is
    datastore = recorder.datastore
    sessions = SessionStore(datastore, Tables(datastore.schema), timedelta(0))
    sessions.create_table()
    sessions.close_all(user_id)


def open_limits_storage(database: Database) -> PostgresLimitsStorage:
    """Where password guesses and failed charger handshakes are counted, shared by every
    process; its tables are made by `create_tables()`."""
    return PostgresLimitsStorage(limits_uri(database), schema=database.schema or "public")


def make_throttle(settings: Settings, storage: PostgresLimitsStorage) -> LoginThrottle:
    """The throttle of password guesses; also bounds this process's concurrent hashes."""
    bound_concurrent_hashes(settings.password_hash_concurrency)
    limits = ThrottleLimits(
        per_account_address=settings.login_attempts_per_account_address,
        per_address=settings.login_attempts_per_address,
        delay_after=settings.login_delay_after,
        max_delay=settings.login_delay_max_seconds,
    )
    return LoginThrottle(storage, limits)


class GatewayRuntime:
    """What `smartcharge gateway` runs: the command service, the read models the gateway
    reads, and the OCPP gateway. Building it starts no thread and makes no table."""

    def __init__(
        self, settings: Settings, database: Database | None = None, *, clock: Clock | None = None
    ):
        self.settings = settings
        self.database = database or resolve_database(settings)
        self.env = service_env(settings, self.database)
        self.service = SmartCharging(env=self.env, clock=clock)
        self.read_models = ReadModelsRunner(self.env)
        self.queries = ReadModelQueries(self.read_models.view)
        self.limits_storage = open_limits_storage(self.database)
        self.gateway = make_gateway(settings, self.service, self.queries, self.limits_storage)
        self._tables_made = False

    def _create_tables(self) -> None:
        self.limits_storage.create_tables()

    def create_tables(self) -> None:
        """The tables of this process's parts, where they are not yet (once per process)."""
        if not self._tables_made:
            self._create_tables()
            self._tables_made = True

    def start(self) -> Self:
        """Make the tables and keep the read models (every other part reads them)."""
        self.create_tables()
        self.read_models.start()
        return self

    def start_everything(self) -> Self:
        """Everything this process runs, in order; `close()` stops it in reverse."""
        self.start()
        self.gateway.start()  # PortInUse: another process listens there; nothing changed
        return self

    def close(self) -> None:
        self.gateway.stop()
        self.read_models.stop()
        self.limits_storage.close()
        self.service.close()


class Runtime(GatewayRuntime):
    """Everything one `smartcharge serve` process runs: the gateway's parts, and the API,
    mail and scheduler. `start_everything()` starts them in order, `close()` stops them."""

    def __init__(
        self,
        settings: Settings,
        database: Database | None = None,
        *,
        clock: Clock | None = None,
        mailer: Mailer | None = None,
    ):
        super().__init__(settings, database, clock=clock)
        view = self.read_models.view
        self.sessions = SessionStore(
            view.datastore, view.tables, timedelta(days=settings.session_days)
        )
        self.context = ApiContext(
            service=self.service,
            view=view,
            queries=self.queries,
            sessions=self.sessions,
            throttle=make_throttle(settings, self.limits_storage),
            read_your_writes_timeout=settings.read_your_writes_timeout,
            secure_cookies=settings.public_base_url().startswith("https://"),
        )
        self.context.schedule = lambda group_id, days: group_schedule(
            self.service, group_id, self.service.clock(), days
        )
        self.context.allowances = RememberedAllowances()
        self.mail = make_mailing(settings, self.service, view.datastore, mailer)
        self.context.gateway = self.gateway
        self.api = create_app(self.context, self._lifespan, edge_settings(settings))
        lock = LeaderLock(self.database.conninfo(), lock_key_for(self.database.schema))
        self.scheduler = ProfileScheduler(self.service, self.queries, lock)
        self.context.health_of = self._health()

    def _create_tables(self) -> None:
        super()._create_tables()
        self.sessions.create_table()
        self.mail.outbox.create_table()

    def _health(self) -> Health:
        """The followers this process runs, as /healthz reports them."""
        health = Health(self.read_models.view.faults, self.mail.outbox.failing)
        health.watch(FollowerProbe("read-models", lambda: self.read_models.follower))
        health.watch(FollowerProbe("mail", lambda: self.mail.follower))
        scheduler = self.scheduler
        health.watch(
            FollowerProbe(
                "scheduler",
                lambda: scheduler.follower if scheduler.is_leader.is_set() else None,
                lambda: "standby" if scheduler.running else "not started",
            )
        )
        gateway = self.gateway
        health.watch(
            FollowerProbe(
                "gateway",
                lambda: gateway.follower.follower if gateway.follower is not None else None,
            )
        )
        return health

    def start_everything(self) -> Self:
        """What `serve` and `demo` run, in this order: the tables and read models, the
        gateway (a busy port ends it here, before a part acts), the scheduler, the mail.
        The API's lifespan then finds its parts running and leaves them to `close()`."""
        super().start_everything()
        self.start_scheduler()
        self.start_mail()
        return self

    @asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        """An API served alone (tests; `serve` starts everything first) still has what it
        needs while it serves: the tables, the read models it reads, and the mails its
        events call for. What it started, it stops afterwards."""
        await asyncio.to_thread(self.create_tables)
        started = await asyncio.to_thread(self.read_models.start)
        mailing = await asyncio.to_thread(self.mail.start)
        try:
            yield
        finally:
            if mailing:
                await asyncio.to_thread(self.mail.stop)
            if started:
                await asyncio.to_thread(self.read_models.stop_following)

    def start_scheduler(self) -> ProfileScheduler:
        """Start competing for the scheduler's leadership (one leader per database)."""
        self.scheduler.start()
        return self.scheduler

    def start_mail(self) -> Mailing:
        """Turn new events into mails and send them (the API's lifespan does this too)."""
        self.create_tables()
        self.mail.start()
        return self.mail

    def close(self) -> None:
        self.mail.stop()
        self.scheduler.stop()
        super().close()
