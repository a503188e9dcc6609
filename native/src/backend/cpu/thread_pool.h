// A fork-join pool for the CPU backend. A forward pass issues a hundred or more small parallel ops
// per token, so workers spin briefly between ops (sleeping on a condition variable when idle for long).
//
// A parallel op is a list of chunks. Each thread starts on its own share of the chunks and, when done,
// takes what is left of the others' shares, so a late or descheduled worker (the machine may be busy
// with other work) does not hold the op up: the caller does its chunks instead. Which thread runs a
// chunk must not change the result; the CPU kernels compute each output element the same way wherever.
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace clasp {

struct thread_pool {
    explicit thread_pool(int n_threads);
    ~thread_pool();
    int size() const { return n_; }

    // Runs f(chunk, ith) once for every chunk in [0, n_chunks), on any of the threads; ith is the
    // running thread (0 = the caller), for per-thread scratch. Returns when every chunk is done.
    template <class F>
    void parallel_for(int n_chunks, F&& f) {
        if (n_chunks <= 0) return;
        if (n_ == 1 || n_chunks == 1) {
            for (int c = 0; c < n_chunks; c++) f(c, 0);
            return;
        }
        // an op numbers at most idx_mask chunks: more go as several ops
        using FT = typename std::remove_reference<F>::type;
        struct batch {
            FT* f;
            int c0;
        };
        for (int c0 = 0; c0 < n_chunks; c0 += (int)idx_mask) {
            batch bt{&f, c0};
            dispatch(std::min(n_chunks - c0, (int)idx_mask),
                     [](void* ctx, int c, int ith) {
                         batch* b = (batch*)ctx;
                         (*b->f)(b->c0 + c, ith);
                     },
                     (void*)&bt);
        }
    }

private:
    using chunk_fn = void (*)(void* ctx, int chunk, int ith);
    // Op numbers count up from 1 and take the bits above the low 20 (chunk counts and indices).
    static constexpr int idx_bits = 20;
    static constexpr uint64_t idx_mask = (1u << idx_bits) - 1;
    // What a worker needs to start on an op, in one cache line: one transfer when an op starts.
    struct alignas(64) job_line {
        std::atomic<uint64_t> op{0};  // (op number << idx_bits) | number of chunks
        std::atomic<chunk_fn> fn{nullptr};
        std::atomic<void*> ctx{nullptr};
    };
    // Thread i's share of an op's chunks, claimed front to back by it and then by others:
    // (op number << idx_bits) | next chunk. A slot still holding an older op stands for a whole
    // share, so the caller does not have to reset the slots (more cache line transfers) per op.
    struct alignas(64) slot {
        std::atomic<uint64_t> next{0};
    };
    void dispatch(int n_chunks, chunk_fn fn, void* ctx);
    int work(uint64_t op, int n_chunks, int ith);  // runs chunks of op; returns how many
    void worker(int ith);

    int n_;
    std::vector<std::thread> threads_;
    std::unique_ptr<slot[]> slots_;
    job_line job_;
    alignas(64) std::atomic<uint64_t> done_{0};  // chunks the workers finished, over all ops
    alignas(64) std::atomic<int> sleepers_{0};
    std::atomic<bool> stop_{false};
    uint64_t op_ = 0, expected_done_ = 0;  // the caller's own
    std::mutex m_;
    std::condition_variable cv_;
};

// Splits [0, n) into equal parts aligned to `align`; returns part ith of nth.
inline void split_range(int64_t n, int ith, int nth, int64_t align, int64_t& b, int64_t& e) {
    int64_t blocks = (n + align - 1) / align;
    b = std::min(n, blocks * ith / nth * align);
    e = std::min(n, blocks * (ith + 1) / nth * align);
}

}  // namespace clasp
