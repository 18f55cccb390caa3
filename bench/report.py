"""Turn pytest-benchmark JSON into a short Markdown report with PNG plots.

    python bench/report.py bench/results/benchmarks.json [-o bench/results]

Plots are drawn for the series the benchmarks record in ``extra_info``:

- ``us_per_block`` with ``block`` and ``voices``: µs per block across block
  sizes, one line per voice count, against the deadline;
- ``hist_edges_us`` and ``hist_counts`` (with ``deadline_us``): callback
  duration histograms;
- ``x_realtime`` (with ``file``): render speed in × real time per file;
- ``*_mean_ns`` / ``*_p999_ns`` / ``*_max_ns`` pairs (the contention test):
  lock-free against the mutex reference.

Ratios measured in one run are reported beside the absolute figures; the
machine is stated at the top, since absolute times only mean something there.
"""
from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path


def _fmt(v) -> str:
    if isinstance(v, float):
        if v != v:
            return "n/a"
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def _machine(data: dict) -> str:
    m = data.get("machine_info", {})
    cpu = m.get("cpu", {})
    return (f"{cpu.get('brand_raw') or m.get('processor') or m.get('machine', '?')}, "
            f"{m.get('cores', cpu.get('count', '?'))} cores, {m.get('system', '')} {m.get('release', '')}, "
            f"Python {m.get('python_version', '?')}; run {data.get('datetime', '?')}")


def _plot_blocks(rows, out: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_voices = defaultdict(list)
    for r in rows:
        e = r["extra_info"]
        by_voices[e["voices"]].append((e["block"], e["us_per_block"], e.get("deadline_us")))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    deadlines = {}
    for v in sorted(by_voices):
        pts = sorted(by_voices[v])
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{v} voices")
        deadlines.update({p[0]: p[2] for p in pts if p[2]})
    if deadlines:
        xs = sorted(deadlines)
        ax.plot(xs, [deadlines[x] for x in xs], "k--", label="deadline")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("block size (frames)")
    ax.set_ylabel("µs per block")
    ax.set_title("process() cost per block")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _plot_hists(rows, out: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(rows)
    cols = min(3, n)
    nrows = math.ceil(n / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.0 * nrows), squeeze=False)
    for ax, r in zip(axes.flat, rows):
        e = r["extra_info"]
        edges, counts = e["hist_edges_us"], e["hist_counts"]
        ax.bar(edges, counts, width=[x * 0.044 for x in edges], align="edge")
        if e.get("deadline_us"):
            ax.axvline(e["deadline_us"], color="r", linestyle="--", label="deadline")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(r["name"].split("::")[-1], fontsize=8)
        ax.set_xlabel("callback duration (µs)", fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _plot_bars(labels, values, ylabel, title, out: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.35 * len(labels) + 2))
    ax.barh(labels, values)
    ax.set_xlabel(ylabel)
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def build_report(data: dict, outdir: Path) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    benches = data.get("benchmarks", [])
    lines = ["# fmcore benchmark report", "", f"Machine: {_machine(data)}", "",
             "Absolute times are for this machine and moment; the ratios measured in one run "
             "(same process, interleaved) are the figures that carry over.", ""]

    block_rows = [b for b in benches if {"us_per_block", "block", "voices"} <= set(b["extra_info"])]
    if block_rows:
        _plot_blocks(block_rows, outdir / "process_per_block.png")
        lines += ["## process() per block", "", "![µs per block](process_per_block.png)", "",
                  "| block | voices | µs per block | fraction of deadline |", "|---:|---:|---:|---:|"]
        for b in sorted(block_rows, key=lambda b: (b["extra_info"]["voices"], b["extra_info"]["block"])):
            e = b["extra_info"]
            frac = e.get("deadline_fraction", e["us_per_block"] / e["deadline_us"] if e.get("deadline_us") else math.nan)
            lines.append(f"| {e['block']} | {e['voices']} | {_fmt(e['us_per_block'])} | {_fmt(frac)} |")
        lines.append("")

    hist_rows = [b for b in benches if {"hist_edges_us", "hist_counts"} <= set(b["extra_info"])]
    if hist_rows:
        _plot_hists(hist_rows, outdir / "callback_histograms.png")
        lines += ["## Callback durations against the deadline", "",
                  "![callback histograms](callback_histograms.png)", "",
                  "| run | callbacks | p50 µs | p99 µs | max µs | deadline µs | own CPU max µs | underflows "
                  "| client missed | server late |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for b in hist_rows:
            e = b["extra_info"]
            lines.append(f"| {b['name'].split('::')[-1]} | {_fmt(e.get('callbacks', ''))} | {_fmt(e.get('p50_us', math.nan))} "
                         f"| {_fmt(e.get('p99_us', math.nan))} | {_fmt(e.get('max_us', math.nan))} "
                         f"| {_fmt(e.get('deadline_us', math.nan))} | {_fmt(e.get('cpu_max_us', math.nan))} "
                         f"| {_fmt(e.get('underflows', ''))} | {_fmt(e.get('client_missed', ''))} "
                         f"| {_fmt(e.get('server_late', ''))} |")
        lines.append("")

    rt_rows = [b for b in benches if "x_realtime" in b["extra_info"]]
    if rt_rows:
        labels = [f"{b['extra_info'].get('file', b['name'])} @{b['extra_info'].get('block', '')}" for b in rt_rows]
        vals = [b["extra_info"]["x_realtime"] for b in rt_rows]
        _plot_bars(labels, vals, "× real time", "Offline render speed", outdir / "render_speed.png")
        lines += ["## Offline render speed", "", "![render speed](render_speed.png)", "",
                  "| file | block | × real time |", "|---|---:|---:|"]
        for b, v in zip(rt_rows, vals):
            e = b["extra_info"]
            lines.append(f"| {e.get('file', b['name'])} | {e.get('block', '')} | {_fmt(v)} |")
        lines.append("")

    ratio_rows = [b for b in benches if any(k.endswith("_over_lockfree_mean") for k in b["extra_info"])]
    for b in ratio_rows:
        e = b["extra_info"]
        stats = ["mean", "p999", "max"]
        labels, vals = [], []
        for impl in ("lockfree", "mutex"):
            for s in stats:
                if f"{impl}_{s}_ns" in e:
                    labels.append(f"{impl} {s}")
                    vals.append(e[f"{impl}_{s}_ns"])
        _plot_bars(labels, vals, "ns per 256-value snapshot", "Parameter read under contention",
                   outdir / "contention.png")
        lines += ["## Parameter reads under contention: lock-free against a mutex", "",
                  "![contention](contention.png)", "", "| statistic | lock-free ns | mutex ns | mutex / lock-free |",
                  "|---|---:|---:|---:|"]
        for s in stats:
            lines.append(f"| {s} | {_fmt(e.get(f'lockfree_{s}_ns'))} | {_fmt(e.get(f'mutex_{s}_ns'))} "
                         f"| {_fmt(e.get(f'mutex_over_lockfree_{s}'))} |")
        lines.append("")

    lines += ["## All benchmarks", "", "| benchmark | mean | median | rounds | extra |", "|---|---:|---:|---:|---|"]
    for b in benches:
        s = b["stats"]
        extra = ", ".join(f"{k}={_fmt(v)}" for k, v in b["extra_info"].items()
                          if not isinstance(v, (list, dict)))
        lines.append(f"| {b['fullname']} | {s['mean'] * 1e6:.1f} µs | {s['median'] * 1e6:.1f} µs | {s['rounds']} | {extra} |")
    out = outdir / "REPORT.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", type=Path)
    ap.add_argument("-o", "--outdir", type=Path, default=None)
    args = ap.parse_args(argv)
    data = json.loads(args.json.read_text())
    out = build_report(data, args.outdir or args.json.parent)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
