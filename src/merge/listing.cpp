#include "overlayfuse/merge/listing.hpp"

#include <mutex>

namespace ovf::merge {

Listing::Listing(std::vector<DirEntry> entries) {
    slots_.reserve(entries.size());
    index_.reserve(entries.size());
    for (auto& e : entries) {
        slots_.emplace_back(std::move(e));
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
    slots_.emplace_back(std::move(e));
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
