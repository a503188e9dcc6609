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
        job_.op.store((op_ + 1) << idx_bits);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

void thread_pool::dispatch(int n_chunks, chunk_fn fn, void* ctx) {
    // Only the caller's thread dispatches, and only once the previous op is complete. A worker claims
    // a chunk with a compare-exchange that checks the op number, and an op is complete only when all its
    // chunks are, so fn and ctx are not rewritten under a worker still running a chunk.
    const uint64_t op = ++op_;
    job_.fn.store(fn, std::memory_order_relaxed);
    job_.ctx.store(ctx, std::memory_order_relaxed);
    job_.op.store(op << idx_bits | (uint64_t)n_chunks, std::memory_order_seq_cst);  // publishes the op
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
        { std::lock_guard<std::mutex> lk(m_); }
        cv_.notify_all();
    }
    const int mine = work(op, n_chunks, 0);
    expected_done_ += (uint64_t)(n_chunks - mine);
    while (done_.load(std::memory_order_acquire) != expected_done_) CPU_RELAX();
}

int thread_pool::work(uint64_t op, int n_chunks, int ith) {
    int count = 0;
    for (int k = 0; k < n_; k++) {  // its own share first, then what is left of the others'
        const int i = (ith + k) % n_;
        const uint64_t b = (uint64_t)((int64_t)n_chunks * i / n_), e = (uint64_t)((int64_t)n_chunks * (i + 1) / n_);
        if (b >= e) continue;
        slot& s = slots_[i];
        uint64_t cur = s.next.load(std::memory_order_acquire);
        while (true) {
            const uint64_t sop = cur >> idx_bits;
            if (sop > op) break;  // a later op has started: this one is complete
            const uint64_t idx = sop < op ? b : (cur & idx_mask);
            if (idx >= e) break;
            if (!s.next.compare_exchange_weak(cur, op << idx_bits | (idx + 1), std::memory_order_acq_rel)) continue;
            // The op cannot complete while this chunk is unfinished, so fn and ctx are still its own.
            job_.fn.load(std::memory_order_relaxed)(job_.ctx.load(std::memory_order_relaxed), (int)idx, ith);
            count++;
            cur = s.next.load(std::memory_order_acquire);
        }
    }
    return count;
}

void thread_pool::worker(int ith) {
    uint64_t seen = 0;
    while (true) {
        // Spin for a couple of milliseconds: the next op of a forward pass usually comes within microseconds.
        auto t0 = std::chrono::steady_clock::now();
        int spins = 0;
        uint64_t op;
        while (((op = job_.op.load(std::memory_order_acquire)) >> idx_bits) == seen) {
            CPU_RELAX();
            if (++spins % 1024 == 0 && std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(2)) {
                std::unique_lock<std::mutex> lk(m_);
                sleepers_.fetch_add(1, std::memory_order_seq_cst);
                cv_.wait(lk, [&] { return (job_.op.load(std::memory_order_seq_cst) >> idx_bits) != seen; });
                sleepers_.fetch_sub(1, std::memory_order_relaxed);
                t0 = std::chrono::steady_clock::now();
            }
        }
        if (stop_.load()) return;
        seen = op >> idx_bits;
        const int c = work(seen, (int)(op & idx_mask), ith);
        if (c) done_.fetch_add((uint64_t)c, std::memory_order_release);
    }
}

}  // namespace clasp
