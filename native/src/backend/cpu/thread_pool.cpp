#include "thread_pool.h"
#include <chrono>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() std::this_thread::yield()
#endif

namespace clasp {

thread_pool::thread_pool(int n) : n_(n < 1 ? 1 : n), slots_(new slot[n < 1 ? 1 : n]) {
    for (int i = 1; i < n_; i++) threads_.emplace_back([this, i] { worker(i); });
}

thread_pool::~thread_pool() {
    stop_.store(true);
    {
        std::lock_guard<std::mutex> lk(m_);
        gen_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

void thread_pool::dispatch(int n_chunks, chunk_fn fn, void* ctx) {
    // Only the caller's thread dispatches, and only after the previous op is complete, so nothing
    // below is read by a worker still busy with an older op: a worker claims a chunk only with a
    // compare-exchange that checks the generation, and an op is complete only when all its chunks are.
    const uint32_t g = gen_.load(std::memory_order_relaxed) + 1;
    fn_.store(fn, std::memory_order_relaxed);
    ctx_.store(ctx, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    for (int i = 0; i < n_; i++) {
        int b = (int)((int64_t)n_chunks * i / n_), e = (int)((int64_t)n_chunks * (i + 1) / n_);
        slots_[i].end.store(e, std::memory_order_relaxed);
        slots_[i].next.store((uint64_t)g << 32 | (uint32_t)b, std::memory_order_relaxed);
    }
    gen_.store(g, std::memory_order_seq_cst);  // publishes the op
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
        { std::lock_guard<std::mutex> lk(m_); }
        cv_.notify_all();
    }
    int mine = work(g, 0);
    while (done_.load(std::memory_order_acquire) + mine != n_chunks) CPU_RELAX();
}

int thread_pool::work(uint32_t g, int ith) {
    int count = 0;
    for (int k = 0; k < n_; k++) {  // its own share first, then what is left of the others'
        slot& s = slots_[(ith + k) % n_];
        uint64_t cur = s.next.load(std::memory_order_acquire);
        while ((uint32_t)(cur >> 32) == g && (int)(uint32_t)cur < s.end.load(std::memory_order_relaxed)) {
            if (!s.next.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) continue;
            // The op cannot complete while this chunk is unfinished, so fn_ and ctx_ are its own.
            fn_.load(std::memory_order_relaxed)(ctx_.load(std::memory_order_relaxed), (int)(uint32_t)cur, ith);
            count++;
            cur = s.next.load(std::memory_order_acquire);
        }
    }
    return count;
}

void thread_pool::worker(int ith) {
    uint32_t seen = 0;
    while (true) {
        // Spin for a couple of milliseconds: the next op of a forward pass usually comes within microseconds.
        auto t0 = std::chrono::steady_clock::now();
        int spins = 0;
        uint32_t g;
        while ((g = gen_.load(std::memory_order_acquire)) == seen) {
            CPU_RELAX();
            if (++spins % 1024 == 0 && std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(2)) {
                std::unique_lock<std::mutex> lk(m_);
                sleepers_.fetch_add(1, std::memory_order_seq_cst);
                cv_.wait(lk, [&] { return gen_.load(std::memory_order_seq_cst) != seen; });
                sleepers_.fetch_sub(1, std::memory_order_relaxed);
                t0 = std::chrono::steady_clock::now();
            }
        }
        if (stop_.load()) return;
        seen = g;
        int c = work(g, ith);
        if (c) done_.fetch_add(c, std::memory_order_release);
    }
}

}  // namespace clasp
