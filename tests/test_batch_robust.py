"""Batch manifests from the wild, and nothing lost when a batch is killed (issue 14 items 14, 18, 19)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fmcore.batch import read_manifest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TINY = DATA / "midi" / "tiny-piano-cc64_music21-test14.mid"


def cli(*args):
    return [sys.executable, "-m", "fmcore.cli", *map(str, args)]


def run_batch(manifest, *args, timeout=600):
    return subprocess.run(cli("batch", manifest, "--workers", "1", *args), capture_output=True, text=True,
                          timeout=timeout)


def results(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def note(i, **kw):
    return {"id": f"n{i}", "note": 48 + i, "hold": 0.1, "release": 0.1, "output": f"n{i}.wav", **kw}


@pytest.mark.parametrize("line, needle", [
    ('{"note": NaN, "output": "a.wav"}', "line 1: NaN is not a number JSON allows"),
    ('{"note": Infinity, "output": "a.wav"}', "line 1: Infinity is not a number JSON allows"),
    ('{"note": -Infinity, "output": "a.wav"}', "line 1: -Infinity is not a number JSON allows"),
    ('{"note": 1e400, "output": "a.wav"}', "line 1: the number 1e400 is out of range"),
    ('{"note": 60, "sample_rate": Infinity, "output": "a.wav"}', "Infinity is not a number JSON allows"),
    ('{"note": 60, "sample_rate": 1' + "0" * 30 + ', "output": "a.wav"}', "sample_rate must be in 8000..384000"),
    ('{"note": 60, "hold": 1' + "0" * 5000 + ', "output": "a.wav"}', "line 1: Exceeds the limit"),
    ('{"note": 60, "params": {"master.gain": 1e999}, "output": "a.wav"}', "1e999 is out of range"),
    ('{"note": 60.5, "output": "a.wav"}', "note must be a whole number, got 60.5"),
    ('{"note": 60, "output": "a.wav", "limit": "yes"}', "'limit' must be true or false"),
    ("[" * 100000 + "]" * 100000, "line 1: not a job (JSON nested too deeply)"),
    ('{"note": 60, "output": "a.wav", "subtype": "PCM_99"}', "WAV cannot hold PCM_99 samples"),
    ('{"note": 60, "output": "a.ogg", "subtype": "PCM_16"}', "compressed format without a bit depth"),
])
def test_bad_manifest_lines_are_named_and_the_rest_runs(tmp_path, line, needle):
    m = tmp_path / "m.jsonl"
    m.write_text(line + "\n" + json.dumps(note(1)) + "\n")
    r = run_batch(m)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and needle in r.stderr, r.stderr
    assert r.stderr.splitlines()[0].startswith(f"fmcore: error: {m}: line 1")
    assert "1 jobs: 1 done, 0 skipped, 0 failed; 1 manifest line unreadable" in r.stdout
    recs = results(tmp_path / "results.jsonl")
    assert [(x["id"], x["status"]) for x in recs] == [("line 1", "invalid"), ("n1", "done")]


def test_a_manifest_that_is_not_utf8(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_bytes(json.dumps(note(1)).encode() + b"\n" + b'{"note": 60, "id": "caf\xe9", "output": "x.wav"}\n')
    r = run_batch(m)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{m}: line 2: not UTF-8 text (byte 24 is 0xE9)" in r.stderr, r.stderr
    assert (tmp_path / "n1.wav").exists()


@pytest.mark.parametrize("make, needle", [
    (lambda d: d / "missing.jsonl", "missing.jsonl: no such file or directory"),
    (lambda d: d, "is a directory"),
])
def test_an_unreadable_manifest_is_one_line(tmp_path, make, needle):
    r = run_batch(make(tmp_path))
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_job_errors_read_like_the_command_line_not_like_python(tmp_path):
    (tmp_path / "blocker").write_text("a file where a directory should be")
    jobs = [{"id": "nosyx", "note": 60, "patch": "missing.syx:3", "output": "a.wav"},
            {"id": "nomidi", "midi": "missing.mid", "output": "b.wav"},
            {"id": "notdir", "note": 60, "hold": 0.1, "release": 0.1, "output": "blocker/c.wav"},
            {"id": "param", "note": 60, "params": {"no.such": 1.0}, "output": "d.wav"},
            {"id": "long", "midi": str(TINY), "tail": 400.0, "output": "e.wav"}]
    m = tmp_path / "m.jsonl"
    m.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    r = run_batch(m, "--max-duration", "60")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    errors = {x["id"]: x["error"] for x in results(tmp_path / "results.jsonl")}
    assert errors["nosyx"] == f"{tmp_path / 'missing.syx'}: no such file or directory"
    assert errors["nomidi"] == f"{tmp_path / 'missing.mid'}: no such file"
    assert errors["notdir"].endswith("blocker: file exists") or "not a directory" in errors["notdir"]
    assert errors["param"] == "params: unknown parameter(s) no.such"
    assert "more than the limit of 60.0 s" in errors["long"]
    assert not any("Errno" in e or e.startswith("'") for e in errors.values()), errors


def wait_for(pred, timeout=120.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def killable_batch(tmp_path, n=4):
    """n quick note jobs, then a long MIDI job the batch is killed in."""
    jobs = [note(i) for i in range(n)] + [{"id": "long", "midi": str(TINY), "tail": 3000, "output": "long.wav"}]
    m = tmp_path / "m.jsonl"
    m.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    return m, jobs


def n_lines(path):
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_kill_9_keeps_the_records_of_finished_jobs_and_a_rerun_keeps_them_too(tmp_path):
    m, jobs = killable_batch(tmp_path)
    res = tmp_path / "results.jsonl"
    p = subprocess.Popen(cli("batch", m, "--workers", "1", "--metadata"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    wait_for(lambda: n_lines(res) >= 4 and any(".part" in n for n in os.listdir(tmp_path)))
    p.kill()
    p.wait(timeout=60)
    recs = results(res)                 # was: no results file at all
    assert sorted(x["id"] for x in recs) == ["n0", "n1", "n2", "n3"]
    assert all(x["status"] == "done" and x["metadata"]["note"] == 48 + int(x["id"][1]) for x in recs)
    # the rerun (without the long job) skips what is done and keeps those records with their metadata
    m.write_text("".join(json.dumps(j) + "\n" for j in jobs[:4] + [note(9)]))
    r = run_batch(m)
    assert r.returncode == 0 and "5 jobs: 1 done, 4 skipped, 0 failed" in r.stdout, r.stdout + r.stderr
    after = {x["id"]: x for x in results(res)}
    assert set(after) == {"n0", "n1", "n2", "n3", "n9"}, "one record per output, the killed job's none"
    for i in range(4):
        assert after[f"n{i}"] == next(x for x in recs if x["id"] == f"n{i}"), "earlier record kept whole"
    assert not any(".part" in n for n in os.listdir(tmp_path)), "the killed job's temporary file was swept"


def test_sigterm_stops_a_batch_between_spans_and_leaves_nothing(tmp_path):
    m, _ = killable_batch(tmp_path)
    res = tmp_path / "results.jsonl"
    p = subprocess.Popen(cli("batch", m, "--workers", "2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    wait_for(lambda: n_lines(res) >= 4 and any(".part" in n for n in os.listdir(tmp_path)))
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 143 and err.strip().endswith("fmcore: terminated") and "Traceback" not in err
    assert time.monotonic() - t0 < 10, "the running render stops at its next span, not at its end"
    assert not any(".part" in n for n in os.listdir(tmp_path)) and not (tmp_path / "long.wav").exists()
    assert sorted(x["id"] for x in results(res)) == ["n0", "n1", "n2", "n3"]


def test_read_manifest_reports_lines_in_the_api_too(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_bytes(b'\xef\xbb\xbf' + json.dumps(note(1)).encode() + b'\n{"note": NaN, "output": "x.wav"}\n')
    jobs, bad = read_manifest(m)
    assert [j.id for j in jobs] == ["n1"] and bad == [(1, f"{m}: line 2: NaN is not a number JSON allows")]


def test_a_full_disk_fails_the_job_that_hit_it_and_names_the_file(tmp_path):
    d = tmp_path / "small"
    d.mkdir()
    jobs = [note(0), note(1, hold=5.0), note(2)]          # the second job needs more than is left
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(j) + "\n" for j in jobs))
    script = (f"mount -t tmpfs -o size=200k tmpfs {d} && cp {tmp_path / 'm.jsonl'} {d} && "
              f"{' '.join(cli('batch', d / 'm.jsonl', '--workers', '1'))}; rc=$?; "
              f"echo RESULTS; cat {d / 'results.jsonl'}; echo; echo LEFT:$(ls -A {d}); exit $rc")
    r = subprocess.run(["unshare", "--map-root-user", "--mount", "sh", "-c", script], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 1 and "Traceback" not in r.stderr, (r.stdout, r.stderr)
    lines = r.stdout.split("RESULTS")[1].split("LEFT:")[0].splitlines()
    recs = {x["id"]: x for x in map(json.loads, filter(str.strip, lines))}
    assert recs["n1"]["error"] == f"{d / 'n1.wav'}: the disk is full (no space left on device)"
    assert recs["n0"]["status"] == recs["n2"]["status"] == "done"
    assert r.stdout.split("LEFT:")[1].split() == ["m.jsonl", "n0.wav", "n2.wav", "results.jsonl"]
