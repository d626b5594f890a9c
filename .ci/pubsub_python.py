#!/usr/bin/env python3
"""The pub/sub line's Python clients: one publisher client sends N messages of SIZE bytes to one
channel from CONCURRENCY asyncio tasks; one subscriber client receives them. Prints the messages
received per second, from the first publish to the last message in.

Usage: pubsub_python.py valkey|glide HOST PORT N CONCURRENCY SIZE
"""
import asyncio
import sys
import time

CHANNEL = "bench:pubsub"


async def publish_all(publish, n, concurrency):
    per_task = (n + concurrency - 1) // concurrency

    async def worker(task):
        for _ in range(max(0, min(n, (task + 1) * per_task) - task * per_task)):
            await publish()
    await asyncio.gather(*(worker(task) for task in range(concurrency)))


async def valkey_py(host, port, n, concurrency, payload):
    import valkey.asyncio as valkey
    publisher = valkey.Valkey(host=host, port=port, max_connections=concurrency)
    subscriber = valkey.Valkey(host=host, port=port)
    pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(CHANNEL)
    await pubsub.get_message(timeout=1.0)  # the subscription's confirmation

    async def receive():
        received = 0
        while received < n:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            if message is None:
                break
            received += 1
        return received

    start = time.monotonic()
    receiving = asyncio.create_task(receive())
    await publish_all(lambda: publisher.publish(CHANNEL, payload), n, concurrency)
    received = await receiving
    elapsed = time.monotonic() - start
    await pubsub.aclose()
    await subscriber.aclose()
    await publisher.aclose()
    return received, elapsed


async def glide_python(host, port, n, concurrency, payload):
    from glide import GlideClient, GlideClientConfiguration, NodeAddress
    modes = GlideClientConfiguration.PubSubChannelModes
    subscriptions = GlideClientConfiguration.PubSubSubscriptions(channels_and_patterns={modes.Exact: {CHANNEL}},
                                                                 callback=None, context=None)
    publisher = await GlideClient.create(GlideClientConfiguration([NodeAddress(host, port)], request_timeout=10000))
    subscriber = await GlideClient.create(GlideClientConfiguration([NodeAddress(host, port)], request_timeout=10000,
                                                                   pubsub_subscriptions=subscriptions))

    async def receive():
        received = 0
        while received < n:
            await subscriber.get_pubsub_message()
            received += 1
        return received

    start = time.monotonic()
    receiving = asyncio.create_task(receive())
    await publish_all(lambda: publisher.publish(payload, CHANNEL), n, concurrency)
    received = await asyncio.wait_for(receiving, timeout=60)
    elapsed = time.monotonic() - start
    await subscriber.close()
    await publisher.close()
    return received, elapsed


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    library, host, port, n, concurrency, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    run = {"valkey": valkey_py, "glide": glide_python}[library]
    received, elapsed = asyncio.run(run(host, port, n, concurrency, "x" * size))
    if received < n:
        sys.exit(f"{library}: {received} of {n} messages arrived")
    print(f"{received / elapsed:.2f}")


if __name__ == "__main__":
    main()
