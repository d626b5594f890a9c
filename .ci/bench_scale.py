"""make bench's scale lines, each on a valkey-server of its own (pinned to CPU 0 where .ci/bench
pins), imported by .ci/bench:

N  10,000 concurrent tasks on one client against W2's 200: throughput (target >= 0.9x), the cost
   per request as the tasks grow (200, 1,000, 10,000), and the memory per pending request: the
   peak resident memory's growth from 200 tasks to 10,000, less what the same tasks cost the
   benchmark with no request at all (`-t yield`), divided by the 9,800 extra tasks.
F  the resident memory over 10,000,000 requests, sampled after each 500,000: flat after warm-up
   (the last ten samples' peak at most 1 MiB above the peak of the ten before them).
X  W2's throughput against concurrency, 1 to 1,000 tasks, for swift-glide, redis-benchmark -c N,
   GLIDE Python and valkey-py (one run each, informational; the chart in Docs/images).
"""
import os
import statistics
import subprocess
import sys

import bench_features
import bench_plots

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
IMAGES = os.path.join(ROOT, "Docs", "images")
TASKS = (200, 1_000, 10_000)
SWEEP = (1, 10, 50, 200, 500, 1_000)


def _glide(port, args):
    """(ops/s, CPU-s/100k, peak resident MiB) of one glide-benchmark run."""
    row = bench_features._glide(port, args)
    return row[0], row[3], row[6]


def tasks_benchmark(binary, rounds):
    servers = [bench_features._start(binary)]
    port = servers[0][1]
    try:
        runs = {tasks: [] for tasks in TASKS}
        baseline = {tasks: [] for tasks in (200, 10_000)}
        for _ in range(rounds):
            for tasks in TASKS:
                runs[tasks].append(_glide(port, ["-c", str(tasks), "-n", "1000000", "-t", "mixed", "-d", "16"]))
            for tasks in baseline:
                baseline[tasks].append(_glide(port, ["-c", str(tasks), "-n", "1000000", "-t", "yield"]))
    finally:
        bench_features._stop(servers)
    ratio = statistics.median(many[0] / few[0] for few, many in zip(runs[200], runs[10_000]))
    ok = ratio >= 0.9
    peak = {tasks: statistics.median(run[2] for run in runs[tasks]) for tasks in TASKS}
    harness = {tasks: statistics.median(run[2] for run in baseline[tasks]) for tasks in baseline}
    per_pending = ((peak[10_000] - peak[200]) - (harness[10_000] - harness[200])) * 1024 / 9_800
    print("N   10,000 concurrent tasks of mixed GET/SET, 16 B, on one client (1,000,000 requests) against 200")
    for tasks in TASKS:
        rate = statistics.median(run[0] for run in runs[tasks])
        cpu = statistics.median(run[1] for run in runs[tasks])
        print(f"    {tasks:6,} tasks {rate:12,.0f} ops/s  cpu {cpu:.3f} s/100k  peak resident {peak[tasks]:6.1f} MiB")
    print(f"    memory per pending request {per_pending:.2f} KiB (the benchmark's own tasks, measured with no "
          f"request, taken out)\n"
          f"    10,000 tasks / 200 tasks {ratio:.2f}x  target >= 0.9x: {'met' if ok else 'MISSED'}")
    bench_plots.record("N   10,000 tasks", ratio, 0.9)
    return 0 if ok else 1


def memory_benchmark(binary):
    servers = [bench_features._start(binary)]
    port = servers[0][1]
    try:
        out = subprocess.run([bench_features.GLIDE, "-h", "127.0.0.1", "-p", str(port), "--csv", "-c", "200",
                              "-n", "10000000", "-t", "mixed", "-d", "16", "--memory", "--slices", "20"],
                             capture_output=True, text=True, check=True, timeout=900).stdout
    finally:
        bench_features._stop(servers)
    samples = [float(x) for x in out.strip().splitlines()[-1].split(",")[1].strip('"').split()]
    rise = max(samples[10:]) - max(samples[:10])
    ok = rise <= 1.0
    print(f"F   10,000,000 mixed requests, 200 tasks: resident MiB after each 500,000\n    {' '.join(f'{s:.1f}' for s in samples)}\n"
          f"    last half's peak vs first half's {rise:+.1f} MiB  flat (<= +1 MiB): {'met' if ok else 'MISSED'}")
    bench_plots.line_chart(os.path.join(IMAGES, "memory-10m.svg"), "F: resident memory over 10,000,000 requests",
                           "requests (millions)", "resident MiB",
                           {"swift-glide, 200 tasks": [((i + 1) * 0.5, s) for i, s in enumerate(samples)]},
                           y_floor_zero=True)
    bench_plots.record("F   memory flat", 1.0 if ok else 0.0, 1.0)
    return 0 if ok else 1


def _python(port, library, tasks):
    result = subprocess.run([VENV_PYTHON, os.path.join(ROOT, ".ci", "workloads_python.py"), library, "W2",
                             "127.0.0.1", str(port), str(tasks)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        sys.exit(f"{library} W2 at {tasks} tasks failed:\n{result.stdout}{result.stderr}")
    return float(result.stdout.split()[0])


def _redis(port, tasks):
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(tasks), "-n",
                          str(_count(tasks)), "-t", "get,set", "-d", "16", "--csv"],
                         capture_output=True, text=True, check=True, timeout=600).stdout
    rates = [float(line.split(",")[1].strip('"')) for line in out.strip().splitlines()[1:]]
    return len(rates) / sum(1 / rate for rate in rates)


def _count(tasks):
    return max(20_000, min(200_000, 1_000 * tasks))


def concurrency_sweep(binary):
    servers = [bench_features._start(binary)]
    port = servers[0][1]
    series = {"swift-glide (one connection)": [], "redis-benchmark -c N": [], "GLIDE Python 2.6": [], "valkey-py": []}
    try:
        for tasks in SWEEP:
            series["swift-glide (one connection)"].append(
                (tasks, _glide(port, ["-c", str(tasks), "-n", str(_count(tasks)), "-t", "mixed", "-d", "16"])[0]))
            series["redis-benchmark -c N"].append((tasks, _redis(port, tasks)))
            series["GLIDE Python 2.6"].append((tasks, _python(port, "glide", tasks)))
            series["valkey-py"].append((tasks, _python(port, "valkey", tasks)))
    finally:
        bench_features._stop(servers)
    print("X   W2 (mixed GET/SET, 16 B) against concurrency, ops/s, one run each (informational; "
          "Docs/images/concurrency.svg)")
    print("    " + "tasks".ljust(30) + "".join(f"{tasks:>10,}" for tasks in SWEEP))
    for name, points in series.items():
        print("    " + name.ljust(30) + "".join(f"{rate:>10,.0f}" for _, rate in points))
    bench_plots.line_chart(os.path.join(IMAGES, "concurrency.svg"), "W2 throughput against concurrency",
                           "concurrent tasks (redis-benchmark: connections)", "ops/s", series, log_x=True)
    return 0
