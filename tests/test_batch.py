"""Batch rendering: manifests, engines reused per worker, resumable, failures recorded, threads and Ray."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

import fmcore
from fmcore.batch import read_manifest, render_jobs
from fmcore.presets import builtin_patch
from fmcore.render import demo_song_path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def write_manifest(tmp_path, jobs):
    m = tmp_path / "jobs.jsonl"
    m.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    return m


def note_jobs(n=6):
    names = ["E.Piano", "Finger Bass", "Tubular Bells", "Brass"]
    return [{"id": f"n{i}", "note": 48 + i, "velocity": 60 + 10 * (i % 6), "hold": 0.3, "release": 0.2,
             "patch": names[i % len(names)], "output": f"notes/n{i}.wav"} for i in range(n)]


def read(path):
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    return x.T, sr


def test_note_jobs_match_a_direct_render(tmp_path):
    m = write_manifest(tmp_path, note_jobs(4))
    jobs, bad = read_manifest(m)
    assert bad == [] and len(jobs) == 4
    summary = render_jobs(jobs, workers=2, results=tmp_path / "results.jsonl")
    assert (summary.done, summary.failed, summary.skipped) == (4, 0, 0)
    for j in jobs:
        s = fmcore.Synth(48000, max_voices=16, max_block=256)
        s.set_patch(builtin_patch(j.patch))
        s.settle()
        ref = s.render([(0.0, 0x90, j.note, j.velocity), (j.hold, 0x80, j.note, 0)], duration=j.hold + j.release)
        got, sr = read(j.output)
        assert sr == 48000 and got.shape == ref.shape
        assert np.abs(got - ref).max() < 2.0 ** -22, "24-bit output of the same render"


def test_failures_are_recorded_and_the_batch_goes_on_then_resumes(tmp_path):
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x10\x00\x00\x90\x3c")
    jobs = note_jobs(3) + [
        {"id": "badpatch", "note": 60, "patch": "No Such Patch", "output": "bad1.wav"},
        {"id": "badmidi", "midi": str(corrupt), "output": "bad2.wav"},
        {"id": "song", "midi": str(demo_song_path()), "tail": 0.2, "params": {"master.gain": 0.5},
         "output": "song.flac"},
    ]
    m = write_manifest(tmp_path, jobs)
    r = subprocess.run([sys.executable, "-m", "fmcore.cli", "batch", str(m), "--workers", "2", "--metadata"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    assert "6 jobs: 4 done, 0 skipped, 2 failed" in r.stdout
    results = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    by_id = {x["id"]: x for x in results}
    assert by_id["badpatch"]["status"] == "failed" and "No Such Patch" in by_id["badpatch"]["error"]
    assert by_id["badmidi"]["status"] == "failed" and "corrupt.mid" in by_id["badmidi"]["error"]
    assert "\n" not in by_id["badmidi"]["error"]
    assert not (tmp_path / "bad1.wav").exists() and not (tmp_path / "bad2.wav").exists()
    meta = by_id["n0"]["metadata"]
    assert meta["note"] == 48 and len(meta["patch_vector"]) > 50 and meta["patch_name"] == "E.Piano"
    song, _ = read(tmp_path / "song.flac")
    assert song.shape[1] > 48000 * 20
    # a rerun skips what is complete and retries only the failures
    r2 = subprocess.run([sys.executable, "-m", "fmcore.cli", "batch", str(m)], capture_output=True, text=True,
                        timeout=300)
    assert "6 jobs: 0 done, 4 skipped, 2 failed" in r2.stdout
    # a truncated output is not complete: it is rendered again
    (tmp_path / "notes" / "n1.wav").write_bytes((tmp_path / "notes" / "n1.wav").read_bytes()[:1000])
    r3 = subprocess.run([sys.executable, "-m", "fmcore.cli", "batch", str(m)], capture_output=True, text=True,
                        timeout=300)
    assert "6 jobs: 1 done, 3 skipped, 2 failed" in r3.stdout


def test_manifest_errors_name_the_line(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text('{"note": 60, "output": "a.wav"}\n{not json}\n{"note": 60, "midi": "x.mid", "output": "b.wav"}\n'
                 '{"note": 200, "output": "c.wav"}\n{"note": 60, "output": "d.txt"}\n')
    jobs, bad = read_manifest(m)
    assert len(jobs) == 1
    msgs = [e for _, e in bad]
    assert "line 2: not valid JSON" in msgs[0]
    assert "exactly one of 'note' or 'midi'" in msgs[1]
    assert "note must be in 0..127" in msgs[2]
    assert "must end in one of .wav, .flac" in msgs[3]


def test_threads_give_the_same_outputs_as_one_worker(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    render_jobs(note_jobs(8), workers=1, out_dir=a)
    render_jobs(note_jobs(8), workers=2, out_dir=b)
    for i in range(8):
        assert np.array_equal(read(a / f"notes/n{i}.wav")[0], read(b / f"notes/n{i}.wav")[0])


def test_ray_backend_runs_the_same_manifest(tmp_path):
    import ray  # noqa: F401  (the Ray extra is installed in CI: a missing Ray fails here)

    ref = tmp_path / "threads"
    render_jobs(note_jobs(6), workers=1, out_dir=ref)
    out = tmp_path / "ray"
    summary = render_jobs(note_jobs(6), workers=2, backend="ray", out_dir=out)
    assert summary.done == 6 and summary.failed == 0
    pids = {r["worker_pid"] for r in summary.records}
    assert 1 <= len(pids) <= 2, "one engine per Ray worker process, reused across its tasks"
    for i in range(6):
        assert np.array_equal(read(ref / f"notes/n{i}.wav")[0], read(out / f"notes/n{i}.wav")[0])
