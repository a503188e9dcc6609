#include "dp_solver.h"
#include "../core/error.h"
#include <cmath>
#include <cstring>

namespace clasp {

double cosine(const float* a, const float* b, int d) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < d; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    if (aa == 0 || bb == 0) return aa == bb ? 1.0 : 0.0;
    return ab / std::sqrt(aa * bb);
}

static dp_result solve(const float* h, int L, int d, int M, const layer_fn& layer, bool want_table, bool batched) {
    if (L <= 0 || d <= 0) fail("dp_solve: empty model");
    if (M < 0 || M > L) fail("dp_solve: skip count " + std::to_string(M) + " outside [0, " + std::to_string(L) + "]");
    const int M1 = M + 1;
    dp_result r;
    r.layer_cosine.assign(L + 1, NAN);
    for (int l = 1; l <= L; l++) r.layer_cosine[l] = (float)cosine(h + (size_t)l * d, h + (size_t)(l - 1) * d, d);
    // g rows: prev = g(i-1, ·), cur = g(i, ·), each (M+1, d). D is kept for every cell for the path.
    std::vector<float> prev((size_t)M1 * d), cur((size_t)M1 * d), kept((size_t)M1 * d);
    std::vector<double> D((size_t)(L + 1) * M1, NAN);
    std::vector<uint8_t> choice((size_t)(L + 1) * M1, 0);  // 1 = skip layer i-1 at cell (i, j)
    std::memcpy(prev.data(), h, (size_t)d * sizeof(float));
    D[0] = 1.0;
    for (int i = 1; i <= L; i++) {
        const int il = i - 1;
        const float* hi = h + (size_t)i * d;
        const int ell = std::min(i - 1, M);  // keep-candidates g(i-1, 1..ell)
        if (ell > 0) {
            if (batched) {
                layer(il, prev.data() + d, ell, kept.data() + d);
                r.layer_calls++;
            } else {
                for (int j = 1; j <= ell; j++) {
                    layer(il, prev.data() + (size_t)j * d, 1, kept.data() + (size_t)j * d);
                    r.layer_calls++;
                }
            }
            r.candidates += ell;
        }
        std::memcpy(cur.data(), hi, (size_t)d * sizeof(float));  // g(i, 0) = h_i, exact
        D[(size_t)i * M1] = 1.0;
        for (int j = 1; j <= std::min(i, M); j++) {
            const float* skip_state = prev.data() + (size_t)(j - 1) * d;
            double cs = cosine(skip_state, hi, d);
            bool can_keep = j <= i - 1;
            double ck = can_keep ? cosine(kept.data() + (size_t)j * d, hi, d) : -INFINITY;
            bool take_skip = cs >= ck;  // ties go to skip
            choice[(size_t)i * M1 + j] = take_skip ? 1 : 0;
            D[(size_t)i * M1 + j] = take_skip ? cs : ck;
            std::memcpy(cur.data() + (size_t)j * d, take_skip ? skip_state : kept.data() + (size_t)j * d,
                        (size_t)d * sizeof(float));
        }
        prev.swap(cur);
    }
    r.path_cosine.assign(L + 1, NAN);
    int j = M;
    for (int i = L; i >= 1; i--) {
        r.path_cosine[i] = (float)D[(size_t)i * M1 + j];
        if (j > 0 && choice[(size_t)i * M1 + j]) j--;
    }
    r.path_cosine[0] = 1.f;
    r.L = L;
    r.M = M;
    r.choice = std::move(choice);
    r.skip = r.skip_for(M);
    if (want_table) {
        r.table.assign((size_t)(L + 1) * M1, NAN);
        for (size_t k = 0; k < D.size(); k++) r.table[k] = (float)D[k];
    }
    return r;
}

std::vector<uint8_t> dp_result::skip_for(int m) const {
    if (m < 0 || m > M) fail("dp_result::skip_for(" + std::to_string(m) + "): the DP ran with budget " + std::to_string(M));
    std::vector<uint8_t> s(L, 0);
    const int M1 = M + 1;
    int j = m;
    for (int i = L; i >= 1 && j > 0; i--) {
        // Where j == i every layer up to i must be skipped: cell (i, i) has only the skip choice.
        if (choice[(size_t)i * M1 + j]) {
            s[i - 1] = 1;
            j--;
        }
    }
    return s;
}

dp_result dp_path(const float* h, int L, int d, const std::vector<uint8_t>& skip, const layer_fn& layer) {
    if (L <= 0 || d <= 0) fail("dp_path: empty model");
    if ((int)skip.size() != L) fail("dp_path: the skip set needs one entry per layer");
    dp_result r;
    r.L = L;
    r.skip = skip;
    r.layer_cosine.assign(L + 1, NAN);
    r.path_cosine.assign(L + 1, NAN);
    r.path_cosine[0] = 1.f;
    std::vector<float> g(h, h + d), next(d);
    for (int i = 1; i <= L; i++) {
        const float* hi = h + (size_t)i * d;
        r.layer_cosine[i] = (float)cosine(hi, hi - d, d);
        if (skip[i - 1]) {
            r.M++;
        } else if (r.M == 0) {
            std::memcpy(g.data(), hi, (size_t)d * sizeof(float));  // nothing skipped yet: h_i itself, as the DP's g(i, 0)
        } else {
            layer(i - 1, g.data(), 1, next.data());
            g.swap(next);
            r.layer_calls++;
            r.candidates++;
        }
        r.path_cosine[i] = (float)cosine(g.data(), hi, d);
    }
    return r;
}

dp_result dp_solve(const float* h, int L, int d, int M, const layer_fn& layer, bool want_table) {
    return solve(h, L, d, M, layer, want_table, true);
}

dp_result dp_solve_naive(const float* h, int L, int d, int M, const layer_fn& layer, bool want_table) {
    return solve(h, L, d, M, layer, want_table, false);
}

}  // namespace clasp
