#include "overlayfuse/merge/listing.hpp"

#include <mutex>

namespace ovf::merge {

Listing::Listing(std::vector<DirEntry> entries) {
    slots_.reserve(entries.size());
    index_.reserve(entries.size());
    for (auto& e : entries) {
        index_.emplace(e.name, slots_.size());
        slots_.emplace_back(std::move(e));
    }
}

std::optional<DirEntry> Listing::find(std::string_view name) const {
    std::shared_lock lock(mu_);
    auto it = index_.find(name);
    if (it == index_.end()) return std::nullopt;
    return slots_[it->second];
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
    auto it = index_.find(e.name);
    if (it != index_.end()) {
        slots_[it->second] = std::move(e);
        return;
    }
    index_.emplace(e.name, slots_.size());
    slots_.emplace_back(std::move(e));
}

void Listing::remove(std::string_view name) {
    std::unique_lock lock(mu_);
    auto it = index_.find(name);
    if (it == index_.end()) return;
    slots_[it->second].reset();
    index_.erase(it);
}

}  // namespace ovf::merge
