// A fork-join pool for the CPU backend. A forward pass issues hundreds of small parallel ops per
// token, so workers spin briefly between ops (sleeping on a condition variable when idle for long).
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace clasp {

struct thread_pool {
    explicit thread_pool(int n_threads);
    ~thread_pool();
    int size() const { return n_; }
    // Runs f(ith) for ith = 0..size()-1, the caller taking ith = 0; returns when all are done.
    void run(const std::function<void(int)>& f);

private:
    void worker(int ith);
    int n_;
    std::vector<std::thread> threads_;
    std::atomic<uint64_t> gen_{0};
    std::atomic<int> pending_{0};
    const std::function<void(int)>* job_ = nullptr;
    std::atomic<bool> stop_{false};
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
