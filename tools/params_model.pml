/* A Promela model of the parameter store's publication protocol
 * (fmcore_rt/params.pyx). spin explores every interleaving of the atomic
 * operations of three threads and checks, after every audio block and at
 * the end, the properties the store promises:
 *
 *   - a batch lands whole: in every block, a slot written by a batch the audio
 *     side has adopted shows that batch's value or a later single set, and no
 *     slot shows a batch the audio side has not adopted (never torn);
 *   - successive batches never lose updates, however few blocks run between them;
 *   - a single set shown by the audio side was not overtaken by a batch that
 *     started after it returned, and a thread's later single set is never
 *     followed by its earlier one;
 *   - once the writers stop, the audio side's targets equal what control-side
 *     reads return, and the last write in real time wins.
 *
 * Threads: a batch writer (batches are serialised by a mutex, so one process
 * stands for all batch writers) publishing B1 = {slot 0, slot 1} = 1 and
 * B2 = {slot 0, slot 2} = 2; a control thread single-setting slot 0 to 11 then
 * 12 and slot 1 to 21; the audio thread running blocks until both are done,
 * then one more. Each atomic load, store, exchange or CAS of the C code is
 * one step here; the buffer copies of the triple buffer are single steps
 * because the protocol gives each buffer to one thread at a time (asserted).
 * The model is sequentially consistent: the C++ memory orders are checked by
 * the ThreadSanitizer run (`make tsan`), not here.
 *
 * Mutants (spin -D...): each reintroduces a bug the checker must find.
 *   PARTIAL_BUFFER  a buffer carries only its batch's slots (issue 14.4)
 *   IGNORE_GEN      a single set always wins, whatever generation it read (14.6)
 *   CELL_IS_TRUTH   control-side reads return the cell's single set whatever its
 *                   generation, while the audio side applies the rule (14.6)
 */

#define NS 3            /* slots */
#define NB 3            /* buffers */

/* shared memory: the atomics of ParamCells */
byte cval[NS]; byte cgen[NS]; bit csingle[NS];   /* cell[i] */
byte bval[NS]; byte bgen[NS];                    /* batch[i] */
byte middle = 1;                                 /* index | NEW bit (4) */
/* the three buffers (plain memory, handed over through `middle`) */
byte bufval[NB * NS]; byte bufgen[NB * NS];
byte bufk[NB];                                   /* ghost: the batch number a buffer holds */

/* batch writer's private state (global only so assertions can see it) */
byte back = 0;
byte mval[NS]; byte mgen[NS];
/* audio thread's private state */
byte front = 2;
byte target[NS]; byte tgen[NS];

/* ghosts: real-time order */
byte started = 0;       /* batches started */
byte completed = 0;     /* batches completed */
byte s_start_completed[3];   /* batches completed when single j started */
byte s_end_started[3];       /* batches started when single j returned */
bit s_done[3];
bit seen12 = 0;
bit writer_done = 0; bit setter_done = 0;

/* ---------------------------------------------------------------- batch writer */

inline publish_slot(i) {
    bval[i] = mval[i]; bgen[i] = mgen[i]          /* one 64-bit atomic store */
}

inline retire_single(i) {
    atomic { cv = cval[i]; cg = cgen[i]; cs = csingle[i] }   /* load */
    do
    :: (cs && cg == mgen[i]) -> break                         /* a single set that saw this batch */
    :: else ->
        atomic {                                              /* compare_exchange */
            if
            :: (cval[i] == cv && cgen[i] == cg && csingle[i] == cs) ->
                cval[i] = mval[i]; cgen[i] = mgen[i]; csingle[i] = 0; cs = 1; cg = mgen[i]
            :: else -> cv = cval[i]; cg = cgen[i]; cs = csingle[i]
            fi
        }
    od
}

inline batch(k, i0, i1) {
    d_step { started = k; mval[i0] = k; mgen[i0]++; mval[i1] = k; mgen[i1]++ }
    d_step {
        assert(back != front && back != (middle & 3));        /* the writer owns its buffer */
#ifdef PARTIAL_BUFFER
        bufval[back * NS + i0] = mval[i0]; bufgen[back * NS + i0] = mgen[i0];
        bufval[back * NS + i1] = mval[i1]; bufgen[back * NS + i1] = mgen[i1];
#else
        j = 0;
        do
        :: j < NS -> bufval[back * NS + j] = mval[j]; bufgen[back * NS + j] = mgen[j]; j++
        :: else -> break
        od;
#endif
        bufk[back] = k
    }
    atomic { prev = middle; middle = back | 4; back = prev & 3 }   /* exchange */
    publish_slot(i0);
    publish_slot(i1);
    retire_single(i0);
    retire_single(i1);
    completed = k
}

proctype BatchWriter() {
    byte cv, cg, j, prev; bit cs;
    batch(1, 0, 1);
    batch(2, 0, 2);
    writer_done = 1
}

/* ---------------------------------------------------------------- single sets */

inline single(j, i, v) {
    s_start_completed[j] = completed;
    g = bgen[i];                                           /* load batch[i] */
    atomic { cval[i] = v; cgen[i] = g; csingle[i] = 1 }    /* store cell[i] */
    atomic { s_end_started[j] = started; s_done[j] = 1 }       /* returns */
}

proctype Setter() {
    byte g;
    single(0, 0, 11);
    single(1, 0, 12);
    single(2, 1, 21);
    setter_done = 1
}

/* ---------------------------------------------------------------- audio thread */

inline latest(i, L, k) {
    /* the last batch among 1..L that wrote slot i (0: none) */
    if
    :: i == 0 -> k = L
    :: i == 1 -> k = (L >= 1 -> 1 : 0)
    :: i == 2 -> k = (L >= 2 -> 2 : 0)
    fi
}

inline check_slot(i) {
    L = bufk[front];
    latest(i, L, k);
    if
    :: target[i] <= 2 -> assert(target[i] == k)        /* batch values: exactly the latest adopted */
    /* a single set shown: batch k did not start after it returned (it may still be in flight) */
    :: target[i] == 11 -> assert(!s_done[0] || s_end_started[0] >= k); assert(i == 0 && !seen12)
    :: target[i] == 12 -> assert(!s_done[1] || s_end_started[1] >= k); assert(i == 0); seen12 = 1
    :: target[i] == 21 -> assert(!s_done[2] || s_end_started[2] >= k); assert(i == 1)
    :: else -> assert(false)
    fi
}

inline block() {
    atomic {
        if
        :: (middle & 4) -> prev = middle; middle = front; front = prev & 3
        :: else -> skip
        fi
    }
    d_step {
        j = 0;
        do
        :: j < NS ->
            if
            :: bufgen[front * NS + j] != tgen[j] -> tgen[j] = bufgen[front * NS + j]; target[j] = bufval[front * NS + j]
            :: else -> skip
            fi;
            j++
        :: else -> break
        od
    }
    for (s : 0 .. NS - 1) {
        atomic {                                        /* load cell[s] */
#ifdef IGNORE_GEN
            if :: csingle[s] -> target[s] = cval[s] :: else -> skip fi
#else
            if :: (csingle[s] && cgen[s] == tgen[s]) -> target[s] = cval[s] :: else -> skip fi
#endif
        }
    }
    skip;   /* the loop exit lands here, not inside the d_step */
    d_step { check_slot(0); check_slot(1); check_slot(2) }
}

inline control_read(i, v) {
    /* control_value(): cell first, then batch[i] */
#ifdef CELL_IS_TRUTH
    v = (csingle[i] -> cval[i] : bval[i])
#else
    v = ((csingle[i] && cgen[i] == bgen[i]) -> cval[i] : bval[i])
#endif
}

proctype Audio() {
    byte prev, j, s, L, k, v, i;
    do
    :: block();
       if
       :: (writer_done && setter_done) -> break
       :: else -> skip
       fi
    od;
    block();
    for (i : 0 .. NS - 1) {
        control_read(i, v);
        assert(target[i] == v)                      /* control and audio agree */
    }
    /* the last write in real time wins */
    if
    :: s_start_completed[1] >= 2 -> assert(target[0] == 12)   /* set 12 began after B2 ended */
    :: s_end_started[1] < 2 -> assert(target[0] == 2)         /* B2 began after set 12 returned */
    :: else -> assert(target[0] == 12 || target[0] == 2)      /* they overlapped: either */
    fi;
    if
    :: s_start_completed[2] >= 1 -> assert(target[1] == 21)
    :: s_end_started[2] < 1 -> assert(target[1] == 1)
    :: else -> assert(target[1] == 21 || target[1] == 1)
    fi;
    assert(target[2] == 2)
}

init {
    /* middle starts at buffer 1 with no NEW bit; every slot at default 0, generation 0 */
    middle = 1;
    atomic {
        run BatchWriter();
        run Setter();
        run Audio()
    }
}
