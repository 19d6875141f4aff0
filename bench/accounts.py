"""Benchmark 8: a storm of invitation answers, and what it costs everybody else.

    python bench/accounts.py --requests 120 --concurrency 16

`smartcharge serve` on a fresh schema; then `--requests` answers to made-up invitation
links (`POST /api/invitations/{token}/accept` with a good password), `--concurrency` at a
time, while one client keeps asking `GET /api/auth/me` as a logged-in user. Then the same
storm with real invitations (each answer hashes once). Printed: the storm's and the
bystander's latencies, and the server's peak memory (VmHWM) after each storm.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import httpx
from common import header, percentiles
from harness import fresh_database, running_service

from domain.actors import SYSTEM
from domain.service import SmartCharging

PASSWORD = "a-good-long-password-1"


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def storm(base: str, tokens: list[str], concurrency: int) -> list[float]:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:

        async def one(token: str) -> float:
            async with gate:
                started = time.perf_counter()
                await client.post(f"/api/invitations/{token}/accept", json={"password": PASSWORD})
                return (time.perf_counter() - started) * 1000

        return list(await asyncio.gather(*(one(token) for token in tokens)))


async def bystander(base: str, token: str, stop: asyncio.Event) -> list[float]:
    samples = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=120, headers=headers) as client:
        while not stop.is_set():
            started = time.perf_counter()
            await client.get("/api/auth/me")
            samples.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.02)
    return samples


async def measured(base: str, tokens: list[str], concurrency: int, session: str) -> None:
    stop = asyncio.Event()
    watcher = asyncio.create_task(bystander(base, session, stop))
    started = time.perf_counter()
    answers = await storm(base, tokens, concurrency)
    elapsed = time.perf_counter() - started
    stop.set()
    print(f"  storm: {elapsed:.1f} s, {percentiles(answers)}")
    print(f"  GET /api/auth/me meanwhile: {percentiles(await watcher)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=120)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    header("invitation storm", requests=args.requests, concurrency=args.concurrency)
    with fresh_database() as database, running_service(database) as service:
        app = SmartCharging(env=database.eventsourcing_env(4))
        _, bystander_token = app.accounts.invite_home_user("bystander@bench.example", SYSTEM)
        app.accounts.accept_invitation(bystander_token, PASSWORD)
        real = [
            app.accounts.invite_home_user(f"u{n}@bench.example", SYSTEM)[1]
            for n in range(args.requests)
        ]
        app.close()
        session = httpx.post(
            f"{service.http}/api/auth/login",
            json={"email": "bystander@bench.example", "password": PASSWORD},
        ).json()["token"]
        print(f"server peak memory at start: {peak_memory_mb(service.process.pid):.0f} MB")
        made_up = [f"made-up-token-{n:05d}-{'x' * 24}" for n in range(args.requests)]
        print("made-up tokens:")
        asyncio.run(measured(service.http, made_up, args.concurrency, session))
        print(f"  server peak memory: {peak_memory_mb(service.process.pid):.0f} MB")
        print("real invitations (one hash each):")
        asyncio.run(measured(service.http, real, args.concurrency, session))
        print(f"  server peak memory: {peak_memory_mb(service.process.pid):.0f} MB")


if __name__ == "__main__":
    main()
