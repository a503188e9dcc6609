#include "thread_pool.h"
#include <chrono>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() std::this_thread::yield()
#endif

namespace clasp {

thread_pool::thread_pool(int n) : n_(n < 1 ? 1 : n) {
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

void thread_pool::run(const std::function<void(int)>& f) {
    if (n_ == 1) { f(0); return; }
    job_ = &f;
    pending_.store(n_ - 1, std::memory_order_relaxed);
    {
        std::lock_guard<std::mutex> lk(m_);
        gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    f(0);
    while (pending_.load(std::memory_order_acquire) != 0) CPU_RELAX();
}

void thread_pool::worker(int ith) {
    uint64_t seen = 0;
    while (true) {
        // Spin for about a millisecond: the next op of a forward pass usually comes within microseconds.
        auto t0 = std::chrono::steady_clock::now();
        int spins = 0;
        while (gen_.load(std::memory_order_acquire) == seen) {
            CPU_RELAX();
            if (++spins % 1024 == 0 && std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(2)) {
                std::unique_lock<std::mutex> lk(m_);
                cv_.wait(lk, [&] { return gen_.load() != seen; });
                break;
            }
        }
        seen = gen_.load(std::memory_order_acquire);
        if (stop_.load()) return;
        (*job_)(ith);
        pending_.fetch_sub(1, std::memory_order_release);
    }
}

}  // namespace clasp
