"""Every hostable LV2 plugin installed here, under the real-time checker: does its run()
allocate, lock or make system calls, and what does one block cost?

    python bench/lv2_survey.py [--block 256] [--blocks 400] [--json out.json] [URI ...]

Each plugin runs in its own child process (a plugin that crashes takes only its child)
with ``librtcheck`` preloaded, inside ``fmcore.fx.EffectsProcessor`` on stereo noise.
Timings are wall-clock on a shared machine: indicative, not pass/fail.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap

CHILD = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from fmcore.fx.chain import EffectsProcessor
    from fmcore_rt import rtcheck
    uri, block, blocks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    proc = EffectsProcessor(48000, block, order=("limiter",))
    try:
        fx = proc.chain.load_lv2(uri, name="p")
    except Exception as e:
        print(json.dumps({"uri": uri, "error": str(e)})); sys.exit(0)
    proc.reset()
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((2, block * blocks)) * 0.1).astype(np.float32)
    buf = np.zeros((2, block), np.float32)
    for i in range(20):                      # warm-up outside the measurement
        buf[:] = x[:, :block]; proc.process(buf)
    t = []
    with rtcheck.watch() as r:
        for i in range(blocks):
            buf[:] = x[:, i * block:(i + 1) * block]
            t0 = time.perf_counter_ns(); proc.process(buf); t.append(time.perf_counter_ns() - t0)
    t = np.array(t) / 1000.0
    print(json.dumps({"uri": uri, "violations": r.by_function, "active": r.active,
                      "us_median": float(np.median(t)), "us_p99": float(np.percentile(t, 99)),
                      "finite": bool(np.isfinite(buf).all())}))
""")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("uris", nargs="*")
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--blocks", type=int, default=400)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    from fmcore.fx.lv2 import list_plugins
    from fmcore_rt import rtcheck

    uris = args.uris or [p["uri"] for p in list_plugins() if p["hostable"]]
    rows = []
    for uri in uris:
        proc = rtcheck.run([sys.executable, "-c", CHILD, uri, str(args.block), str(args.blocks)], timeout=120)
        lines = proc.stdout.strip().splitlines()
        try:
            row = json.loads(lines[-1])
        except (IndexError, ValueError):
            row = {"uri": uri, "error": f"child exited {proc.returncode}: {proc.stderr.strip()[-200:]}"}
        rows.append(row)
        if "error" in row:
            print(f"{uri}: ERROR {row['error']}", flush=True)
        else:
            v = row["violations"]
            print(f"{uri}: {row['us_median']:.1f} us/block median, p99 {row['us_p99']:.1f}; "
                  f"{'clean' if not v else 'VIOLATIONS ' + json.dumps(v)}", flush=True)
    clean = sum(1 for r in rows if "violations" in r and not r["violations"])
    print(f"{clean} of {len(rows)} plugins clean; block {args.block} frames at 48 kHz "
          f"(deadline {args.block / 0.048:.0f} us)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
