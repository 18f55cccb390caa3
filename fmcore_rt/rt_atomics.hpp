// Lock-free storage that Cython cannot declare itself: arrays of std::atomic and
// cache-line alignment (alignas) to keep producer and consumer indices off each
// other's cache lines. All algorithms live in the .pyx modules; this header only
// lays out memory.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace fmrt {

constexpr int PARAM_COUNT = 256;
constexpr int PARAM_MASK_WORDS = PARAM_COUNT / 64;

// The parameter store (see params.pyx for the protocol).
//   cell[i]:  the slot's latest single set, or a marker left by a batch:
//             float bits (low 32) | batch generation (bits 32..62) | SINGLE (bit 63)
//   batch[i]: the slot's latest batch value and its batch generation, same layout
//             without the flag (what control-side reads and single sets consult)
struct ParamCells {
    alignas(64) std::atomic<uint64_t> cell[PARAM_COUNT];
    alignas(64) std::atomic<uint64_t> batch[PARAM_COUNT];
    alignas(64) std::atomic<uint32_t> middle; // triple-buffer hand-over index | NEW bit
    std::atomic<int32_t> count;               // slots in use, published with release
    ParamCells() : middle(1), count(0) {
        for (auto &c : cell) c.store(0, std::memory_order_relaxed);
        for (auto &b : batch) b.store(0, std::memory_order_relaxed);
    }
};

// Head and tail of a single-producer single-consumer ring, each on its own line.
struct SpscIndices {
    alignas(64) std::atomic<uint64_t> head;   // next slot to write (producer)
    alignas(64) std::atomic<uint64_t> tail;   // next slot to read (consumer)
    alignas(64) std::atomic<uint64_t> dropped;
    std::atomic<uint64_t> pushed;
    SpscIndices() : head(0), tail(0), dropped(0), pushed(0) {}
};

// Heads and counters of the real-time pool.
struct PoolHeads {
    alignas(64) std::atomic<uint64_t> head;   // tag (high 32) | index (low 32)
    alignas(64) std::atomic<uint32_t> in_use;
    std::atomic<uint32_t> high_water;
    std::atomic<uint64_t> failures;
    std::atomic<uint64_t> bad_frees;
    PoolHeads() : head(0), in_use(0), high_water(0), failures(0), bad_frees(0) {}
};

struct Counter64 {
    alignas(64) std::atomic<uint64_t> value;
    Counter64() : value(0) {}
};

template <class T>
inline std::atomic<T> *new_atomic_array(size_t n) {
    auto *a = new std::atomic<T>[n];
    for (size_t i = 0; i < n; ++i) a[i].store(T(0), std::memory_order_relaxed);
    return a;
}

template <class T>
inline void delete_atomic_array(std::atomic<T> *a) { delete[] a; }

}  // namespace fmrt
