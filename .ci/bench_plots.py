"""SVG charts for make bench (.ci/bench) and make soak (.ci/soak-plot), drawn with the standard library
only: ratios against their targets, throughput against a parameter, and series over time. The charts
land in Docs/images/ and are shown in Docs/performance.md.
    python3 .ci/bench_plots.py DIRECTORY    writes sample charts there"""
import math
import os
import sys
from xml.sax.saxutils import escape

WIDTH = 760
COLOURS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#555555", "#f0e442"]
MEETS, SHORT, GREY = "#2e9e5b", "#e4572e", "#9a9a9a"
RESULTS = []


def record(label, ratio, target):
    """Keeps one line's ratio and target (None: informational) for the chart of every line."""
    RESULTS.append((label, ratio, target))


def text(x, y, s, size=12, anchor="start", fill="#222", extra=""):
    """One SVG <text> element."""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{extra}>'
            f'{escape(str(s))}</text>')


def document(width, height, title):
    """The opening of an SVG document: white background and a title; close it with save()."""
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">',
            f'<rect width="{width}" height="{height}" fill="white"/>',
            text(16, 28, title, 16, extra=' font-weight="bold"')]


def save(path, out):
    """Closes the document and writes it to path, creating its directory."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out + ["</svg>"]) + "\n")


def number(v):
    """A tick label: 250000 -> 250k, 1200000 -> 1.2M, 0.25 -> 0.25."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")):
        if abs(v) >= div * 0.9995 or div == 1:
            s = f"{v / div:.3g}"
            return (f"{v / div:.0f}" if "e" in s else s) + suffix


def _width(s, size=12):
    return len(str(s)) * size * 0.58


def _ticks(low, high, count):
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    start, end = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(start, end + 1)]


def _fit(labels, gap=8, size=11):
    """Keeps the labels (position, text, major) that don't crowd one another, majors first."""
    kept = []
    for pos, s, _ in sorted(labels, key=lambda label: not label[2]):
        if all(abs(pos - p) >= (_width(s, size) + _width(t, size)) / 2 + gap for p, t in kept):
            kept.append((pos, s))
    return kept


def _range(values, floor_zero):
    low, high = min(values), max(values)
    if floor_zero:
        low, high = min(low, 0), max(high, 0)
    if high == low:
        pad = abs(low) * 0.1 or 1
        low, high = (low if floor_zero and low >= 0 else low - pad), high + pad
    return low, high


def legend(out, left, top, right, items, bars=False):
    """Draws (name, colour) swatches, lines or bars, in rows between left and right; returns the height used."""
    x, y = left, top
    for name, colour in items:
        span = 26 + _width(name) + 18
        if x > left and x + span > right:
            x, y = left, y + 18
        out.append(f'<rect x="{x + 6}" y="{y - 10}" width="12" height="12" fill="{colour}"/>' if bars else
                   f'<line x1="{x}" y1="{y - 4}" x2="{x + 20}" y2="{y - 4}" stroke="{colour}" stroke-width="3"/>')
        out.append(text(x + 26, y, name))
        x += span
    return y - top + 18


def _empty(out, box, note="no data"):
    x, y, w, h = box
    out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="#bbb"/>')
    out.append(text(x + w / 2, y + h / 2, note, 13, "middle", GREY))


def panel(out, box, series, x_label="", y_label="", log_x=False, y_floor_zero=True, marker_x=None,
          marker_label="", colours=COLOURS):
    """Draws series ({name: [(x, y), ...]}) as polylines in box (x, y, width, height), with gridlines,
    round tick labels, axis labels and an optional red vertical line at marker_x."""
    left, top, w, h = box
    lines = {name: [(x, y) for x, y in points if not log_x or x > 0] for name, points in series.items()}
    xs = [x for points in lines.values() for x, _ in points]
    ys = [y for points in lines.values() for _, y in points]
    if not xs:
        return _empty(out, box)
    if log_x:
        least, most = (min(xs), max(xs)) if max(xs) > min(xs) else (min(xs) / 10, max(xs) * 10)
        low = 10 ** math.floor(math.log10(least) + 1e-9)
        high = next(m * low * 10 ** k for k in range(40) for m in (1, 2, 5) if m * low * 10 ** k >= most * 0.999)
        fx = (lambda v: left + (math.log10(v) - math.log10(low)) / (math.log10(high) - math.log10(low)) * w)
        candidates = [(m * low * 10 ** k, m == 1) for k in range(20) for m in (1, 2, 5) if m * low * 10 ** k <= high]
    else:
        low, high = min(xs), max(xs)
        low, high = (low, high) if high > low else (low - 1, high + 1)
        fx = (lambda v: left + (v - low) / (high - low) * w)
        whole = all(float(x).is_integer() for x in xs)
        candidates = [(t, True) for t in _ticks(low, high, w / 90)
                      if low - 1e-9 <= t <= high + 1e-9 and (float(t).is_integer() or not whole)]
    y_ticks = _ticks(*_range(ys, y_floor_zero), max(2, h / 50))
    bottom, y_low, y_high = top + h, y_ticks[0], y_ticks[-1]
    fy = (lambda v: bottom - (v - y_low) / (y_high - y_low) * h)
    for t in y_ticks:
        out.append(f'<line x1="{left}" y1="{fy(t):.1f}" x2="{left + w}" y2="{fy(t):.1f}" stroke="#e8e8e8"/>')
        out.append(text(left - 6, fy(t) + 4, number(t), 11, "end", "#444"))
    for t, major in candidates:
        stroke = "#e8e8e8" if major else "#f3f3f3"
        out.append(f'<line x1="{fx(t):.1f}" y1="{top}" x2="{fx(t):.1f}" y2="{bottom}" stroke="{stroke}"/>')
    for pos, s in _fit([(fx(t), f"{t:g}" if abs(t) < 1e4 else number(t), major) for t, major in candidates]):
        out.append(text(pos, bottom + 16, s, 11, "middle", "#444"))
    out.append(f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#bbb"/>')
    if x_label:
        out.append(text(left + w / 2, bottom + 36, x_label, 12, "middle"))
    if y_label:
        out.append(text(0, 0, y_label, 12, "middle", extra=f' transform="translate(16,{top + h / 2:.1f}) rotate(-90)"'))
    for index, points in enumerate(lines.values()):
        colour, coords = colours[index % len(colours)], [(fx(x), fy(y)) for x, y in sorted(points)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                   f'stroke-width="{2 if len(coords) <= 40 else 1.5}" stroke-linejoin="round"/>')
        if len(coords) <= 40:
            out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="{colour}"/>' for x, y in coords]
    if marker_x is not None and (low <= marker_x <= high):
        mx = fx(marker_x)
        out.append(f'<line x1="{mx:.1f}" y1="{top}" x2="{mx:.1f}" y2="{bottom}" stroke="#d62728" stroke-width="1.5"/>')
        flip = mx + 6 + _width(marker_label) > left + w
        out.append(text(mx - 6 if flip else mx + 6, top + 16, marker_label, 12, "end" if flip else "start", "#d62728"))


def _chart(path, title, height, series, **options):
    out = document(WIDTH, height, title)
    top, names = 54, list(series)
    if len(names) > 1:
        top += legend(out, 72, top, WIDTH - 24, [(n, COLOURS[i % len(COLOURS)]) for i, n in enumerate(names)])
    panel(out, (72, top + 6, WIDTH - 72 - 24, height - top - 6 - 52), series, **options)
    save(path, out)


def line_chart(path, title, x_label, y_label, series, log_x=False, y_floor_zero=True):
    """Draws series ({name: [(x, y), ...]}, in legend order) as lines with point markers."""
    _chart(path, title, 440, series, x_label=x_label, y_label=y_label, log_x=log_x, y_floor_zero=y_floor_zero)


def timeline_chart(path, title, y_label, series, marker_x=None, marker_label=""):
    """Draws series ({name: [y per second]}) over time, with an optional red line at marker_x."""
    points = {name: list(enumerate(values)) for name, values in series.items()}
    _chart(path, title, 380, points, x_label="seconds", y_label=y_label, marker_x=marker_x,
           marker_label=marker_label)


def _times(v):
    return f"{v:.1f}x" if round(v, 1) == round(v, 6) else f"{v:g}x"


def ratio_chart(path, title, rows):
    """One bar per (label, ratio, target) row, as a share of its target (1.0 dashed); a row whose
    target is None is informational and shows only its ratio, in grey."""
    rows = [(str(label), max(ratio or 0, 0), target if target and target > 0 else None)
            for label, ratio, target in rows]
    split = [(label.split(None, 1) + [""])[:2] for label, _, _ in rows]
    notes = [f"{ratio:.2f}x of {_times(target)}" if target else f"{ratio:.2f}x (no target)"
             for _, ratio, target in rows]
    first = max([_width(a) for a, _ in split] + [0]) + 16
    left = 16 + first + max([_width(b) for _, b in split] + [0]) + 14
    right = WIDTH - 16 - max([_width(n) for n in notes] + [0]) - 8
    top, row = 90, 30
    height = top + max(len(rows), 2) * row + 52
    out = document(WIDTH, height, title)
    legend(out, left, 52, WIDTH - 16, [("meets target", MEETS), ("short of target", SHORT)], bars=True)
    box = (left, top, right - left, height - top - 52)
    if not rows:
        _empty(out, box)
        return save(path, out)
    shares = [ratio / target for _, ratio, target in rows if target]
    ticks = _ticks(0, max(shares + [1.0]) * 1.08, (right - left) / 90)
    fx = (lambda v: left + v / ticks[-1] * (right - left))
    bottom = top + len(rows) * row
    for t in ticks:
        out.append(f'<line x1="{fx(t):.1f}" y1="{top}" x2="{fx(t):.1f}" y2="{bottom}" stroke="#e8e8e8"/>')
        out.append(text(fx(t), bottom + 16, f"{t:g}", 11, "middle", "#444"))
    out.append(text((left + right) / 2, bottom + 36, "share of target (ratio / target)", 12, "middle"))
    for i, ((_, ratio, target), (code, rest)) in enumerate(zip(rows, split)):
        y = top + i * row + row / 2
        fill = GREY if target is None else "#222"
        out += [text(16, y + 4, code, 12, fill=fill), text(16 + first, y + 4, rest, 12, fill=fill)]
        if target:
            colour = MEETS if ratio >= target else SHORT
            out.append(f'<rect x="{left}" y="{y - 9}" width="{fx(ratio / target) - left:.1f}" height="18" '
                       f'fill="{colour}"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#888"/>')
    out.append(f'<line x1="{fx(1):.1f}" y1="{top - 6}" x2="{fx(1):.1f}" y2="{bottom}" stroke="#333" '
               f'stroke-width="1.5" stroke-dasharray="5,4"/>')
    out.append(text(fx(1), top - 10, "target", 12, "middle", "#333"))
    for i, ((_, ratio, target), note) in enumerate(zip(rows, notes)):
        end = fx(ratio / target) if target else left
        y, fill = top + i * row + row / 2 + 4, GREY if target is None else "#333"
        out += [text(end + 6, y, note, 12, fill="white", extra=' stroke="white" stroke-width="5"'),
                text(end + 6, y, note, 12, fill=fill)]
    save(path, out)


if __name__ == "__main__":
    directory = sys.argv[1] if len(sys.argv) > 1 else "/tmp/plots"
    ratio_chart(os.path.join(directory, "ratios.svg"), "swift-glide against redis-benchmark, per workload",
                [("W1  one caller", 0.96, 1.0), ("W2  200 tasks", 2.4, 1.0), ("W2p one core", 0.92, 3.0),
                 ("W2' on the loop", 0.62, 0.8), ("W3  batches", 1.19, 1.2), ("L   p99 at 50%", 0.39, 1.0),
                 ("I   idle", 1.1, None)])
    callers = [1, 10, 50, 100, 200, 500, 1000]
    line_chart(os.path.join(directory, "concurrency.svg"), "Throughput by concurrent callers (SET/GET, 16 B)",
               "concurrent callers", "requests per second",
               {"swift-glide": list(zip(callers, [14e3, 98e3, 210e3, 262e3, 291e3, 298e3, 284e3])),
                "redis-benchmark": list(zip(callers, [16e3, 112e3, 180e3, 205e3, 214e3, 218e3, 212e3])),
                "GLIDE Python": list(zip(callers, [11e3, 45e3, 71e3, 78e3, 82e3, 80e3, 76e3])),
                "valkey-py": list(zip(callers, [10e3, 22e3, 26e3, 27e3, 27e3, 26e3, 25e3]))}, log_x=True)
    timeline_chart(os.path.join(directory, "failover.svg"), "Writes per second through a primary's failover",
                   "writes per second", {"swift-glide": [41e3, 42e3, 41.5e3, 8e3, 0, 0, 12e3, 39e3, 41e3, 42e3]},
                   marker_x=3, marker_label="primary SIGKILLed")
    line_chart(os.path.join(directory, "empty.svg"), "No data", "x", "y", {})
    line_chart(os.path.join(directory, "single.svg"), "One point, zero", "x", "y", {"a": [(5, 0)]}, log_x=True)
    timeline_chart(os.path.join(directory, "flat.svg"), "Zeros", "y", {"a": [0, 0, 0], "b": []}, marker_x=2)
    ratio_chart(os.path.join(directory, "ratios-empty.svg"), "No rows", [])
    ratio_chart(os.path.join(directory, "ratios-odd.svg"), "Odd rows", [("zero", 0, 1.0), ("x", 1, 0), ("y", 2, None)])
    print(f"sample charts in {directory}")
