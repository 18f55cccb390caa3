"""The real-time checker on the synth: the whole validation workload under the preload makes no violation."""
import re
import subprocess
import sys

import numpy as np

import fmcore
from fmcore_rt import rtcheck


def rows(table):
    """The report table as {label: value}."""
    return dict(re.split(r"\s{2,}", ln.strip(), maxsplit=1) for ln in table.splitlines() if "  " in ln.strip())


def test_synth_passes_the_workload_with_zero_violations_under_the_checker():
    r = subprocess.run([sys.executable, "-m", "fmcore.cli", "validate", "--seconds", "4", "--block", "64"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    t = rows(r.stdout)
    assert t["checker"].startswith("active (librtcheck preloaded, ")
    assert int(t["checker"].split(", ")[1].split()[0]) >= 4 * 48000 // 64    # a section per block, seen
    assert t["violations"] == "0" and t["result"] == "PASS" and t["non-finite samples"] == "0"
    assert t["overruns, CPU time"].startswith("0 ")
    # both clocks reported, each named (the CPU clock read around the section made no violation)
    assert "CPU time p999" in t and "wall time p999" in t
    # and which of the engine's code paths ran
    assert t["processor"] == f"Synth ({fmcore.Synth(48000).simd} kernels)"


def test_a_processor_too_slow_for_its_deadline_fails_on_cpu_time():
    code = ("from fmcore_rt.validate import validate\n"
            "from fmcore_rt.rtcheck._selftest import SpinProcessor\n"
            "r = validate(SpinProcessor(), 48000, 64, 20)\n"
            "print(r.table()); raise SystemExit(0 if r.ok else 1)\n")
    r = rtcheck.run([sys.executable, "-c", code], timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    t = rows(r.stdout)
    assert t["violations"] == "0"                                   # real-time safe, just slow
    assert t["overruns, CPU time"].startswith("20 ")
    assert t["result"] == "FAIL: 20 blocks over their deadline in CPU time"


def test_no_pass_without_the_checker():
    # pytest itself runs without the preload: the same clean run cannot PASS
    from fmcore_rt.rtcheck._selftest import CleanProcessor
    from fmcore_rt.validate import validate

    rep = validate(CleanProcessor(), 48000, 64, 50)
    assert rep.total_violations == 0 and rep.cpu_overruns == 0 and not rep.checker_active
    assert not rep.ok
    t = rows(rep.table())
    assert t["checker"].startswith("NOT ACTIVE") and t["violations"] == "not checked"
    assert t["result"] == "FAIL: the real-time checker was not active: nothing was checked"
    assert "PASS" not in rep.table()


def test_cli_no_preload_refuses_to_pass():
    r = subprocess.run([sys.executable, "-m", "fmcore.cli", "validate", "--seconds", "0.5", "--no-preload"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "NOT ACTIVE" in r.stdout and "PASS" not in r.stdout


def test_wall_time_overruns_alone_do_not_fail():
    # preemption costs wall time, not CPU time: reported, not held against the processor
    from fmcore_rt.validate import ValidationReport

    base = dict(processor="P", sample_rate=48000.0, block=64, blocks=10, checker_active=True, sections=10)
    rep = ValidationReport(**base, timing={"overruns": 3}, cpu_timing={"overruns": 0})
    assert rep.ok and rep.wall_overruns == 3
    assert rows(rep.table())["overruns, wall time"].startswith("3 ")
    rep = ValidationReport(**base, timing={"overruns": 3}, cpu_timing={"overruns": 1})
    assert not rep.ok and rep.failures == ["1 blocks over their deadline in CPU time"]


def test_validator_fails_a_processor_that_allocates():
    code = ("from fmcore_rt.validate import validate\n"
            "from fmcore_rt.rtcheck._selftest import MallocProcessor\n"
            "r = validate(MallocProcessor(), 48000, 64, 50)\n"
            "print(r.table()); raise SystemExit(0 if r.ok else 1)\n")
    r = rtcheck.run([sys.executable, "-c", code], timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "malloc" in r.stdout and "FAIL" in r.stdout


def test_offline_render_with_effects_makes_no_violation():
    code = ("import numpy as np, fmcore\n"
            "from fmcore_rt import rtcheck\n"
            "from fmcore.render import demo_song_path\n"
            "s = fmcore.Synth(48000, max_voices=32, max_block=128)\n"
            "for name in s.fx.order: s.fx.enable(name)\n"
            "with rtcheck.watch() as rep:\n"
            "    a = fmcore.render_midi(demo_song_path(), synth=s, tail=0.5)\n"
            "assert rtcheck.available() and np.isfinite(a).all()\n"
            "print('violations', rep.total, rep.by_function)\n")
    r = rtcheck.run([sys.executable, "-c", code], timeout=300)
    assert r.returncode == 0, r.stderr
    assert "violations 0 {}" in r.stdout


def test_limiter_keeps_a_dense_render_under_its_ceiling():
    from pathlib import Path

    dense = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi" / "dense-polyphony_freedoom-e3m8.mid"
    s = fmcore.Synth(48000, max_voices=64, max_block=256)
    s.params["master.gain"] = 4.0          # drive it hard
    loud = fmcore.render_midi(dense, synth=s, tail=0.5, limit=True)
    assert np.abs(loud).max() <= 10 ** (-1 / 20) + 1e-6


NATIVE_UNDER_CHECKER = """
import json, time
import fmcore
from fmcore_rt import rtcheck
from fmcore_rt.native_stream import NativeStream
synth = fmcore.Synth(48000, max_voices=16, max_block=64)
for i in range(8):
    synth.note_on(48 + 3 * i, 90)
with NativeStream(synth, 48000, 128, 2) as st:
    time.sleep(0.3)
    c0 = st.stats.callbacks
    with rtcheck.watch() as rep:
        time.sleep(1.5)
    c1 = st.stats.callbacks
print(json.dumps({"active": rep.active, "violations": rep.by_function, "sections": rep.sections,
                  "callbacks": c1 - c0, "blocks_per_callback": -(-128 // synth.max_block)}))
"""


def test_native_stream_callback_glue_runs_inside_the_checked_section():
    # per callback one section for the glue and one nested per block: the checker sees the glue
    import json
    import os

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from jack_server import running

    with running(48000, 128) as srv:
        r = rtcheck.run([sys.executable, "-c", NATIVE_UNDER_CHECKER], env=srv.env, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["active"] and res["violations"] == {}
    assert res["callbacks"] > 200
    # the sections counter is read a moment apart from the callback counter: allow a few callbacks
    per_callback = 1 + res["blocks_per_callback"]
    assert abs(res["sections"] - per_callback * res["callbacks"]) <= per_callback * 5, res
