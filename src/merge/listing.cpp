#include "overlayfuse/merge/listing.hpp"

#include <algorithm>
#include <bit>
#include <mutex>

namespace ovf::merge {

namespace {
// Slots a LowerLayers with N layers has room for: the count and the layers, rounded up.
size_t room_for(size_t n) { return std::bit_ceil(n + 1); }
}  // namespace

LowerLayers& LowerLayers::operator=(const LowerLayers& o) {
    if (this == &o) return *this;
    if (o.empty()) {
        p_.reset();
        return *this;
    }
    size_t n = o.size();
    auto q = std::make_unique<uint16_t[]>(room_for(n));
    std::copy(o.p_.get(), o.p_.get() + n + 1, q.get());
    p_ = std::move(q);
    return *this;
}

void LowerLayers::push_back(uint16_t layer) {
    size_t n = size();
    if (!p_ || n + 2 > room_for(n)) {
        auto q = std::make_unique<uint16_t[]>(room_for(n + 1));
        if (p_) std::copy(p_.get(), p_.get() + n + 1, q.get());
        p_ = std::move(q);
    }
    p_[n + 1] = layer;
    p_[0] = static_cast<uint16_t>(n + 1);
}

void Listing::Slots::reserve_first(size_t n) {
    if (segments_.empty() && n > 0)
        segments_.push_back({0, n, std::make_unique<DirEntry[]>(n)});
}

DirEntry& Listing::Slots::at(size_t i) {
    // Segments grow geometrically: a few dozen at most, the last one the likeliest.
    for (auto s = segments_.rbegin(); s != segments_.rend(); ++s)
        if (i >= s->start) return s->slots[i - s->start];
    return segments_.front().slots[i];  // not reached: i < size_
}

void Listing::Slots::push_back(DirEntry e) {
    size_t room = segments_.empty() ? 0 : segments_.back().start + segments_.back().len;
    if (size_ == room) {
        size_t len = std::max<size_t>(8, size_ / 2);
        segments_.push_back({size_, len, std::make_unique<DirEntry[]>(len)});
    }
    at(size_) = std::move(e);
    ++size_;
}

size_t Listing::probe(std::string_view name) const {
    if (index_.empty()) return kNone;
    size_t mask = index_.size() - 1;
    for (size_t i = std::hash<std::string_view>()(name) & mask;; i = (i + 1) & mask) {
        uint32_t s = index_[i];
        if (s == kFree) return kNone;
        if (s != kGone && name_at(s) == name) return i;
    }
}

void Listing::index_grow(size_t live) {
    size_t cap = 8;
    while (cap * 3 < live * 4 + 4) cap *= 2;  // room for LIVE and one more at 3/4
    std::vector<uint32_t> old(cap, kFree);
    old.swap(index_);
    taken_ = live_ = 0;
    for (uint32_t s : old)
        if (s != kFree && s != kGone) index_insert(s);
}

void Listing::index_insert(uint32_t slot) {
    if ((taken_ + 1) * 4 > index_.size() * 3) index_grow(live_ + 1);
    size_t mask = index_.size() - 1;
    size_t i = std::hash<std::string_view>()(name_at(slot)) & mask;
    while (index_[i] != kFree && index_[i] != kGone) i = (i + 1) & mask;
    if (index_[i] == kFree) ++taken_;
    index_[i] = slot;
    ++live_;
}

Listing::Listing(std::vector<DirEntry> entries) {
    slots_.reserve_first(entries.size());
    index_grow(entries.size());
    for (auto& e : entries) {
        slots_.push_back(std::move(e));
        index_insert(static_cast<uint32_t>(slots_.size() - 1));
    }
}

std::optional<DirEntry> Listing::find(std::string_view name, uint32_t* slot) const {
    std::shared_lock lock(mu_);
    size_t at = probe(name);
    if (at == kNone) return std::nullopt;
    if (slot) *slot = index_[at];
    return slots_[index_[at]];
}

std::vector<std::pair<size_t, DirEntry>> Listing::slice(size_t from, size_t max) const {
    std::shared_lock lock(mu_);
    std::vector<std::pair<size_t, DirEntry>> out;
    for (size_t i = from; i < slots_.size() && out.size() < max; ++i)
        if (!slots_[i].removed) out.emplace_back(i, slots_[i]);
    return out;
}

size_t Listing::live_count() const {
    std::shared_lock lock(mu_);
    return live_;
}

void Listing::put(DirEntry e) {
    std::unique_lock lock(mu_);
    if (size_t at = probe(e.name); at != kNone) {
        slots_[index_[at]] = std::move(e);  // same name, same hash: the index stays right
        return;
    }
    slots_.push_back(std::move(e));
    index_insert(static_cast<uint32_t>(slots_.size() - 1));
}

void Listing::remove(std::string_view name) {
    std::unique_lock lock(mu_);
    size_t at = probe(name);
    if (at == kNone) return;
    uint32_t slot = index_[at];
    index_[at] = kGone;  // taken_ keeps counting it until the next growth clears it
    --live_;
    slots_[slot] = DirEntry{};  // frees the name
    slots_[slot].removed = true;
}

}  // namespace ovf::merge
