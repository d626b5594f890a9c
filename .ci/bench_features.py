"""make bench's lines for the opt-in features of issue 27, run by .ci/bench:

H  hedged reads: paced readers on replicas, one of two replicas stopped 30 ms twice a second;
   p50 and p99 with and without hedgedReads, and the hedges' share.
Q  coalesced reads: 1,000 callers on the client's loop reading one hot key, with and without
   coalescesReads; throughput and the GETs the server ran per 1,000 reads.
V  large values: Examples/large-values (release) streaming 256 MiB up and down in 1 MiB chunks;
   the time, and the process's peak memory growth against a plain GET of the same value.

All informational: the issue sets no targets for them. Servers are started here on free loopback
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
    """glide-benchmark's CSV row for one test: rate, p50 ms, p99 ms, CPU-s/100k."""
    out = subprocess.run([GLIDE, "-h", "127.0.0.1", "-p", str(port), "--csv", *args], capture_output=True, text=True,
                         check=True, timeout=600).stdout
    row = [field.strip('"') for field in out.strip().splitlines()[-1].split(",")]
    return float(row[1]), float(row[2]), float(row[3]), float(row[4])


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
