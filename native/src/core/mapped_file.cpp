#include "mapped_file.h"
#include "error.h"
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace clasp {

mapped_file::mapped_file(const std::string& p) : path(p) {
    int fd = ::open(p.c_str(), O_RDONLY);
    if (fd < 0) fail(p + ": cannot open (" + std::strerror(errno) + ")");
    struct stat st;
    if (fstat(fd, &st) != 0) { ::close(fd); fail(p + ": cannot stat (" + std::strerror(errno) + ")"); }
    if (S_ISDIR(st.st_mode)) { ::close(fd); fail(p + ": is a directory, expected a file"); }
    size = (uint64_t)st.st_size;
    if (size == 0) { ::close(fd); fail(p + ": file is empty"); }
    void* m = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) fail(p + ": cannot map file (" + std::strerror(errno) + ")");
    data = (const uint8_t*)m;
}

mapped_file::~mapped_file() {
    if (data) munmap((void*)data, size);
}

// The whole pages inside [p, p + n), as madvise wants them.
static void page_range(const void* p, uint64_t n, bool outward, void*& a, size_t& len) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), b = (uintptr_t)p, e = b + n;
    const uintptr_t lo = outward ? b / page * page : (b + page - 1) / page * page;
    const uintptr_t hi = outward ? (e + page - 1) / page * page : e / page * page;
    a = (void*)lo, len = hi > lo ? hi - lo : 0;
}

void mapped_file::populate(const void* p, uint64_t n) const {
#ifdef MADV_POPULATE_READ
    void* a;
    size_t len;
    page_range(p, n, true, a, len);
    if (len) madvise(a, len, MADV_POPULATE_READ);
#else
    (void)p, (void)n;
#endif
}

void mapped_file::release(const void* p, uint64_t n) const {
    // The map is private and read-only, so it holds no changes of its own: dropping its pages loses nothing.
    void* a;
    size_t len;
    page_range(p, n, false, a, len);
    if (len) madvise(a, len, MADV_DONTNEED);
}

uint64_t mapped_file::resident_bytes() const {
    long page = sysconf(_SC_PAGESIZE);
    size_t pages = (size + page - 1) / page;
    std::vector<unsigned char> vec(pages);
    if (mincore((void*)data, size, vec.data()) != 0) return 0;
    uint64_t n = 0;
    for (unsigned char c : vec) n += (c & 1);
    return n * (uint64_t)page;
}

}  // namespace clasp
