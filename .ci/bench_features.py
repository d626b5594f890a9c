"""make bench's lines for the opt-in features of issue 27, run by .ci/bench:

H  hedged reads: paced readers on replicas, one of two replicas stopped 30 ms twice a second;
   p50 and p99 with and without hedgedReads, and the hedges' share.
Q  coalesced reads: 1,000 callers on the client's loop reading one hot key, with and without
   coalescesReads; throughput and the GETs the server ran per 1,000 reads.
L  tail latency, open loop: W2's callers at 50 % and 80 % of the rate W2 reaches closed loop, each
   request at its scheduled time and timed from it; p50, p99, p99.9, max and CPU, beside the same
   schedule with the callers on the client's event loop, the harness's own (the same schedule, no
   request) and redis-benchmark's percentiles at -c 50 (closed loop). Targets at 50 %: p99 <= 1 ms,
   p99.9 <= 5 ms.
I  an idle client: what it adds to its process (resident memory, threads, descriptors) after 2 s
   connected, standalone and on a 3+3 cluster.
V  large values: Examples/large-values (release) streaming 256 MiB up and down in 1 MiB chunks;
   the time, and the process's peak memory growth against a plain GET of the same value.

H, Q and V are informational: the issue sets no targets for them. Servers are started here on free loopback
ports and stopped (and stopped replicas continued) by their PIDs.
"""
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time

import bench_plots

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GLIDE = os.path.join(ROOT, ".build", "release", "glide-benchmark")
LARGE_VALUES = os.path.join(ROOT, ".build", "release", "large-values")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(binary, extra=()):
    port = _free_port()
    directory = tempfile.mkdtemp(prefix="glide-bench-features-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--logfile", os.path.join(directory, "server.log"), *extra])
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, port, directory
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"valkey-server did not start on port {port}")


def _stop(servers):
    for process, _, directory in servers:
        process.send_signal(signal.SIGCONT)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        subprocess.run(["rm", "-rf", directory])


def _cli(port, *args):
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args], capture_output=True, text=True).stdout


def _glide(port, args):
    """glide-benchmark's CSV row for one test: rate, p50 ms, p99 ms, CPU-s/100k, p99.9 ms, max ms, peak
    resident MiB."""
    out = subprocess.run([GLIDE, "-h", "127.0.0.1", "-p", str(port), "--csv", *args], capture_output=True, text=True,
                         check=True, timeout=600).stdout
    row = [field.strip('"') for field in out.strip().splitlines()[-1].split(",")]
    return tuple(float(field) for field in row[1:8])


def hedge_benchmark(binary, rounds):
    servers = [_start(binary)]
    primary = servers[0][1]
    try:
        for _ in range(2):
            servers.append(_start(binary, ("--replicaof", "127.0.0.1", str(primary))))
        for _, port, _ in servers[1:]:
            for _ in range(200):
                if "master_link_status:up" in _cli(port, "INFO", "replication"):
                    break
                time.sleep(0.05)
        _glide(primary, ["-c", "10", "-n", "1000", "-r", "100", "-t", "set", "-d", "16"])
        _cli(primary, "WAIT", "2", "2000")
        stalled = servers[1][0]
        running = threading.Event()
        running.set()

        def stall():
            while running.is_set():
                time.sleep(0.47)
                stalled.send_signal(signal.SIGSTOP)
                time.sleep(0.03)
                stalled.send_signal(signal.SIGCONT)

        staller = threading.Thread(target=stall)
        staller.start()
        reads = ["-c", "16", "-n", "3200", "-r", "100", "-t", "get", "-d", "16", "--pace", "10", "--replica-reads"]
        results = {"plain": [], "hedged": []}
        try:
            for _ in range(rounds):
                results["plain"].append(_glide(primary, reads))
                results["hedged"].append(_glide(primary, reads + ["--hedge"]))
        finally:
            running.clear()
            staller.join()
        print("H   16 tasks reading from 2 replicas, each pausing 10 ms between GETs; one replica stopped 30 ms "
              "twice a second (SIGSTOP)")
        for name in ("plain", "hedged"):
            p50 = statistics.median(r[1] for r in results[name])
            p99 = statistics.median(r[2] for r in results[name])
            cpu = statistics.median(r[3] for r in results[name])
            label = "hedgedReads (5 % budget)" if name == "hedged" else "not hedged"
            print(f"    {label:26} p50 {p50:6.3f} ms  p99 {p99:7.3f} ms  cpu {cpu:.3f} s/100k")
    finally:
        _stop(servers)
    return 0


def coalesce_benchmark(binary, rounds):
    servers = [_start(binary)]
    port = servers[0][1]
    try:
        reads = ["-c", "1000", "-n", "200000", "-r", "1", "-t", "get", "-d", "16", "--on-loop"]
        results = {"off": [], "on": []}
        gets = {"off": [], "on": []}
        for _ in range(rounds):
            for name, extra in (("off", []), ("on", ["--coalesce"])):
                _cli(port, "CONFIG", "RESETSTAT")
                results[name].append(_glide(port, reads + extra))
                stats = _cli(port, "INFO", "commandstats")
                line = next((l for l in stats.splitlines() if l.startswith("cmdstat_get:")), "calls=0,")
                gets[name].append(int(line.split("calls=")[1].split(",")[0]))
        print("Q   1,000 callers on the client's loop, 200,000 GETs of one hot key, 16 B: coalescesReads off and on")
        off = statistics.median(r[0] for r in results["off"])
        for name in ("off", "on"):
            rate = statistics.median(r[0] for r in results[name])
            cpu = statistics.median(r[3] for r in results[name])
            per = statistics.median(gets[name]) / 200
            print(f"    {name:4} {rate:12,.0f} ops/s  cpu {cpu:.3f} s/100k  server GETs per 1,000 reads {per:7.1f}  "
                  f"vs off {rate / off:.2f}x")
    finally:
        _stop(servers)
    return 0


def large_values_benchmark(binary):
    servers = [_start(binary)]
    port = servers[0][1]
    try:
        start = time.monotonic()
        out = subprocess.run([LARGE_VALUES, "127.0.0.1", str(port), "--mib", "256"], capture_output=True, text=True,
                             check=True, timeout=600).stdout.strip().splitlines()
        seconds = time.monotonic() - start
        print("V   256 MiB written and read back in 1 MiB chunks (writeValue, readValue), every byte checked, then a "
              "plain GET of it; Examples/large-values, release")
        print(f"    {out[0]}\n    {out[1]}\n    all of it {seconds:.2f} s")
    finally:
        _stop(servers)
    return 0


def latency_benchmark(binary, rounds):
    servers = [_start(binary)]
    port = servers[0][1]
    failures = 0
    try:
        mixed = ["-c", "200", "-t", "mixed", "-d", "16"]
        closed = statistics.median(_glide(port, mixed + ["-n", "200000"])[0] for _ in range(rounds))
        print(f"L   open loop: 200 tasks of mixed GET/SET, 16 B, requests at a fixed rate timed from their scheduled "
              f"start; W2 closed loop reaches {closed:,.0f} ops/s here")
        for share in (0.5, 0.8):
            rate = int(closed * share)
            runs = [_glide(port, mixed + ["-n", str(rate * 3), "--rate", str(rate)]) for _ in range(rounds)]
            p50, p99, p999, most = (statistics.median(r[i] for r in runs) for i in (1, 2, 4, 5))
            achieved = statistics.median(r[0] for r in runs)
            verdict = ""
            if share == 0.5:
                ok = p99 <= 1.0 and p999 <= 5.0
                bench_plots.record("L   1 ms / p99 at 50 %", 1.0 / p99 if p99 else 0.0, 1.0)
                bench_plots.record("L   5 ms / p99.9 at 50 %", 5.0 / p999 if p999 else 0.0, 1.0)
                failures += 0 if ok else 1
                verdict = f"   target p99 <= 1 ms, p99.9 <= 5 ms: {'met' if ok else 'MISSED'}"
            cpu = statistics.median(r[3] for r in runs)
            print(f"    {int(share * 100)} % ({rate:,} ops/s scheduled, {achieved:,.0f} done)  p50 {p50:.3f} ms  "
                  f"p99 {p99:.3f} ms  p99.9 {p999:.3f} ms  max {most:.3f} ms  cpu {cpu:.3f} s/100k{verdict}")
        rate = int(closed * 0.5)
        schedule = ["-n", str(rate * 3), "--rate", str(rate)]
        for label, args in (
                # The same schedule with the callers on the client's event loop: no hop to Swift's pool.
                ("50 %, callers on the loop (--on-loop)", mixed + schedule + ["--on-loop"]),
                # The schedule's own cost and tail: the same pacing and tasks, each request a Task.yield().
                ("the harness alone at 50 % (-t yield: the pacer and the tasks, no request)",
                 ["-c", "200", "-t", "yield"] + schedule)):
            runs = [_glide(port, args) for _ in range(rounds)]
            p50, p99, p999, most, cpu = (statistics.median(r[i] for r in runs) for i in (1, 2, 4, 5, 3))
            print(f"    {label}  p50 {p50:.3f} ms  p99 {p99:.3f} ms  p99.9 {p999:.3f} ms  max {most:.3f} ms  "
                  f"cpu {cpu:.3f} s/100k   (informational)")
        out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "50", "-n", "200000",
                              "-t", "get,set", "-d", "16", "--csv"], capture_output=True, text=True, timeout=600).stdout
        for line in out.strip().splitlines()[1:]:
            fields = [field.strip('"') for field in line.split(",")]
            print(f"    redis-benchmark -c 50 {fields[0]:4} (closed loop) {float(fields[1]):10,.0f} ops/s  "
                  f"p50 {float(fields[4]):.3f} ms  p99 {float(fields[6]):.3f} ms  max {float(fields[7]):.3f} ms")
    finally:
        _stop(servers)
    return failures


def idle_benchmark(binary, rounds):
    from cluster import Cluster
    rows = {}
    servers = [_start(binary)]
    try:
        rows["standalone (1 node)"] = [_idle(servers[0][1], []) for _ in range(rounds)]
    finally:
        _stop(servers)
    cluster = Cluster(binary, primaries=3, replicas=1)
    try:
        rows["cluster (3 primaries, 3 replicas)"] = [_idle(cluster.nodes[0][1], ["--cluster"]) for _ in range(rounds)]
    finally:
        cluster.stop()
    print("I   one idle client, 2 s after create: what it adds to its process (the event loop threads it starts "
          "included)")
    for name, runs in rows.items():
        memory, threads, descriptors = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"    {name:34} +{memory:5.2f} MiB resident  +{threads:.0f} threads  +{descriptors:.0f} descriptors")
    return 0


def _idle(port, extra):
    out = subprocess.run([GLIDE, "-h", "127.0.0.1", "-p", str(port), "--csv", "-t", "idle", *extra],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    row = [field.strip('"') for field in out.strip().splitlines()[-1].split(",")]
    return float(row[1]), int(row[2]), int(row[3])
