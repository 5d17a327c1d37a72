#include "overlayfuse/merge/listing.hpp"

#include <algorithm>
#include <mutex>

namespace ovf::merge {

void Listing::Slots::reserve_first(size_t n) {
    if (segments_.empty() && n > 0)
        segments_.push_back({0, n, std::make_unique<std::optional<DirEntry>[]>(n)});
}

std::optional<DirEntry>& Listing::Slots::at(size_t i) {
    // Segments grow geometrically: a few dozen at most, the last one the likeliest.
    for (auto s = segments_.rbegin(); s != segments_.rend(); ++s)
        if (i >= s->start) return s->slots[i - s->start];
    return segments_.front().slots[i];  // not reached: i < size_
}

void Listing::Slots::push_back(DirEntry e) {
    size_t room = segments_.empty() ? 0 : segments_.back().start + segments_.back().len;
    if (size_ == room) {
        size_t len = std::max<size_t>(8, size_ / 2);
        segments_.push_back({size_, len, std::make_unique<std::optional<DirEntry>[]>(len)});
    }
    at(size_) = std::move(e);
    ++size_;
}

Listing::Listing(std::vector<DirEntry> entries) {
    slots_.reserve_first(entries.size());
    index_.reserve(entries.size());
    for (auto& e : entries) {
        slots_.push_back(std::move(e));
        index_.insert(static_cast<uint32_t>(slots_.size() - 1));
    }
}

std::optional<DirEntry> Listing::find(std::string_view name, uint32_t* slot) const {
    std::shared_lock lock(mu_);
    auto it = index_.find(name);
    if (it == index_.end()) return std::nullopt;
    if (slot) *slot = *it;
    return slots_[*it];
}

std::vector<std::pair<size_t, DirEntry>> Listing::slice(size_t from, size_t max) const {
    std::shared_lock lock(mu_);
    std::vector<std::pair<size_t, DirEntry>> out;
    for (size_t i = from; i < slots_.size() && out.size() < max; ++i)
        if (slots_[i]) out.emplace_back(i, *slots_[i]);
    return out;
}

size_t Listing::live_count() const {
    std::shared_lock lock(mu_);
    return index_.size();
}

void Listing::put(DirEntry e) {
    std::unique_lock lock(mu_);
    auto it = index_.find(std::string_view(e.name));
    if (it != index_.end()) {
        slots_[*it] = std::move(e);  // same name, same hash: the index stays right
        return;
    }
    slots_.push_back(std::move(e));
    index_.insert(static_cast<uint32_t>(slots_.size() - 1));
}

void Listing::remove(std::string_view name) {
    std::unique_lock lock(mu_);
    auto it = index_.find(name);
    if (it == index_.end()) return;
    uint32_t slot = *it;
    index_.erase(it);  // before the name it hashes goes away
    slots_[slot].reset();
}

}  // namespace ovf::merge
