"""Record what is played into a JACK client's input ports, in a process of its own.

``python jack_recorder.py SERVER NAME OUT.npy SECONDS`` registers ``NAME:in_0`` and ``NAME:in_1``
on the JACK server ``SERVER``, prints ``ready`` once active, records until SECONDS have passed or
its standard input closes, and saves the recording as a (2, frames) float32 array in OUT.npy.

A separate process because libjack binds a process to the first JACK server it talks to: a test
process that became a client of one test's server could not reach the next test's server.
PortAudio lists a JACK client with input ports as an output device, so a stream opened with
``device=NAME`` plays straight into this recorder.
"""
import gc
import os
import sys
import threading

import jack
import numpy as np


def main() -> int:
    server, name, out, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    client = jack.Client(name, servername=server, no_start_server=True)
    ins = [client.inports.register(f"in_{i}") for i in range(2)]
    cap = int(client.samplerate * seconds)
    rec = np.zeros((2, cap), np.float32)
    state = {"pos": 0, "rt": False}

    @client.set_process_callback
    def process(frames):
        if not state["rt"]:
            state["rt"] = True
            try:                                # a Python callback too: it must not miss a cycle
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(60))
            except OSError:
                pass
        p = state["pos"]
        n = min(frames, cap - p)
        if n > 0:
            rec[0, p:p + n] = ins[0].get_array()[:n]
            rec[1, p:p + n] = ins[1].get_array()[:n]
            state["pos"] = p + n

    gc.collect()
    gc.freeze()
    sys.setswitchinterval(0.0005)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    client.activate()
    print("ready", flush=True)
    done.wait(seconds)
    client.deactivate()
    client.close()
    np.save(out, rec[:, :state["pos"]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
