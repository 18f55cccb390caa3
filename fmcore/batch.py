"""Batch rendering: many jobs, every core, or a Ray cluster.

A manifest is JSON Lines, one job per line::

    {"note": 60, "velocity": 100, "hold": 1.0, "release": 1.0, "patch": "bank.syx:11", "output": "a.wav"}
    {"midi": "song.mid", "patch": "E.PIANO 1", "params": {"master.gain": 0.5}, "output": "b.flac"}

Fields: exactly one of ``note`` (with ``velocity`` (default 100), ``hold``
seconds (default 1.0), ``release`` seconds (default 1.0)) or ``midi`` (with
``tail`` seconds, default 2.0); ``patch`` (``bank.syx:N``, a patch JSON file, a
built-in patch name; default the built-in default patch); ``params`` (parameter
overrides by name); ``sample_rate`` (default 48000); ``output`` (.wav, .flac,
.aiff, .w64, .rf64, .ogg, .opus, .mp3; relative to ``out_dir``); ``limit``
(the output limiter, default true); optional ``id`` and ``subtype``.

Engines are reused: one per worker thread (threads backend) or per Ray worker
process (ray backend), with patches swapped between jobs, never rebuilt. The
audio work releases the GIL, so threads use every core. Outputs stream to
their files and are written atomically; a rerun skips jobs whose output
exists and is complete; a failing job is recorded with its one-line error
and the batch goes on.

Nothing is lost: each result is appended to the results file (JSON Lines)
as soon as its job ends, flushed to disk, so a batch killed at any point
keeps the records of the jobs it finished. When the batch ends the file is
rewritten (atomically) with one record per output: this run's, then the
earlier records of outputs this run did not touch, so a resumed batch keeps
the metadata of the jobs it skipped.
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

from fmcore.errors import FmcoreError, describe_error

DEFAULT_RATE = 48000
MAX_VOICES = 16
BLOCK = 256


class JobError(FmcoreError, ValueError):
    """A job line that cannot be run; the message names the job."""


class ManifestError(FmcoreError, ValueError):
    """A manifest that cannot be read at all (missing, a directory, unreadable)."""


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
    subtype: str | None = None
    limit: bool = True

    def to_dict(self) -> dict:
        d = {"id": self.id, "output": str(self.output), "sample_rate": self.sample_rate, "patch": self.patch,
             "params": self.params, "subtype": self.subtype, "limit": self.limit}
        if self.midi is not None:
            d.update(midi=str(self.midi), tail=self.tail)
        else:
            d.update(note=self.note, velocity=self.velocity, hold=self.hold, release=self.release)
        return d


def _number(d: dict, key: str, default, kind, lo, hi, where: str):
    v = d.get(key, default)
    what = "a whole number" if kind is int else "a number"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise JobError(f"{where}: {key} must be {what}, got {_short(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise JobError(f"{where}: {key} must be a finite number in {lo}..{hi}, got {v}")
    if not lo <= v <= hi:
        raise JobError(f"{where}: {key} must be in {lo}..{hi}, got {_short(v)}")
    if kind is int and int(v) != v:
        raise JobError(f"{where}: {key} must be {what}, got {v!r}")
    return kind(v)


def _short(v, limit: int = 40) -> str:
    text = v if isinstance(v, str) else repr(v)
    return text if len(text) <= limit else text[:limit] + "..."


def parse_job(d: dict, index: int, base: Path, out_dir: Path, label: str | None = None) -> Job:
    """Check one manifest entry and resolve its paths; errors start with ``label`` (default "job N")."""
    where = (label or f"job {index + 1}") + (f" ({_short(str(d['id']))})" if isinstance(d, dict) and "id" in d
                                              else "")
    if not isinstance(d, dict):
        raise JobError(f"{where}: a job must be a JSON object")
    from fmcore.audiofile import FORMATS, AudioFileError, format_for

    known = {"id", "note", "velocity", "hold", "release", "midi", "tail", "patch", "params", "sample_rate",
             "output", "subtype", "limit"}
    unknown = sorted(str(k) for k in set(d) - known)
    if unknown:
        raise JobError(f"{where}: unknown field(s) {_short(', '.join(unknown), 80)}")
    if ("note" in d) == ("midi" in d):
        raise JobError(f"{where}: give exactly one of 'note' or 'midi'")
    if not isinstance(d.get("output"), str) or not d["output"] or "\0" in d["output"]:
        raise JobError(f"{where}: 'output' (an audio file path: {', '.join(FORMATS)}) is required")
    output = Path(d["output"])
    output = output if output.is_absolute() else out_dir / output
    if output.suffix.lower() not in FORMATS:
        raise JobError(f"{where}: output must end in one of {', '.join(FORMATS)}, got {_short(output.name)}")
    params = d.get("params", {})
    if not isinstance(params, dict):
        raise JobError(f"{where}: 'params' must be an object of name: value")
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise JobError(f"{where}: params: {_short(name)} must be a finite number, got {_short(value)}")
    subtype = d.get("subtype")
    if subtype is not None and not isinstance(subtype, str):
        raise JobError(f"{where}: 'subtype' must be a string such as \"PCM_16\"")
    if not isinstance(d.get("limit", True), bool):
        raise JobError(f"{where}: 'limit' must be true or false")
    patch = d.get("patch")
    if patch is not None and not isinstance(patch, str):
        raise JobError(f"{where}: 'patch' must be a string")
    if patch and (":" in patch or patch.endswith((".json", ".syx"))):
        file_part, _, voice = patch.partition(":") if ".syx:" in patch else (patch, "", "")
        fp = Path(file_part)
        patch = str(fp if fp.is_absolute() else base / fp) + (f":{voice}" if voice else "")
    job = Job(index=index, id=_short(str(d.get("id", index + 1)), 200), output=output, patch=patch,
              params=params, sample_rate=_number(d, "sample_rate", DEFAULT_RATE, int, 8000, 384000, where),
              subtype=subtype.upper() if subtype else None, limit=d.get("limit", True))
    try:
        format_for(output, job.subtype)
    except AudioFileError as e:
        raise JobError(f"{where}: {e}") from None
    if "note" in d:
        job.note = _number(d, "note", None, int, 0, 127, where)
        job.velocity = _number(d, "velocity", 100, int, 1, 127, where)
        job.hold = _number(d, "hold", 1.0, float, 0.0, 1e6, where)
        job.release = _number(d, "release", 1.0, float, 0.0, 1e6, where)
    else:
        if not isinstance(d["midi"], str) or not d["midi"] or "\0" in d["midi"]:
            raise JobError(f"{where}: 'midi' must be a path")
        mp = Path(d["midi"])
        job.midi = mp if mp.is_absolute() else base / mp
        job.tail = _number(d, "tail", 2.0, float, 0.0, 1e6, where)
    return job


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"the number {text} is out of range")
    return v


def parse_line(line: str):
    """One manifest line as JSON; strict: no NaN/Infinity, no number beyond float range."""
    return json.loads(line, parse_constant=_no_constant, parse_float=_finite_float)


def read_manifest(path: str | os.PathLike, out_dir: str | os.PathLike | None = None):
    """Jobs of a JSON Lines manifest, and the lines that could not be used: (index, one-line error).

    A manifest that cannot be read at all raises ``ManifestError``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ManifestError(describe_error(e) if e.filename else f"{path}: {describe_error(e)}") from None
    base = path.resolve().parent
    out = Path(out_dir) if out_dir else base
    jobs, bad = [], []
    for n, raw in enumerate(data.split(b"\n")):
        if n == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]                     # a UTF-8 byte order mark
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            bad.append((n, f"{path}: line {n + 1}: not UTF-8 text (byte {e.start + 1} is 0x{raw[e.start]:02X})"))
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            d = parse_line(line)
        except json.JSONDecodeError as e:
            bad.append((n, f"{path}: line {n + 1}: not valid JSON ({e.msg} at column {e.colno})"))
            continue
        except RecursionError:
            bad.append((n, f"{path}: line {n + 1}: not a job (JSON nested too deeply)"))
            continue
        except ValueError as e:            # NaN/Infinity, 1e400, an integer of thousands of digits
            bad.append((n, f"{path}: line {n + 1}: {_short(str(e), 120)}"))
            continue
        try:
            jobs.append(parse_job(d, n, base, out, label=f"line {n + 1}"))
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


def _prepare_job(job: Job, cache: EngineCache, max_duration: float):
    """The engine set up for ``job`` and its events: a render ready to stream (see ``fmcore.render``)."""
    import numpy as np

    from fmcore.patch import Patch
    from fmcore.render import RenderError, _prepare, _Prepared

    synth = cache.synth(job.sample_rate)
    patch = cache.patch(job.patch)
    if job.note is not None and not isinstance(patch, Patch):
        raise JobError(f"{job.patch}: a note job needs one voice (e.g. bank.syx:11), not a whole bank")
    unknown = sorted(set(job.params) - set(synth.params.names()))
    if unknown:
        raise JobError(f"params: unknown parameter(s) {_short(', '.join(map(str, unknown)), 80)}")
    if job.midi is not None:
        return _prepare(job.midi, job.sample_rate, patch, job.tail, cache.block, cache.max_voices, False, True,
                        synth, job.params, job.limit, max_duration)
    t0 = time.perf_counter()
    seconds = job.hold + job.release
    if seconds > max_duration:
        raise RenderError(f"job {job.id}: hold + release = {seconds:g} s, more than the limit of {max_duration:g} s")
    synth.reset()
    synth.set_patch(patch, channel=0)
    if job.params:
        synth.params.set_many(job.params)
    if job.limit:
        synth.params["fx.limiter.ceiling_db"] = -1.0
        synth.fx.enable("limiter")
    else:
        synth.fx.disable("limiter")
    synth.settle()
    synth.fx.reset()
    sr = job.sample_rate
    raw = np.array([[0, 0x90, job.note, job.velocity], [int(np.rint(job.hold * sr)), 0x80, job.note, 0]], np.int64)
    total = int(round(seconds * sr))
    raw = raw[raw[:, 0] < total]
    return _Prepared(f"job {job.id}", synth, None, raw, total, int(synth.fx.latency), 1, [], t0)


def _job_meta(job: Job, cache: EngineCache, metadata: bool) -> dict:
    from fmcore.patch import Patch

    patch = cache.patch(job.patch)
    meta = {"note": job.note, "velocity": job.velocity} if job.note is not None else {}
    if isinstance(patch, Patch):
        meta["patch_name"] = patch.name
        if metadata:
            meta["patch_vector"] = cache.vector(job.patch, patch)
    meta["params"] = dict(job.params)
    return meta


def render_job_audio(job: Job, cache: EngineCache, metadata: bool = False,
                     max_duration: float | None = None):
    """The audio of one job, (2, n) float32, and its metadata (patch vector only when asked)."""
    import numpy as np

    from fmcore.render import DEFAULT_MAX_DURATION, _spans

    prep = _prepare_job(job, cache, DEFAULT_MAX_DURATION if max_duration is None else max_duration)
    audio = np.concatenate([p.copy() for p in _spans(prep, cache.block, None)], axis=1) if prep.total else \
        np.zeros((2, 0), np.float32)
    return audio, _job_meta(job, cache, metadata)


def run_job(job: Job, cache: EngineCache, metadata: bool = False, max_duration: float | None = None,
            cancel=None) -> dict:
    """Render one job straight into its output file; never raises for a bad job: the error is in the result.

    ``cancel`` (a ``threading.Event``) stops the render between spans: ``RenderCancelled`` propagates
    and nothing is written.
    """
    from fmcore.render import DEFAULT_MAX_DURATION, RenderCancelled, write_render

    t0 = time.perf_counter()
    rec = {"id": job.id, "index": job.index, "output": str(job.output)}
    try:
        prep = _prepare_job(job, cache, DEFAULT_MAX_DURATION if max_duration is None else max_duration)
        job.output.parent.mkdir(parents=True, exist_ok=True)
        peak, _ = write_render(prep, job.output, job.subtype, cache.block, cancel=cancel)
        rec.update(status="done", audio_seconds=prep.total / job.sample_rate,
                   peak_dbfs=round(20 * math.log10(peak), 2) if peak > 0 else None)
        if metadata:
            rec["metadata"] = _job_meta(job, cache, metadata)
    except RenderCancelled:
        raise
    except Exception as e:  # a bad job is recorded, the batch goes on
        rec.update(status="failed", error=describe_error(e))
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


def _run_in_process(job: Job, metadata: bool, max_duration: float | None = None) -> dict:
    # a Ray worker process keeps one engine cache for every task it runs
    global _process_cache
    if _process_cache is None:
        _process_cache = EngineCache()
    rec = run_job(job, _process_cache, metadata, max_duration)
    rec["worker_pid"] = os.getpid()
    return rec


def _threads(jobs, workers, metadata, on_done, max_duration=None):
    from fmcore.render import RenderCancelled

    cancel = threading.Event()

    def work(j):
        if cancel.is_set():
            return None
        return run_job(j, _thread_cache(), metadata, max_duration, cancel)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fmcore-batch")
    try:
        futures = [pool.submit(work, j) for j in jobs]
        for f in as_completed(futures):
            try:
                rec = f.result()
            except RenderCancelled:
                continue
            if rec is not None:
                on_done(rec)
    except BaseException:
        # Ctrl-C, SIGTERM, a results file that cannot be written: stop the running renders between
        # spans (their temporary files are removed), drop the queued jobs, then let it propagate
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


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


def _ray(jobs, workers, metadata, on_done, address, max_duration=None):
    try:
        import ray
    except ImportError:
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
        pending = [task.remote(j, metadata, max_duration) for j in jobs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            on_done(ray.get(done[0]))
    finally:
        if started:
            ray.shutdown()


# ---- the results file --------------------------------------------------------

def read_results(path: str | os.PathLike) -> list[dict]:
    """The records of a results file, in file order; a line cut short by a crash is passed over."""
    out = []
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return out
    except OSError as e:
        raise FmcoreError(describe_error(e)) from None
    for raw in data.split(b"\n"):
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


class ResultsLog:
    """The results file: each record appended and synced as its job ends, compacted when the batch ends."""

    def __init__(self, path: Path):
        self.path = path
        self.earlier = read_results(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(path, "ab")
            if self._f.tell() > 0:
                with open(path, "rb") as f:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        self._write(b"\n")     # the last line of a killed run was cut short
        except OSError as e:
            raise FmcoreError(describe_error(e) if e.filename else f"{path}: {describe_error(e)}") from None

    def _write(self, data: bytes) -> None:
        try:
            self._f.write(data)
            self._f.flush()
            os.fsync(self._f.fileno())
        except OSError as e:
            raise FmcoreError(f"{self.path}: cannot record results: {describe_error(e)}") from None

    def append(self, rec: dict) -> None:
        self._write((json.dumps(rec, sort_keys=True) + "\n").encode("utf-8"))

    def close(self) -> None:
        self._f.close()

    def finish(self, current: list[dict]) -> None:
        """Rewrite the file: this run's records (a skipped job keeps its earlier record), then earlier
        records of outputs this run did not touch."""
        from fmcore.atomicfile import write_text

        self.close()
        done_before = {r["output"]: r for r in self.earlier if r.get("status") == "done" and "output" in r}
        rows = [done_before.get(r.get("output"), r) if r["status"] == "skipped" else r for r in current]
        touched = {r.get("output") for r in current}
        seen = set()
        older = []
        for r in reversed(self.earlier):     # the latest earlier record of each output
            out = r.get("output")
            if out is not None and out not in touched and out not in seen:
                seen.add(out)
                older.append(r)
        rows += reversed(older)
        try:
            write_text(self.path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        except OSError as e:
            raise FmcoreError(f"{self.path}: cannot record results: {describe_error(e)}") from None


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
    invalid: int = 0          # manifest lines that could not be read as jobs

    @property
    def realtime_factor(self) -> float:
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else math.inf

    def line(self) -> str:
        bad = f"; {self.invalid} manifest line{'s' if self.invalid != 1 else ''} unreadable" if self.invalid else ""
        return (f"{self.jobs} jobs: {self.done} done, {self.skipped} skipped, {self.failed} failed{bad}; "
                f"{self.audio_seconds:.1f} s of audio in {self.wall_seconds:.1f} s "
                f"({self.realtime_factor:.1f}x real time)")


def render_jobs(jobs: Iterable[Job | dict], workers: int | None = None, backend: str = "threads",
                out_dir: str | os.PathLike | None = None, results: str | os.PathLike | None = None,
                metadata: bool = False, progress: bool = False, ray_address: str | None = None,
                resume: bool = True, invalid: Iterable[tuple[int, str]] = (),
                max_duration: float | None = None) -> BatchSummary:
    """Render jobs (``Job``s or manifest dicts) and write their outputs and a results file.

    ``workers`` defaults to the number of cores. Jobs whose output exists and
    is complete are skipped (``resume=False`` renders them again). Failing
    jobs are recorded with their error and do not stop the batch. The results
    file (JSON Lines; default ``<out_dir>/results.jsonl``) gets each record as
    its job ends (flushed to disk) and is compacted when the batch ends;
    ``invalid`` manifest lines (``read_manifest``'s second list) are recorded
    as failed with their line number. ``max_duration`` (seconds, default
    ``fmcore.render.DEFAULT_MAX_DURATION``) bounds each job.
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
            records.append({"id": _short(str(j.get("id", i + 1)), 200) if isinstance(j, dict) else str(i + 1),
                            "index": i, "status": "failed", "error": str(e)})
    invalid_records = [{"id": f"line {n + 1}", "index": n, "line": n + 1, "status": "invalid", "error": err}
                       for n, err in invalid]
    workers = workers or os.cpu_count() or 1
    if backend not in ("threads", "ray"):
        raise ValueError(f"unknown backend {backend!r} (threads or ray)")
    results_path = Path(results) if results else out / "results.jsonl"
    log = ResultsLog(results_path)
    try:
        for r in records + invalid_records:
            log.append(r)
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
            log.append(rec)
            records.append(rec)
            if bar is not None:
                bar.update(1)

        t0 = time.perf_counter()
        try:
            if todo:
                if backend == "threads":
                    _threads(todo, workers, metadata, on_done, max_duration)
                else:
                    _ray(todo, workers, metadata, on_done, ray_address, max_duration)
        finally:
            if bar is not None:
                bar.close()
        wall = time.perf_counter() - t0
    except BaseException:
        log.close()      # what finished is in the file already; the next run compacts it
        raise
    records.sort(key=lambda r: r["index"])
    log.finish(sorted(records + invalid_records, key=lambda r: r["index"]))
    count = {s: sum(1 for r in records if r["status"] == s) for s in ("done", "skipped", "failed")}
    return BatchSummary(jobs=len(records), done=count["done"], skipped=count["skipped"], failed=count["failed"],
                        audio_seconds=sum(r.get("audio_seconds", 0.0) for r in records), wall_seconds=wall,
                        results_path=results_path, records=records, invalid=len(invalid_records))
