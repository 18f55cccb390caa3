"""Live playback: a MIDI file in real time, or a MIDI keyboard, through an audio stream.

``SongPlayer`` is the scheduler of ``fmcore play``: it hands the whole song to
the synth at once (``synth.schedule``: a preallocated, time-sorted list that
the audio thread reads by sample time), so no thread has to push events on
time and playback does not depend on the GIL. Each event is applied at its
exact frame: what plays live is sample-identical to the offline render of the
same file (``fmcore.render``), only shifted by ``start_frame``.

``MidiInput`` forwards a MIDI input port (mido with the python-rtmidi
backend, ALSA or JACK) to the synth as soon as messages arrive.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from fmcore.errors import FmcoreError
from fmcore.render import prepare_song  # live playback starts exactly where an offline render does

__all__ = ["SongPlayer", "PlayReport", "prepare_song", "play_file", "MidiInput", "MidiPortError",
           "list_midi_inputs"]


class MidiPortError(FmcoreError):
    """No MIDI input port, or not the one asked for."""


class SongPlayer:
    """Plays time-stamped events on ``synth`` by handing them all to its audio thread at once.

    ``SongPlayer(synth, events, lead=0.2, align=128, tail=2.0)``: ``events`` is a structured
    array (sample, status, data1, data2). Playback starts at ``start_frame``, the first multiple
    of ``align`` at least ``lead`` seconds after the clock when ``start()`` is called; event ``i``
    is applied at frame ``start_frame + events['sample'][i]``. ``done`` is set ``tail`` seconds
    after the last event (or at ``duration``). ``late_events`` counts events the audio thread
    applied after their frame: held over by its per-block bound on a dense burst, or (when the
    song starts in the past) due before it took the list.
    """

    def __init__(self, synth, events, *, lead: float = 0.2, align: int = 128, tail: float = 2.0,
                 duration: float | None = None, tuning=None):
        if not (math.isfinite(lead) and lead > 0):
            raise ValueError(f"lead must be a positive number of seconds, got {lead}")
        self.synth = synth
        self.sr = float(synth.sample_rate)
        self.events = np.asarray(events)
        self.frames = np.ascontiguousarray(self.events["sample"], dtype=np.int64)
        self.lead_frames = int(round(lead * self.sr))
        self.align = max(1, int(align))
        last = int(self.frames.max()) if len(self.frames) else 0
        self.length = int(round(duration * self.sr)) if duration is not None else last + int(round(tail * self.sr))
        self.start_frame = -1
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._late0 = 0
        self._n = 0
        self._final: tuple[int, int] | None = None     # (pushed, late) when stopped
        self.error: BaseException | None = None
        # the song's MIDI Tuning changes (``fmcore.extensions.SongTuning``): rare, so they go
        # through the event queue with their frames, queued up to twice ``lead`` ahead
        self.tuning = tuning if tuning is not None and len(tuning) else None
        self._tuned = 0                  # song samples whose tuning changes are queued

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.length

    @property
    def position(self) -> float:
        """Seconds into the song (negative before it starts)."""
        if self.start_frame < 0:
            return 0.0
        return (self.synth.clock.frames - self.start_frame) / self.sr

    @property
    def pushed(self) -> int:
        """Events of the song the audio thread has applied so far."""
        if self._final is not None:
            return self._final[0]
        sched = self.synth.scheduler
        return int(sched.timeline_position) if sched.timeline_length == self._n else 0

    @property
    def late_events(self) -> int:
        if self._final is not None:
            return self._final[1]
        sched = self.synth.scheduler
        return int(sched.late + sched.deferred) - self._late0

    def start(self, at: int | None = None) -> "SongPlayer":
        """Hand the song to the audio thread. ``at``: the clock frame where it starts (default:
        ``lead`` seconds from now, rounded up to ``align``). Starting at the current frame before
        the stream starts makes the live output identical to the offline render from its first
        sample (effects and LFOs start from the same state)."""
        now = self.synth.clock.frames
        if at is None:
            at = -(-(now + self.lead_frames) // self.align) * self.align
        self.start_frame = int(at)
        sched = self.synth.scheduler
        self._late0 = int(sched.late + sched.deferred)
        self._n = self.synth.schedule(self.events, self.start_frame)
        self._feed_tuning()
        # to notice the end and queue tuning changes ahead: the channel events no longer depend on it
        self._thread = threading.Thread(target=self._run, name="fmcore-song-end", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            tick = min(0.01, max(0.002, self.lead_frames / self.sr / 8))
            while not self._stop.is_set() and self.synth.clock.frames < self.end_frame:
                self._feed_tuning()
                self._stop.wait(tick)
        except BaseException as e:          # reported by wait()
            self.error = e
        finally:
            self.done.set()

    def _feed_tuning(self) -> None:
        if self.tuning is None:
            return
        upto = min(self.length, self.synth.clock.frames - self.start_frame + 2 * self.lead_frames)
        if upto > self._tuned:
            self.tuning.feed(self.synth, self._tuned, upto, self.start_frame)
            self._tuned = upto

    def stop(self, silence: bool = True) -> None:
        """Stop the song: nothing more of it plays; with ``silence``, also release every note
        (all sound off, with its short fade)."""
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=2)
        if self.start_frame >= 0:
            if self._final is None:
                self._final = (self.pushed, self.late_events)
            try:
                self.synth.clear_schedule()
            except Exception:
                pass
        if silence:
            try:
                self.synth.all_sound_off()
            except Exception:
                pass

    def wait(self, timeout: float | None = None) -> bool:
        ok = self.done.wait(timeout)
        if self.error is not None:
            raise self.error
        return ok


@dataclass
class PlayReport:
    path: str
    seconds: float
    events: int
    late_events: int
    start_frame: int
    stream_stats: object
    interrupted: bool = False

    def format(self) -> str:
        head = (f"{self.path}: played {self.seconds:.2f} s, {self.events} events, {self.late_events} late"
                + (" (interrupted)" if self.interrupted else ""))
        return head + "\n" + self.stream_stats.format()


def play_file(midi, *, backend: str = "native", device=None, buffer: int = 128, sample_rate: int = 48000,
              patches=None, voices: int = 32, tail: float = 2.0, lead: float = 0.2, lenient: bool = False,
              strict_sysex: bool = True, lock_memory: bool = True, on_start=None, stop_event=None,
              fx=None, tuning=None, mpe=None) -> PlayReport:
    """Play a MIDI file in real time through an audio stream; returns a ``PlayReport``.

    Blocks until the song (plus ``tail``) has played, ``stop_event`` is set, or Ctrl-C
    (``KeyboardInterrupt``: stops cleanly and returns a report marked interrupted). A stream
    stopped by its device raises ``AudioStreamError``.
    """
    from fmcore.synth import Synth
    from fmcore_rt.streams import open_stream

    synth = Synth(sample_rate, max_voices=voices, max_block=max(buffer, 256))
    song, events = prepare_song(synth, midi, patches, lenient=lenient, strict_sysex=strict_sysex, fx=fx,
                                tuning=tuning, mpe=mpe)
    stream = open_stream(backend, synth, sample_rate=sample_rate, frames_per_buffer=buffer, channels=2,
                         device=device, lock_memory=lock_memory)
    from fmcore.extensions import SongTuning

    player = SongPlayer(synth, events, lead=lead, align=buffer, tail=tail,
                        tuning=SongTuning(song, int(synth.sample_rate)))
    interrupted = False
    # the song starts at the stream's first frame: the audio thread has it whole before it runs
    player.start(at=synth.clock.frames)
    try:
        stream.start()
    except BaseException:
        player.stop(silence=False)
        raise
    try:
        if on_start is not None:
            on_start(stream, player)
        while not player.done.is_set():
            if stop_event is not None and stop_event.is_set():
                interrupted = True
                break
            stream.wait(0.05)           # raises if the device or server went away
        player.wait(0)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        player.stop(silence=interrupted)
        if interrupted and stream.active:
            time.sleep(0.05)            # let the all-sound-off fade play
        stream.stop()
    stream.check()
    return PlayReport(path=str(midi), seconds=max(0.0, player.position), events=player.pushed,
                      late_events=player.late_events, start_frame=player.start_frame,
                      stream_stats=stream.stats, interrupted=interrupted)


# ---- live MIDI input -------------------------------------------------------------------------

_APIS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK"}


def _backends(api: str):
    import importlib.util

    import mido

    if importlib.util.find_spec("rtmidi") is None:
        raise MidiPortError("MIDI input needs python-rtmidi: pip install python-rtmidi (or pip install 'fmcore[audio]')")
    names = list(_APIS) if api == "auto" else [api]
    if api not in ("auto", *_APIS):
        raise MidiPortError(f"unknown MIDI API {api!r}; choose auto, alsa or jack")
    out = []
    for name in names:
        try:
            out.append((name, mido.Backend(f"mido.backends.rtmidi/{_APIS[name]}", load=True)))
        except Exception:
            continue
    return out


def list_midi_inputs(api: str = "auto") -> list[tuple[str, str]]:
    """(api, port name) of every MIDI input port python-rtmidi can see through ALSA and JACK."""
    from fmcore_rt.streams import quiet_stderr

    ports, problems = [], []
    with quiet_stderr():
        for name, backend in _backends(api):
            try:
                ports += [(name, p) for p in backend.get_input_names()]
            except Exception as e:       # rtmidi raises SystemError when the API has no server/device
                problems.append(f"{name}: {e}")
    list_midi_inputs.problems = problems
    return ports


list_midi_inputs.problems = []


def _no_port_message(api: str) -> str:
    why = "; ".join(list_midi_inputs.problems)
    return ("no MIDI input port found" + (f" ({why})" if why else "")
            + "; connect a MIDI keyboard or start a virtual MIDI port, then see `fmcore live --list-ports`")


class MidiInput:
    """Forwards channel messages from a MIDI input port to ``synth`` (``at=None``: next block).

    ``port`` is a port name, part of one, or None for the first port; ``api`` is auto, alsa or jack.
    """

    def __init__(self, synth, port: str | None = None, api: str = "auto", channel: int | None = None):
        from fmcore_rt.streams import quiet_stderr

        self.synth = synth
        self.channel = channel
        self.received = 0
        self.ignored = 0
        ports = list_midi_inputs(api)
        if not ports:
            raise MidiPortError(_no_port_message(api))
        if port is None:
            chosen = ports[0]
        else:
            matches = [p for p in ports if p[1] == port] or [p for p in ports if port.lower() in p[1].lower()]
            if not matches:
                raise MidiPortError(f"no MIDI input port matches {port!r}; available: "
                                    + ", ".join(f"{p[1]!r} ({p[0]})" for p in ports))
            chosen = matches[0]
        self.api, self.port_name = chosen
        backend = dict(_backends(self.api))[self.api]
        with quiet_stderr():
            self._port = backend.open_input(self.port_name, callback=self._on_message)

    def _on_message(self, msg) -> None:
        data = msg.bytes()
        if data and data[0] == 0xF0 and self._sysex(bytes(data)):
            return
        if not data or not 0x80 <= data[0] <= 0xEF:
            self.ignored += 1            # clock, sysex, active sensing, ...
            return
        status = data[0] if self.channel is None else (data[0] & 0xF0) | self.channel
        d1 = data[1] if len(data) > 1 else 0
        d2 = data[2] if len(data) > 2 else 0
        self.synth.send(status, d1, d2)
        self.received += 1

    def _sysex(self, data: bytes) -> bool:
        # MIDI Tuning Standard messages retune at once; others are ignored (counted by the caller)
        from fmcore.tuning import TuningError

        try:
            n = self.synth.send_sysex(data)
        except TuningError:
            return False
        self.received += n > 0
        return n > 0

    def close(self) -> None:
        port, self._port = getattr(self, "_port", None), None
        if port is not None:
            port.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
