#pragma once
// The merged listing of one directory: every visible name once, built in one pass over the
// directory's layers. It answers both readdir and lookup, so a lookup never scans layers.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ovf::merge {

struct DirEntry {
    std::string name;
    uint16_t branch = 0;  // index into the directory's branches of the topmost copy
    uint8_t type = 0;     // DT_* of the topmost copy
    ino_t real_ino = 0;   // d_ino of the topmost copy in its layer
    // For a directory: the lower branches (top first) where the name is a directory too and
    // nothing in between hides it. Opacity is applied later, when the child is looked up.
    std::vector<uint16_t> lower_dirs;
};

class Listing {
public:
    explicit Listing(std::vector<DirEntry> entries);
    Listing(const Listing&) = delete;
    Listing& operator=(const Listing&) = delete;

    const std::vector<DirEntry>& entries() const { return entries_; }
    const DirEntry* find(std::string_view name) const;

private:
    std::vector<DirEntry> entries_;
    std::unordered_map<std::string_view, uint32_t> index_;  // views into entries_[i].name
};

}  // namespace ovf::merge
