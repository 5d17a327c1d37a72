#include "overlayfuse/merge/listing.hpp"

namespace ovf::merge {

Listing::Listing(std::vector<DirEntry> entries) : entries_(std::move(entries)) {
    index_.reserve(entries_.size());
    for (uint32_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].name, i);
}

const DirEntry* Listing::find(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second];
}

}  // namespace ovf::merge
