"""Batch rendering: many jobs, every core, or a Ray cluster.

A manifest is JSON Lines, one job per line::

    {"note": 60, "velocity": 100, "hold": 1.0, "release": 1.0, "patch": "bank.syx:11", "output": "a.wav"}
    {"midi": "song.mid", "patch": "E.PIANO 1", "params": {"master.gain": 0.5}, "output": "b.flac"}

Fields: exactly one of ``note`` (with ``velocity`` (default 100), ``hold``
seconds (default 1.0), ``release`` seconds (default 1.0)) or ``midi`` (with
``tail`` seconds, default 2.0); ``patch`` (``bank.syx:N``, a patch JSON file, a
built-in patch name; default the built-in default patch); ``params`` (parameter
overrides by name); ``sample_rate`` (default 48000); ``output`` (.wav or
.flac; relative to ``out_dir``); optional ``id`` and ``subtype``.

Engines are reused: one per worker thread (threads backend) or per Ray worker
process (ray backend), with patches swapped between jobs, never rebuilt. The
audio work releases the GIL, so threads use every core. Outputs are written
atomically; a rerun skips jobs whose output exists and is complete; a failing
job is recorded with its one-line error and the batch goes on.
"""
from __future__ import annotations

import json
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

DEFAULT_RATE = 48000
MAX_VOICES = 16
BLOCK = 256


class JobError(ValueError):
    """A job line that cannot be run; the message names the job."""


@dataclass
class Job:
    index: int
    id: str
    output: Path
    sample_rate: int = DEFAULT_RATE
    patch: str | None = None
    params: dict = field(default_factory=dict)
    note: int | None = None
    velocity: int = 100
    hold: float = 1.0
    release: float = 1.0
    midi: Path | None = None
    tail: float = 2.0
    subtype: str = "PCM_24"

    def to_dict(self) -> dict:
        d = {"id": self.id, "output": str(self.output), "sample_rate": self.sample_rate, "patch": self.patch,
             "params": self.params, "subtype": self.subtype}
        if self.midi is not None:
            d.update(midi=str(self.midi), tail=self.tail)
        else:
            d.update(note=self.note, velocity=self.velocity, hold=self.hold, release=self.release)
        return d


def _number(d: dict, key: str, default, kind, lo, hi, where: str):
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and int(v) != v):
        raise JobError(f"{where}: {key} must be {'a whole number' if kind is int else 'a number'}, got {v!r}")
    if not (lo <= v <= hi) or (isinstance(v, float) and not math.isfinite(v)):
        raise JobError(f"{where}: {key} must be in {lo}..{hi}, got {v}")
    return kind(v)


def parse_job(d: dict, index: int, base: Path, out_dir: Path) -> Job:
    """Check one manifest entry and resolve its paths."""
    where = f"job {index + 1}" + (f" ({d['id']})" if isinstance(d, dict) and "id" in d else "")
    if not isinstance(d, dict):
        raise JobError(f"{where}: a job must be a JSON object")
    known = {"id", "note", "velocity", "hold", "release", "midi", "tail", "patch", "params", "sample_rate",
             "output", "subtype"}
    unknown = sorted(set(d) - known)
    if unknown:
        raise JobError(f"{where}: unknown field(s) {', '.join(unknown)}")
    if ("note" in d) == ("midi" in d):
        raise JobError(f"{where}: give exactly one of 'note' or 'midi'")
    if not isinstance(d.get("output"), str) or not d["output"]:
        raise JobError(f"{where}: 'output' (a .wav or .flac path) is required")
    output = Path(d["output"])
    output = output if output.is_absolute() else out_dir / output
    if output.suffix.lower() not in (".wav", ".flac"):
        raise JobError(f"{where}: output must end in .wav or .flac, got {output.name}")
    params = d.get("params", {})
    if not isinstance(params, dict):
        raise JobError(f"{where}: 'params' must be an object of name: value")
    patch = d.get("patch")
    if patch is not None and not isinstance(patch, str):
        raise JobError(f"{where}: 'patch' must be a string")
    if patch and (":" in patch or patch.endswith((".json", ".syx"))):
        file_part, _, voice = patch.partition(":") if ".syx:" in patch else (patch, "", "")
        fp = Path(file_part)
        patch = str(fp if fp.is_absolute() else base / fp) + (f":{voice}" if voice else "")
    job = Job(index=index, id=str(d.get("id", index + 1)), output=output, patch=patch, params=params,
              sample_rate=_number(d, "sample_rate", DEFAULT_RATE, int, 8000, 192000, where),
              subtype=str(d.get("subtype", "PCM_24")).upper())
    if "note" in d:
        job.note = _number(d, "note", None, int, 0, 127, where)
        job.velocity = _number(d, "velocity", 100, int, 1, 127, where)
        job.hold = _number(d, "hold", 1.0, float, 0.0, 3600.0, where)
        job.release = _number(d, "release", 1.0, float, 0.0, 3600.0, where)
    else:
        if not isinstance(d["midi"], str):
            raise JobError(f"{where}: 'midi' must be a path")
        mp = Path(d["midi"])
        job.midi = mp if mp.is_absolute() else base / mp
        job.tail = _number(d, "tail", 2.0, float, 0.0, 600.0, where)
    return job


def read_manifest(path: str | os.PathLike, out_dir: str | os.PathLike | None = None):
    """Jobs of a JSON Lines manifest, and the lines that could not be parsed (index, error)."""
    path = Path(path)
    base = path.resolve().parent
    out = Path(out_dir) if out_dir else base
    jobs, bad = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                bad.append((n, f"{path}: line {n + 1}: not valid JSON ({e.msg})"))
                continue
            try:
                jobs.append(parse_job(d, n, base, out))
            except JobError as e:
                bad.append((n, f"{path}: {e}"))
    return jobs, bad


# ---- rendering one job on a reused engine ------------------------------------

class EngineCache:
    """One synth per sample rate, owned by one worker (thread or process), reused across jobs."""

    def __init__(self, max_voices: int = MAX_VOICES, block: int = BLOCK):
        self.max_voices = max_voices
        self.block = block
        self._synths = {}
        self._patches = {}
        self._vectors = {}
        self.jobs = 0

    def synth(self, sample_rate: int):
        from fmcore import Synth

        s = self._synths.get(sample_rate)
        if s is None:
            s = self._synths[sample_rate] = Synth(sample_rate=sample_rate, max_voices=self.max_voices,
                                                  max_block=self.block)
        return s

    def patch(self, ref: str | None):
        """The patch (or bank) a reference names, loaded once per worker."""
        from fmcore.patchref import resolve_patch
        from fmcore.presets import builtin_bank

        if ref not in self._patches:
            self._patches[ref] = builtin_bank()[0] if ref is None else resolve_patch(ref)
        return self._patches[ref]


    def vector(self, ref: str | None, patch) -> list:
        """The patch's flat parameter vector (JSON-ready: NaN as None), computed once per reference."""
        if ref not in self._vectors:
            self._vectors[ref] = [None if math.isnan(v) else v for v in patch_vector(patch)[1]]
        return self._vectors[ref]


def _flatten(value, prefix: str, out: dict) -> None:
    # a patch as one flat, stably ordered vector of numbers (for datasets)
    if isinstance(value, dict):
        for k in sorted(value):
            _flatten(value[k], f"{prefix}.{k}" if prefix else k, out)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _flatten(v, f"{prefix}[{i}]", out)
    elif isinstance(value, bool):
        out[prefix] = float(value)
    elif isinstance(value, (int, float)):
        out[prefix] = float(value)
    elif value is None:
        out[prefix] = float("nan")


def patch_vector(patch) -> tuple[list[str], list[float]]:
    """Names and values of every numeric field of ``patch``, flattened in a stable order."""
    flat: dict = {}
    _flatten(patch.to_dict(), "", flat)
    return list(flat), list(flat.values())


def expected_frames(job: Job) -> int | None:
    """Frames a complete output of ``job`` has (None when only the render can tell)."""
    if job.note is not None:
        return int(round((job.hold + job.release) * job.sample_rate))
    return None


def output_complete(job: Job) -> bool:
    """Whether the job's output exists, is readable, and has the expected length."""
    import soundfile as sf

    if not job.output.is_file():
        return False
    try:
        info = sf.info(str(job.output))
    except RuntimeError:
        return False
    want = expected_frames(job)
    return info.samplerate == job.sample_rate and info.frames > 0 and (want is None or info.frames == want)


def render_job_audio(job: Job, cache: EngineCache, metadata: bool = False):
    """The audio of one job, (2, n) float32, and its metadata (patch vector only when asked)."""
    import numpy as np

    from fmcore.patch import Patch

    synth = cache.synth(job.sample_rate)
    patch = cache.patch(job.patch)
    meta = {}
    if job.note is not None and not isinstance(patch, Patch):
        raise JobError(f"{job.patch}: a note job needs one voice (e.g. bank.syx:11), not a whole bank")
    if job.midi is not None:
        from fmcore.render import render_midi

        audio = render_midi(job.midi, sample_rate=job.sample_rate, patches=patch, tail=job.tail,
                            synth=synth, params=job.params)
    else:
        synth.reset()
        synth.set_patch(patch, channel=0)
        if job.params:
            synth.params.set_many(job.params)
        synth.settle()
        events = [(0.0, 0x90, job.note, job.velocity), (job.hold, 0x80, job.note, 0)]
        audio = synth.render(events, duration=job.hold + job.release)
        meta = {"note": job.note, "velocity": job.velocity}
    if isinstance(patch, Patch):
        meta["patch_name"] = patch.name
        if metadata:
            meta["patch_vector"] = cache.vector(job.patch, patch)
    meta["params"] = dict(job.params)
    return np.ascontiguousarray(audio, dtype=np.float32), meta


def run_job(job: Job, cache: EngineCache, metadata: bool = False) -> dict:
    """Render and write one job; never raises for a bad job: the error is in the result."""
    from fmcore.audiofile import write_atomic

    t0 = time.perf_counter()
    rec = {"id": job.id, "index": job.index, "output": str(job.output)}
    try:
        audio, meta = render_job_audio(job, cache, metadata)
        job.output.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(job.output, audio, job.sample_rate, job.subtype)
        rec.update(status="done", audio_seconds=audio.shape[1] / job.sample_rate)
        if metadata:
            rec["metadata"] = meta
    except Exception as e:  # a bad job is recorded, the batch goes on
        rec.update(status="failed", error=" ".join(str(e).split()) or type(e).__name__)
    rec["wall_seconds"] = time.perf_counter() - t0
    cache.jobs += 1
    return rec


# ---- backends --------------------------------------------------------------

_thread_local = threading.local()
_process_cache: EngineCache | None = None


def _thread_cache() -> EngineCache:
    c = getattr(_thread_local, "cache", None)
    if c is None:
        c = _thread_local.cache = EngineCache()
    return c


def _run_in_process(job: Job, metadata: bool) -> dict:
    # a Ray worker process keeps one engine cache for every task it runs
    global _process_cache
    if _process_cache is None:
        _process_cache = EngineCache()
    rec = run_job(job, _process_cache, metadata)
    rec["worker_pid"] = os.getpid()
    return rec


def _threads(jobs, workers, metadata, on_done):
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fmcore-batch") as pool:
        futures = [pool.submit(lambda j=j: run_job(j, _thread_cache(), metadata)) for j in jobs]
        for f in as_completed(futures):
            on_done(f.result())


def _reachable(address) -> None:
    """Raise ConnectionError at once for a host:port nobody listens on (Ray would retry for minutes)."""
    import socket

    host, _, port = (address or "").removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return                      # None, "auto", "local": Ray looks itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as e:
        raise ConnectionError(f"cannot connect to {host}:{port}: {e.strerror or e}") from None


def _ray(jobs, workers, metadata, on_done, address):
    try:
        import ray
    except ImportError:
        from fmcore.errors import FmcoreError
        raise FmcoreError("the ray backend needs Ray: pip install 'fmcore[ray]'") from None
    started = False
    if not ray.is_initialized():
        kwargs = dict(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
        if address:
            kwargs["address"] = address
        else:
            kwargs["num_cpus"] = workers
        try:
            _reachable(address)
            ray.init(**kwargs)
        except ConnectionError as e:        # no cluster there: one line, not Ray's traceback
            from fmcore.errors import FmcoreError
            why = str(e).strip().split(". ")[0].rstrip(".") or type(e).__name__
            raise FmcoreError(f"no Ray cluster at --ray-address {address} ({why}); start one with "
                              f"`ray start --head`, or leave out --ray-address for a local Ray") from None
        started = True
    try:
        task = ray.remote(num_cpus=1)(_run_in_process)
        pending = [task.remote(j, metadata) for j in jobs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            on_done(ray.get(done[0]))
    finally:
        if started:
            ray.shutdown()


@dataclass
class BatchSummary:
    jobs: int
    done: int
    skipped: int
    failed: int
    audio_seconds: float
    wall_seconds: float
    results_path: Path | None
    records: list = field(default_factory=list)

    @property
    def realtime_factor(self) -> float:
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else math.inf

    def line(self) -> str:
        return (f"{self.jobs} jobs: {self.done} done, {self.skipped} skipped, {self.failed} failed; "
                f"{self.audio_seconds:.1f} s of audio in {self.wall_seconds:.1f} s "
                f"({self.realtime_factor:.1f}x real time)")


def render_jobs(jobs: Iterable[Job | dict], workers: int | None = None, backend: str = "threads",
                out_dir: str | os.PathLike | None = None, results: str | os.PathLike | None = None,
                metadata: bool = False, progress: bool = False, ray_address: str | None = None,
                resume: bool = True) -> BatchSummary:
    """Render jobs (``Job``s or manifest dicts) and write their outputs and a results file.

    ``workers`` defaults to the number of cores. Jobs whose output exists and
    is complete are skipped (``resume=False`` renders them again). Failing
    jobs are recorded with their error and do not stop the batch. The results
    file (JSON Lines; default ``<out_dir>/results.jsonl``) is written
    atomically at the end.
    """
    out = Path(out_dir) if out_dir else Path.cwd()
    parsed, records = [], []
    for i, j in enumerate(jobs):
        if isinstance(j, Job):
            parsed.append(j)
            continue
        try:
            parsed.append(parse_job(j, i, Path.cwd(), out))
        except JobError as e:
            records.append({"id": str(j.get("id", i + 1)) if isinstance(j, dict) else str(i + 1), "index": i,
                            "status": "failed", "error": str(e)})
    workers = workers or os.cpu_count() or 1
    if backend not in ("threads", "ray"):
        raise ValueError(f"unknown backend {backend!r} (threads or ray)")
    todo = []
    for j in parsed:
        if resume and output_complete(j):
            records.append({"id": j.id, "index": j.index, "output": str(j.output), "status": "skipped"})
        else:
            todo.append(j)
    bar = None
    if progress and todo:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), unit="job", desc="rendering", leave=False)

    def on_done(rec):
        records.append(rec)
        if bar is not None:
            bar.update(1)

    t0 = time.perf_counter()
    try:
        if todo:
            if backend == "threads":
                _threads(todo, workers, metadata, on_done)
            else:
                _ray(todo, workers, metadata, on_done, ray_address)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    records.sort(key=lambda r: r["index"])
    results_path = Path(results) if results else out / "results.jsonl"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    from fmcore.atomicfile import write_text

    write_text(results_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    count = {s: sum(1 for r in records if r["status"] == s) for s in ("done", "skipped", "failed")}
    return BatchSummary(jobs=len(records), done=count["done"], skipped=count["skipped"], failed=count["failed"],
                        audio_seconds=sum(r.get("audio_seconds", 0.0) for r in records), wall_seconds=wall,
                        results_path=results_path, records=records)
