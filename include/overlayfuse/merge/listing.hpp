#pragma once
// The merged listing of one directory: every visible name once, built in one pass over the
// directory's layers. It answers both readdir and lookup, so a lookup never scans layers.
//
// Slots never move: a removed name leaves a hole and a new one is appended. A slot index is
// therefore a readdir offset that stays valid for every open handle while others create and
// delete names (seekdir/telldir, `rm -rf` while listing).
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace ovf::merge {

struct DirEntry {
    std::string name;
    ino_t ino = 0;        // st_ino the view reports for it
    // For a directory: the lower layers (top first) where the name is a directory too and
    // nothing in between hides it. Opacity is applied later, when the child is looked up.
    std::vector<uint16_t> lower_dirs;
    uint16_t layer = 0;   // engine layer index of the topmost copy (0 = topmost layer)
    uint8_t type = 0;     // DT_* of the topmost copy
    // Layers below the topmost copy hold this name (so deleting it needs a whiteout).
    bool covers_lower = false;
};  // in this order: 72 bytes, not 80 (a listing holds one per name)

class Listing {
public:
    explicit Listing(std::vector<DirEntry> entries);
    Listing(const Listing&) = delete;
    Listing& operator=(const Listing&) = delete;

    // NAME's entry; SLOT, if given, gets its slot index.
    std::optional<DirEntry> find(std::string_view name, uint32_t* slot = nullptr) const;
    // Live entries from slot FROM on, at most MAX of them, each with its slot index.
    std::vector<std::pair<size_t, DirEntry>> slice(size_t from, size_t max) const;
    size_t live_count() const;
    bool empty() const { return live_count() == 0; }

    // Mutations, made by the engine while it holds its namespace lock.
    void put(DirEntry e);  // adds NAME, or replaces the entry of that name in place
    void remove(std::string_view name);

private:
    // The index holds slot numbers and hashes the names in the slots, so a name is stored
    // once. Lookups by name are heterogeneous (C++20).
    struct SlotHash {
        using is_transparent = void;
        const Listing* l;
        size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
        size_t operator()(uint32_t slot) const noexcept { return (*this)(l->name_at(slot)); }
    };
    struct SlotEq {
        using is_transparent = void;
        const Listing* l;
        bool operator()(uint32_t a, uint32_t b) const noexcept { return a == b; }
        bool operator()(uint32_t a, std::string_view b) const noexcept { return l->name_at(a) == b; }
        bool operator()(std::string_view a, uint32_t b) const noexcept { return a == l->name_at(b); }
    };
    // The slots, in segments that never move: a directory growing by one name at a time
    // (10,000 creates) never copies its slots, and never holds an old and a new array at
    // once as a doubling vector does (1.3 + 0.65 MB at its last doubling there). The first
    // segment is the size the listing was built with, each later one half the slots so far.
    class Slots {
    public:
        void reserve_first(size_t n);
        size_t size() const { return size_; }
        std::optional<DirEntry>& operator[](size_t i) { return at(i); }
        const std::optional<DirEntry>& operator[](size_t i) const { return const_cast<Slots*>(this)->at(i); }
        void push_back(DirEntry e);

    private:
        struct Segment {
            size_t start;
            size_t len;
            std::unique_ptr<std::optional<DirEntry>[]> slots;
        };
        std::optional<DirEntry>& at(size_t i);
        std::vector<Segment> segments_;
        size_t size_ = 0;
    };
    std::string_view name_at(uint32_t slot) const { return slots_[slot]->name; }

    mutable std::shared_mutex mu_;
    Slots slots_;
    std::unordered_set<uint32_t, SlotHash, SlotEq> index_{0, SlotHash{this}, SlotEq{this}};
};

}  // namespace ovf::merge
