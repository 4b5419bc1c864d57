// Memory for packet buffers and internal rings, from 2 MiB huge pages.
//
// The gateway asks for huge pages first (MAP_HUGETLB). When the pool of free
// huge pages is too small and the policy allows it, it raises
// /proc/sys/vm/nr_hugepages by what it needs and gives that back when the last
// region is freed. Without huge pages it falls back to normal pages and says
// so once (the warning reaches the logs, the metric nfvgw_hugepages_in_use
// stays 0): it never degrades silently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nfvgw {

inline constexpr size_t kHugePageSize = 2u << 20;

enum class HugePagePolicy : uint8_t {
  kAuto,     // huge pages, reserving them if needed; normal pages otherwise
  kRequire,  // huge pages or an error
  kOff,      // normal pages only
};

class MemRegion {
 public:
  MemRegion() = default;
  MemRegion(const MemRegion&) = delete;
  MemRegion& operator=(const MemRegion&) = delete;
  MemRegion(MemRegion&& o) noexcept { *this = std::move(o); }
  MemRegion& operator=(MemRegion&& o) noexcept;
  ~MemRegion();

  // Maps `bytes` (rounded up to 2 MiB), zero-filled and populated. `what`
  // names the user in errors and warnings. Throws nfvgw::Error (kMemory) when
  // nothing can be mapped, or when kRequire cannot be met. Appends a warning
  // to `warnings` when it falls back to normal pages.
  static MemRegion allocate(size_t bytes, HugePagePolicy policy, const std::string& what,
                            std::vector<std::string>* warnings);

  uint8_t* data() const { return static_cast<uint8_t*>(base_); }
  size_t size() const { return size_; }
  bool huge() const { return huge_; }

 private:
  void release();

  void* base_ = nullptr;
  size_t size_ = 0;
  bool huge_ = false;
};

struct HugeMemUsage {
  uint64_t huge_bytes;      // mapped from huge pages by this process
  uint64_t normal_bytes;    // fallback mappings
  uint64_t reserved_pages;  // pages this process added to nr_hugepages
};
HugeMemUsage hugeMemUsage();

}  // namespace nfvgw
