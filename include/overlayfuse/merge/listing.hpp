#pragma once
// The merged listing of one directory: every visible name once, built in one pass over the
// directory's layers. It answers both readdir and lookup, so a lookup never scans layers.
//
// Slots never move: a removed name leaves a hole and a new one is appended. A slot index is
// therefore a readdir offset that stays valid for every open handle while others create and
// delete names (seekdir/telldir, `rm -rf` while listing).
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ovf::merge {

struct DirEntry {
    std::string name;
    uint16_t layer = 0;   // engine layer index of the topmost copy (0 = topmost layer)
    uint8_t type = 0;     // DT_* of the topmost copy
    ino_t ino = 0;        // st_ino the view reports for it
    // For a directory: the lower layers (top first) where the name is a directory too and
    // nothing in between hides it. Opacity is applied later, when the child is looked up.
    std::vector<uint16_t> lower_dirs;
    // Layers below the topmost copy hold this name (so deleting it needs a whiteout).
    bool covers_lower = false;
};

class Listing {
public:
    explicit Listing(std::vector<DirEntry> entries);
    Listing(const Listing&) = delete;
    Listing& operator=(const Listing&) = delete;

    std::optional<DirEntry> find(std::string_view name) const;
    // Live entries from slot FROM on, at most MAX of them, each with its slot index.
    std::vector<std::pair<size_t, DirEntry>> slice(size_t from, size_t max) const;
    size_t live_count() const;
    bool empty() const { return live_count() == 0; }

    // Mutations, made by the engine while it holds its namespace lock.
    void put(DirEntry e);  // adds NAME, or replaces the entry of that name in place
    void remove(std::string_view name);

private:
    struct NameHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
    };
    mutable std::shared_mutex mu_;
    std::vector<std::optional<DirEntry>> slots_;
    std::unordered_map<std::string, size_t, NameHash, std::equal_to<>> index_;
};

}  // namespace ovf::merge
