#!/usr/bin/env python3
"""make bench's Python lines: W1-W4 run by valkey-py and by GLIDE Python (asyncio), each in a
process of its own, so its CPU time is its own (GLIDE Python's Rust threads included).

Usage: workloads_python.py valkey|glide W1|W2|W3|W4 HOST PORT [TASKS]

Prints "ops/s cpu-seconds-per-100k". The shapes are glide-benchmark's, with fewer requests (these
clients are 10-40x slower, and a rate doesn't need the same count):
  W1  sequential GETs of a 3-byte value, one caller
  W2  200 tasks (or TASKS; 10,000 requests below 50), mixed GET/SET of 16 B, one client (valkey-py: a
      pool of as many connections, as it has no multiplexing)
  W3  batches of 1,000 SETs: non-atomic pipelines (valkey-py) or Batch(is_atomic=False) (GLIDE)
  W4  SET then GET of 1 MiB, one caller
"""
import asyncio
import os
import sys
import time

COUNTS = {"W1": 20_000, "W2": 50_000, "W3": 20, "W4": 400}


async def valkey_client(host, port, tasks):
    import valkey.asyncio as valkey
    client = valkey.Valkey(host=host, port=port, max_connections=max(256, tasks))

    async def get(key):
        return await client.get(key)

    async def set_(key, value):
        return await client.set(key, value)

    async def pipeline(pairs):
        pipe = client.pipeline(transaction=False)
        for key, value in pairs:
            pipe.set(key, value)
        return await pipe.execute()

    return get, set_, pipeline, client.aclose


async def glide_client(host, port, tasks):
    from glide import Batch, GlideClient, GlideClientConfiguration, NodeAddress
    client = await GlideClient.create(GlideClientConfiguration([NodeAddress(host, port)], request_timeout=10000))

    async def pipeline(pairs):
        batch = Batch(is_atomic=False)
        for key, value in pairs:
            batch.set(key, value)
        return await client.exec(batch, raise_on_error=True)

    return client.get, client.set, pipeline, client.close


async def run(library, workload, host, port, tasks=200):
    get, set_, pipeline, close = await (valkey_client if library == "valkey" else glide_client)(host, port, tasks)
    n = COUNTS[workload] if tasks >= 50 else 10_000
    if workload == "W1":
        await set_("key:__rand_int__", "xxx")
    elif workload == "W2":
        await set_("key:__rand_int__", "x" * 16)
    big = b"x" * 1_048_576
    start, cpu = time.monotonic(), os.times()
    if workload == "W1":
        for _ in range(n):
            await get("key:__rand_int__")
        operations = n
    elif workload == "W2":
        value = "x" * 16

        async def worker(task):
            for index in range(n // tasks):
                if (task + index) % 2:
                    await get("key:__rand_int__")
                else:
                    await set_("key:__rand_int__", value)
        await asyncio.gather(*(worker(task) for task in range(tasks)))
        operations = n // tasks * tasks
    elif workload == "W3":
        pairs = [(f"key:{index}", "xxx") for index in range(1000)]
        for _ in range(n):
            await pipeline(pairs)
        operations = n * 1000
    else:
        for _ in range(n // 2):
            await set_("key:big", big)
            await get("key:big")
        operations = n // 2 * 2
    elapsed, after = time.monotonic() - start, os.times()
    await close()
    cpu_seconds = (after.user - cpu.user) + (after.system - cpu.system)
    return operations / elapsed, cpu_seconds / operations * 100_000


def main():
    if len(sys.argv) not in (5, 6) or sys.argv[1] not in ("valkey", "glide") or sys.argv[2] not in COUNTS:
        sys.exit(__doc__)
    tasks = int(sys.argv[5]) if len(sys.argv) == 6 else 200
    rate, cpu = asyncio.run(run(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), tasks))
    print(f"{rate:.1f} {cpu:.3f}")


if __name__ == "__main__":
    main()
