// Huge-page regions with reservation and an explicit fallback; see hugemem.h.
#include "core/hugemem.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>

#include "core/error.h"

namespace nfvgw {

namespace {

std::atomic<uint64_t> g_huge_bytes{0};
std::atomic<uint64_t> g_normal_bytes{0};
std::mutex g_reserve_mu;        // setup path only
uint64_t g_reserved_pages = 0;  // what we added to nr_hugepages
uint64_t g_live_huge_regions = 0;

constexpr const char* kNrHugepages = "/proc/sys/vm/nr_hugepages";

long readLong(const char* path) {
  std::ifstream f(path);
  long v = -1;
  f >> v;
  return f ? v : -1;
}

long freeHugePages() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  long v;
  while (f >> key >> v) {
    if (key == "HugePages_Free:") return v;
    f.ignore(256, '\n');
  }
  return -1;
}

bool writeLong(const char* path, long v) {
  FILE* f = std::fopen(path, "w");
  if (!f) return false;
  bool ok = std::fprintf(f, "%ld\n", v) > 0;
  ok = (std::fclose(f) == 0) && ok;
  return ok;
}

// Makes sure `pages` huge pages are free, raising nr_hugepages if allowed.
// Returns false when the kernel could not provide them.
bool ensureFreeHugePages(uint64_t pages) {
  long free_pages = freeHugePages();
  if (free_pages >= long(pages)) return true;
  long total = readLong(kNrHugepages);
  if (total < 0 || free_pages < 0) return false;
  long want = total + (long(pages) - free_pages);
  if (!writeLong(kNrHugepages, want)) return false;
  long now = readLong(kNrHugepages);
  if (now > total) g_reserved_pages += uint64_t(now - total);
  return freeHugePages() >= long(pages);
}

// Packet memory is never inherited by child processes: a fork would have to
// reserve huge pages for copy-on-write of a private hugetlb mapping (and
// fail with ENOMEM when none are free), and children have no business with
// packet buffers anyway.
void* keepFromChildren(void* p, size_t bytes) {
  if (p) madvise(p, bytes, MADV_DONTFORK);
  return p;
}

void* mapHuge(size_t bytes) {
  void* p =
      mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
  return keepFromChildren(p == MAP_FAILED ? nullptr : p, bytes);
}

}  // namespace

MemRegion MemRegion::allocate(size_t bytes, HugePagePolicy policy, const std::string& what,
                              std::vector<std::string>* warnings) {
  MemRegion r;
  size_t size = (bytes + kHugePageSize - 1) & ~(kHugePageSize - 1);
  if (size == 0) size = kHugePageSize;
  int huge_errno = 0;
  if (policy != HugePagePolicy::kOff) {
    std::lock_guard<std::mutex> lock(g_reserve_mu);
    void* p = mapHuge(size);
    if (!p) {
      huge_errno = errno;
      if (ensureFreeHugePages(size / kHugePageSize)) p = mapHuge(size);
      if (!p) huge_errno = errno;
    }
    if (p) {
      r.base_ = p;
      r.size_ = size;
      r.huge_ = true;
      g_huge_bytes += size;
      ++g_live_huge_regions;
      return r;
    }
    if (policy == HugePagePolicy::kRequire) {
      throw Error(err::kMemory,
                  what + ": " + std::to_string(size / kHugePageSize) +
                      " huge pages of 2 MiB are needed and could not be mapped (see " + kNrHugepages + ")",
                  huge_errno);
    }
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) {
    throw Error(err::kMemory, what + ": cannot map " + std::to_string(size) + " bytes", errno);
  }
  keepFromChildren(p, size);
  r.base_ = p;
  r.size_ = size;
  r.huge_ = false;
  g_normal_bytes += size;
  if (policy != HugePagePolicy::kOff && warnings) {
    warnings->push_back(what + ": no 2 MiB huge pages available (" + std::strerror(huge_errno) +
                        "), using normal pages; packet I/O will be slower. Reserve them with `echo N > " +
                        kNrHugepages + "`");
  }
  return r;
}

MemRegion& MemRegion::operator=(MemRegion&& o) noexcept {
  if (this != &o) {
    release();
    base_ = o.base_;
    size_ = o.size_;
    huge_ = o.huge_;
    o.base_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

MemRegion::~MemRegion() { release(); }

void MemRegion::release() {
  if (!base_) return;
  munmap(base_, size_);
  if (huge_) {
    g_huge_bytes -= size_;
    std::lock_guard<std::mutex> lock(g_reserve_mu);
    // Give back the pages we reserved once nothing of ours uses them.
    if (--g_live_huge_regions == 0 && g_reserved_pages > 0) {
      long total = readLong(kNrHugepages);
      if (total >= long(g_reserved_pages)) writeLong(kNrHugepages, total - long(g_reserved_pages));
      g_reserved_pages = 0;
    }
  } else {
    g_normal_bytes -= size_;
  }
  base_ = nullptr;
}

HugeMemUsage hugeMemUsage() {
  std::lock_guard<std::mutex> lock(g_reserve_mu);
  return {g_huge_bytes.load(), g_normal_bytes.load(), g_reserved_pages};
}

}  // namespace nfvgw
