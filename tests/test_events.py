"""Event scheduling on the audio thread: bounded work per block, no head-of-line blocking, and a
song handed over whole so that playback does not depend on a Python thread (issue 14, items 7-9)."""
import subprocess
import sys
import threading

import numpy as np
import pytest

import fmcore
from fmcore import Patch, Synth
from fmcore_rt import rtcheck
from fmcore_rt._stress import render_holding_gil

SR = 48000
FLAT = {"times": [0, 0, 0, 0.01], "levels": [1, 1, 1, 0]}


def sine_patch():
    return Patch.from_dict({"operators": [{"env": FLAT}], "carriers": [[1, 1.0]]})


def blocks(s, n, block=128):
    out = np.zeros((2, block), np.float32)
    got = []
    for _ in range(n):
        out.fill(0)
        s.process(out)
        got.append(out.copy())
    return np.concatenate(got, axis=1)


# ---- 7: a burst costs a bounded amount of work per block ---------------------------------------

def test_a_burst_is_spread_over_blocks_and_nothing_is_lost():
    s = Synth(SR, max_voices=16, max_block=128)
    for i in range(4096):                     # a full queue of note-ons, all due now
        assert s.note_on(24 + i % 96, 100, channel=i % 16)
    out = np.zeros((2, 128), np.float32)
    per_block = []
    played = 0
    for _ in range(40):
        s.process(out)
        n = s.stats["notes_played"]
        per_block.append(n - played)
        played = n
    # 16 voices, 128 frames: at most 2 events per frame are applied; the rest wait for the next block
    assert max(per_block) <= 256, per_block[:4]
    assert per_block[:16] == [256] * 16 and sum(per_block) == 4096, per_block
    st = s.stats
    assert st["events_deferred"] == 4096 - 256 and st["events_late"] == 0 and st["events_dropped"] == 0
    assert st["voices_stolen"] == 4096 - 16


def test_the_per_block_bound_scales_with_the_block_and_the_voice_pool():
    assert Synth(SR, max_voices=16).scheduler.budget(128) == 256
    assert Synth(SR, max_voices=64).scheduler.budget(128) == 128
    assert Synth(SR, max_voices=64).scheduler.budget(1024) == 1024
    assert Synth(SR, max_voices=256).scheduler.budget(16) == 16       # never below 16 per block
    s = Synth(SR)
    s.scheduler.events_per_frame = 0.5
    assert s.scheduler.budget(128) == 64
    with pytest.raises(ValueError):
        s.scheduler.events_per_frame = 0


def test_events_of_a_process_call_are_not_bounded():
    """Events handed to ``process`` with the buffer are all applied at their frames (offline renders)."""
    s = Synth(SR, max_voices=16, max_block=128)
    out = np.zeros((2, 128), np.float32)
    s.process(out, [(i % 128, 0x90, 24 + i % 96, 100) for i in range(1000)])
    assert s.stats["notes_played"] == 1000 and s.stats["events_deferred"] == 0


# ---- 8: no head-of-line blocking -----------------------------------------------------------

def test_an_immediate_event_does_not_wait_behind_a_future_one():
    s = Synth(SR, max_block=128)
    s.set_patch(sine_patch())
    s.note_on(60, 100, at=SR)               # one second ahead
    s.note_on(69, 100)                      # now: the next block
    got = blocks(s, SR // 128 + 2)
    assert got[0, 1] != 0, "the immediate note must sound from the first block"
    # and the scheduled note still starts at its exact frame: the same as both given to process()
    ref = Synth(SR, max_block=128)
    ref.set_patch(sine_patch())
    want = np.zeros_like(got)
    ref.process(want, [(0, 0x90, 69, 100), (SR, 0x90, 60, 100)])
    assert np.array_equal(got, want)
    assert s.stats["events_deferred"] == 0 and s.stats["events_late"] == 0


def test_equal_times_keep_the_order_they_were_sent_in():
    s = Synth(SR, max_block=128)
    s.set_patch(sine_patch())
    s.note_on(69, 100, at=200)
    s.note_off(69, at=200)                  # same frame: the note is released at once
    s.note_on(72, 100, at=200)
    blocks(s, 3)
    held = [(v["note"], v["released"]) for v in s.voices() if not v["fading"]]
    assert sorted(held) == [(69, True), (72, False)]


def test_an_event_sent_after_its_time_plays_at_the_next_block_and_is_counted_late():
    s = Synth(SR, max_block=128)
    s.set_patch(sine_patch())
    blocks(s, 4)
    s.note_on(69, 100, at=10)               # long past
    got = blocks(s, 1)
    assert got[0, 1] != 0 and s.stats["events_late"] == 1 and s.stats["events_deferred"] == 0


# ---- 9: a song handed to the audio thread whole ---------------------------------------------------

def _song(n_notes=60, spacing=0.05):
    ev = []
    for i in range(n_notes):
        t = int((0.01 + i * spacing) * SR) + 7 * i
        ev.append((t, 0x90 | (i % 2), 48 + i % 24, 90))
        ev.append((t + int(0.03 * SR), 0x80 | (i % 2), 48 + i % 24, 0))
    ev.sort()
    return np.array(ev, dtype=[("sample", np.int64), ("status", np.uint8), ("data1", np.uint8),
                               ("data2", np.uint8)])


def test_song_player_plays_every_event_on_time_while_the_gil_is_held():
    """``fmcore play``'s player must not need a Python thread while the song plays: here no Python
    thread can run at all while the whole song renders (a C call holding the GIL)."""
    from fmcore.live import SongPlayer

    events = _song()
    n = int(events["sample"][-1]) + SR // 2
    offline = Synth(SR, max_voices=16, max_block=128)
    want = np.zeros((2, n), np.float32)
    offline.process(want, np.stack([events["sample"], events["status"], events["data1"], events["data2"]], 1))

    s = Synth(SR, max_voices=16, max_block=128)
    player = SongPlayer(s, events, tail=0.5, align=128)
    player.start(at=s.clock.frames)
    got = np.zeros((2, n), np.float32)
    render_holding_gil(s, got, 128)
    assert np.array_equal(got, want), "events missing or late while no Python thread could run"
    assert player.wait(5) and player.late_events == 0 and player.pushed == len(events)
    player.stop(silence=False)


def test_a_published_timeline_starts_at_its_frame_and_can_be_cleared():
    s = Synth(SR, max_voices=16, max_block=128)
    s.set_patch(sine_patch())
    blocks(s, 2)                                        # clock at 256
    s.schedule([(100, 0x90, 69, 100), (SR, 0x90, 72, 100)], start=1000)
    got = blocks(s, 10)                                 # frames 256..1535
    first = int(np.flatnonzero(got[0])[0]) + 256
    assert first == 1101, first                         # onset at 1100, first non-zero sample after it
    assert s.scheduler.timeline_position == 1 and s.scheduler.timeline_length == 2
    s.clear_schedule()
    blocks(s, SR // 128 + 10)
    assert s.stats["notes_played"] == 1, "a cleared timeline plays nothing more"


def test_schedule_refuses_what_is_not_a_channel_message():
    s = Synth(SR)
    with pytest.raises(ValueError, match="status"):
        s.schedule([(0, 0xF0, 1, 2)])
    with pytest.raises(ValueError, match="data"):
        s.schedule([(0, 0x90, 200, 2)])
    with pytest.raises(ValueError, match="frame"):
        s.schedule([(-5, 0x90, 60, 2)])
    with pytest.raises(TypeError):
        s.schedule([(0, 0x90)])


def test_reset_drops_scheduled_events_and_the_timeline():
    s = Synth(SR, max_block=128)
    s.note_on(60, 100, at=1000)
    s.schedule([(2000, 0x90, 62, 100)])
    blocks(s, 1)                                        # the queued note is in the scheduler now
    s.reset()
    blocks(s, 40)
    assert s.stats["notes_played"] == 0


# ---- the scheduler on the audio thread makes no allocation, lock or system call ---------------------

def test_scheduling_paths_make_no_violation_under_the_checker():
    code = """
import numpy as np, fmcore
from fmcore_rt import rtcheck
s = fmcore.Synth(48000, max_voices=16, max_block=128)
out = np.zeros((2, 128), np.float32)
s.process(out)
s.schedule([(i * 37, 0x90 | (i % 16), 30 + i % 60, 90) for i in range(3000)], start=128)
for i in range(4096):
    s.note_on(40 + i % 40, 90, at=None if i % 3 else 128 + (i * 11) % 20000)
with rtcheck.watch() as rep:
    for b in range(300):
        s.process(out)
        if b == 100:
            s.clear_schedule()
st = s.stats
assert rtcheck.available() and st["events_deferred"] > 0, st
print("violations", rep.total, rep.by_function)
"""
    r = rtcheck.run([sys.executable, "-c", code], timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "violations 0 {}" in r.stdout, r.stdout


# ---- the scheduler itself (fmcore_rt: no FM involved) -----------------------------------------------

def test_scheduler_orders_by_time_then_arrival_and_bounds_each_block():
    from fmcore_rt import EventScheduler

    s = EventScheduler(64, 64, events_per_frame=0.125)          # 16 frames -> 2 per block, min 16
    q = s.queue
    q.push_event(40, 0x90, 1, 1)
    q.push_event(-1, 0x90, 2, 1)                                # now
    q.push_event(10, 0x90, 3, 1)
    q.push_event(10, 0x90, 4, 1)                                # same time: after 3
    assert s.run_block(0, 32) == [(0, 0x90, 2, 1), (10, 0x90, 3, 1), (10, 0x90, 4, 1)]
    assert s.run_block(32, 32) == [(8, 0x90, 1, 1)]
    for i in range(20):
        q.push_event(-1, 0x90, i, 0)
    assert len(s.run_block(64, 32)) == 16 and len(s.run_block(96, 32)) == 4
    assert s.deferred == 4 and s.late == 0 and s.applied == 24


def test_scheduler_timeline_plays_by_time_alongside_live_events():
    from fmcore_rt import EventScheduler

    s = EventScheduler()
    s.publish([(5, 0x90, 60, 1), (5, 0x80, 60, 0), (70, 0x90, 61, 1)], start=100)
    s.queue.push_event(105, 0xB0, 7, 100)                       # same time as the timeline's: after them
    assert s.run_block(64, 64) == [(41, 0x90, 60, 1), (41, 0x80, 60, 0), (41, 0xB0, 7, 100)]
    assert s.run_block(128, 64) == [(42, 0x90, 61, 1)]
    assert (s.timeline_position, s.timeline_length) == (3, 3)
    s.publish([(0, 0x90, 1, 1), (500, 0x90, 2, 1)], start=0)    # starts in the past: the first is late
    assert s.run_block(192, 64) == [(0, 0x90, 1, 1)]
    assert s.late == 1 and s.deferred == 0
