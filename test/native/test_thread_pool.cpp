// The CPU backend's fork-join pool (thread_pool.h): every chunk of every op runs exactly once, on a
// thread numbered in range, whatever the thread count, the chunk count (more than one op's worth
// included), workers that slept between ops, or all threads sharing one core.
#include "backend/cpu/thread_pool.h"
#include "harness.h"
#include <atomic>
#include <chrono>
#include <sched.h>
#include <set>
#include <thread>
#include <vector>

using namespace clasp;

namespace {

// Runs n_ops ops of n_chunks on the pool; checks that each chunk ran once per op, with ith in range
// and ith 0 only on the calling thread. Returns how many chunks ran on workers (ith > 0).
int64_t run_ops(thread_pool& pool, int n_ops, int n_chunks, std::chrono::microseconds pause = {}, int work = 200) {
    std::vector<std::atomic<int>> count(n_chunks);
    const auto caller = std::this_thread::get_id();
    std::atomic<int64_t> on_workers{0}, bad_ith{0}, bad_caller{0};
    for (int op = 0; op < n_ops; op++) {
        for (auto& c : count) c.store(0);
        pool.parallel_for(n_chunks, [&](int c, int ith) {
            count[c].fetch_add(1);
            if (ith < 0 || ith >= pool.size()) bad_ith++;
            if ((ith == 0) != (std::this_thread::get_id() == caller)) bad_caller++;
            if (ith > 0) on_workers++;
            for (volatile int k = 0; k < work; k = k + 1) {}  // a little work, so that workers take part
        });
        int wrong = 0;
        for (auto& c : count) wrong += c.load() != 1;
        CHECK_MSG(wrong == 0, wrong << " of " << n_chunks << " chunks did not run exactly once (threads "
                                    << pool.size() << ", op " << op << ")");
        if (wrong) break;
        if (pause.count()) std::this_thread::sleep_for(pause);
    }
    CHECK_MSG(bad_ith == 0, bad_ith << " chunks saw a thread number out of range");
    CHECK_MSG(bad_caller == 0, bad_caller << " chunks saw thread 0 off the calling thread, or the reverse");
    return on_workers.load();
}

}  // namespace

TEST(thread_pool_runs_every_chunk_once) {
    for (int threads : {1, 2, 3, 4}) {
        thread_pool pool(threads);
        CHECK(pool.size() == threads);
        int64_t on_workers = 0;
        for (int n_chunks : {1, 2, 3, 7, 8, 64, 257}) on_workers += run_ops(pool, 300, n_chunks);
        if (threads == 1) CHECK(on_workers == 0);
        pool.parallel_for(0, [&](int, int) { CHECK(false); });  // no chunks: nothing runs
    }
}

// An op numbers at most 2^20 - 1 chunks (thread_pool.h): more go as several ops.
TEST(thread_pool_more_chunks_than_one_op_holds) {
    thread_pool pool(2);
    run_ops(pool, 1, (1 << 20) + 5);
}

// Workers idle for longer than their spin go to sleep; the next op must wake them (or the caller
// does all of it): every chunk still runs once.
TEST(thread_pool_wakes_sleeping_workers) {
    thread_pool pool(3);
    run_ops(pool, 6, 16, std::chrono::microseconds(5000));
}

// All threads on one core (more threads than free cores, as on a machine running other work): the
// ops complete with every chunk run once (the caller takes over the chunks of a descheduled worker).
TEST(thread_pool_threads_sharing_one_core) {
    cpu_set_t old_set, one;
    if (sched_getaffinity(0, sizeof old_set, &old_set) != 0) {
        th::skip_reason = "sched_getaffinity failed";
        return;
    }
    int first = 0;
    while (first < CPU_SETSIZE && !CPU_ISSET(first, &old_set)) first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0);
    {
        thread_pool pool(3);  // its workers inherit the one-core mask
        const auto t0 = std::chrono::steady_clock::now();
        const int64_t on_workers = run_ops(pool, 500, 8, {}, 20000);  // about 10 us a chunk
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("  500 ops of 8 chunks, 3 threads on one core: %.2f s, %lld chunks on workers\n", s,
                    (long long)on_workers);
    }
    sched_setaffinity(0, sizeof old_set, &old_set);
}
