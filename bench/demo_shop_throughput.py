"""Throughput of the demo shop: product pages per second from a concurrent keep-alive client.

The shop runs in its own process (as in a crawl); the client opens CONNECTIONS keep-alive connections and
fetches /p/bench-{i} pages round-robin, first cold (every page rendered once), then warm (served from cache),
then moves the clock a day, pre-renders (DemoShop.prerender) and fetches every page once more.
For a client that is not Python: bench/demo_shop_wrk.lua (wrk -t1 -c32 -d10s -s bench/demo_shop_wrk.lua URL).

    .venv/bin/python bench/demo_shop_throughput.py [--products 2000] [--connections 32] [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from datetime import timedelta
from multiprocessing.synchronize import Event

from promowatch.demo.scenarios import DEFAULT_START


def serve(products: int, port_queue: multiprocessing.Queue[int], stop: Event) -> None:
    from promowatch.demo.shop import DemoShop

    with DemoShop(DEFAULT_START + timedelta(days=3), bench_products=products) as shop:
        port_queue.put(shop.port)
        stop.wait()
        stop.clear()
        began = time.perf_counter()
        shop.set_clock(DEFAULT_START + timedelta(days=4))
        count = shop.prerender()
        elapsed = time.perf_counter() - began
        print(
            f"{'prerender (next day)':20} {count:6d} pages in {elapsed:6.2f} s = {count / elapsed:7.0f} pages/s"
        )
        port_queue.put(shop.port)
        stop.wait()


async def fetch_many(port: int, paths: list[str], connections: int) -> tuple[int, int]:
    """Fetch every path once over ``connections`` keep-alive connections; returns (responses, body bytes)."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    total = [0, 0]

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                path = queue.get_nowait()
                writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"{path}: {head[:40]!r}")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                body = await reader.readexactly(length)
                total[0] += 1
                total[1] += len(body)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return total[0], total[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()

    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.products, ports, stop), daemon=True)
    server.start()
    port = ports.get(timeout=30)
    try:
        cold = [f"/p/bench-{i}" for i in range(args.products)]
        warm = [f"/p/bench-{i % args.products}" for i in range(args.requests)]
        for label, paths in (("cold (render once)", cold), ("warm (cached)", warm)):
            began = time.perf_counter()
            count, size = asyncio.run(fetch_many(port, paths, args.connections))
            elapsed = time.perf_counter() - began
            print(
                f"{label:20} {count:6d} pages in {elapsed:6.2f} s = {count / elapsed:7.0f} pages/s, "
                f"{size / count / 1024:5.1f} KB/page, {size / elapsed / 1e6:6.1f} MB/s "
                f"({args.connections} keep-alive connections)"
            )
        stop.set()  # the server moves to the next day and pre-renders it
        while stop.is_set():
            time.sleep(0.01)
        ports.get(timeout=60)
        began = time.perf_counter()
        count, size = asyncio.run(fetch_many(port, cold, args.connections))
        elapsed = time.perf_counter() - began
        print(f"{'after prerender':20} {count:6d} pages in {elapsed:6.2f} s = {count / elapsed:7.0f} pages/s")
    finally:
        stop.set()
        server.join(timeout=10)


if __name__ == "__main__":
    main()
