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
#include <vector>

namespace ovf::merge {

// The lower layers a listed directory merges with, top first: none for most entries (every
// file), a few for directories. One pointer wide, where a std::vector is three: a listing
// holds an entry per name. The count sits in front of the layers.
class LowerLayers {
public:
    LowerLayers() = default;
    LowerLayers(const LowerLayers& o) { *this = o; }
    LowerLayers(LowerLayers&&) noexcept = default;
    LowerLayers& operator=(const LowerLayers& o);
    LowerLayers& operator=(LowerLayers&&) noexcept = default;
    bool empty() const { return !p_; }
    size_t size() const { return p_ ? p_[0] : 0; }
    uint16_t operator[](size_t i) const { return p_[1 + i]; }
    uint16_t back() const { return p_[p_[0]]; }
    void clear() { p_.reset(); }
    void push_back(uint16_t layer);

private:
    std::unique_ptr<uint16_t[]> p_;  // [count, layers...], room for a power of two slots
};

struct DirEntry {
    std::string name;
    ino_t ino = 0;        // st_ino the view reports for it
    // For a directory: the lower layers (top first) where the name is a directory too and
    // nothing in between hides it. Opacity is applied later, when the child is looked up.
    LowerLayers lower_dirs;
    uint16_t layer = 0;   // engine layer index of the topmost copy (0 = topmost layer)
    uint8_t type = 0;     // DT_* of the topmost copy
    // Layers below the topmost copy hold this name (so deleting it needs a whiteout).
    bool covers_lower = false;
    bool removed = false;  // a hole among a Listing's slots (in what was padding)
    // Made in the upper over a lower xattr whiteout the kernel's readdir lists (a "ghost",
    // Engine::is_ghost) in layer GHOST_LAYER: removing this name shows the ghost again.
    bool over_ghost = false;
    uint16_t ghost_layer = 0;
};  // in this order: 56 bytes (a listing holds one per name)

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
    // Whether rmdir may remove the directory. The kernel's emptiness check (6.18) counts a
    // name whose topmost copy is an xattr whiteout, which its readdir and lookup hide: such a
    // directory lists empty and is not.
    bool counts_as_empty() const { return empty() && hidden_xwhiteouts_ == 0; }
    void set_hidden_xwhiteouts(size_t n) { hidden_xwhiteouts_ = n; }

    // Mutations, made by the engine while it holds its namespace lock.
    void put(DirEntry e);  // adds NAME, or replaces the entry of that name in place
    void remove(std::string_view name);

private:
    // The slots, in segments that never move: a directory growing by one name at a time
    // (10,000 creates) never copies its slots, and never holds an old and a new array at
    // once as a doubling vector does (1.3 + 0.65 MB at its last doubling there). The first
    // segment is the size the listing was built with, each later one half the slots so far.
    class Slots {
    public:
        void reserve_first(size_t n);
        size_t size() const { return size_; }
        DirEntry& operator[](size_t i) { return at(i); }
        const DirEntry& operator[](size_t i) const { return const_cast<Slots*>(this)->at(i); }
        void push_back(DirEntry e);

    private:
        struct Segment {
            size_t start;
            size_t len;
            std::unique_ptr<DirEntry[]> slots;
        };
        DirEntry& at(size_t i);
        std::vector<Segment> segments_;
        size_t size_ = 0;
    };
    std::string_view name_at(uint32_t slot) const { return slots_[slot].name; }

    // The index by name: open addressing over slot numbers, each name hashed from its slot,
    // so a name is stored once and an entry costs 4-11 bytes (a node-based hash set's was
    // ~40). A position holds a slot, kFree or kGone (a removed entry, skipped by probes).
    static constexpr uint32_t kFree = UINT32_MAX, kGone = UINT32_MAX - 1;
    size_t probe(std::string_view name) const;  // NAME's position, or kNone
    static constexpr size_t kNone = SIZE_MAX;
    void index_insert(uint32_t slot);
    void index_grow(size_t live);

    mutable std::shared_mutex mu_;
    Slots slots_;
    std::vector<uint32_t> index_;  // capacity a power of two, at most 3/4 taken
    size_t live_ = 0;               // slots in the index
    size_t taken_ = 0;              // positions holding a slot or kGone
    size_t hidden_xwhiteouts_ = 0;  // set once, before the listing is shared
};

}  // namespace ovf::merge
