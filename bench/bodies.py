"""Benchmark: oversized request bodies, and what they cost the server.

    python bench/bodies.py --megabytes 200
    python bench/bodies.py --megabytes 200 --cap-megabytes 1024   # as good as no cap

`smartcharge serve` on a fresh schema with the request body cap
(SMARTCHARGE_MAX_REQUEST_BODY_BYTES, 1 MiB by default). Then one `POST /api/auth/login`
body of `--megabytes` with a Content-Length, and one as chunked transfer without one,
each written on a socket until the server answers. Printed for each: the answer, the
bytes the server took before it, the time to the answer, and the server's peak memory
(VmHWM) afterwards.
"""

from __future__ import annotations

import argparse
import http.client
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from common import header
from harness import fresh_database, running_service

PIECE = b"[" + b" " * (64 * 1024 - 1)  # JSON that never ends


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pieces(megabytes: int, chunked: bool) -> Iterator[bytes]:
    for _ in range(megabytes * 16):
        yield f"{len(PIECE):x}\r\n".encode() + PIECE + b"\r\n" if chunked else PIECE
    if chunked:
        yield b"0\r\n\r\n"


def send(port: int, megabytes: int, chunked: bool) -> tuple[int, int, float]:
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {megabytes << 20}"
    head = (
        f"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\n{length}\r\n\r\n"
    )
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=600) as conn:
        conn.sendall(head.encode())
        sent = 0
        for piece in pieces(megabytes, chunked):
            if select.select([conn], [], [], 0)[0]:
                break  # answered: it reads no more
            try:
                conn.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        answer = http.client.HTTPResponse(conn)
        answer.begin()
        answer.read()
        return answer.status, sent, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--cap-megabytes", type=int, default=1)
    args = parser.parse_args()
    header("oversized bodies", megabytes=args.megabytes, cap_megabytes=args.cap_megabytes)
    cap = str(args.cap_megabytes << 20)
    with (
        fresh_database() as database,
        running_service(database, max_request_body_bytes=cap) as service,
    ):
        port = int(service.http.rsplit(":", 1)[1])
        pid = service.process.pid
        print(f"server peak memory at start: {peak_memory_mb(pid):.0f} MB")
        for chunked in (False, True):
            status, sent, seconds = send(port, args.megabytes, chunked)
            kind = "chunked" if chunked else "Content-Length"
            print(
                f"{kind}: {status} after {sent / (1 << 20):.1f} MB sent, {seconds:.2f} s; "
                f"server peak memory {peak_memory_mb(pid):.0f} MB"
            )


if __name__ == "__main__":
    main()
