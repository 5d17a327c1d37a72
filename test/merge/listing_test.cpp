// The merged listing on its own: slots that never move while names come and go.
#include "overlayfuse/merge/listing.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ovf::test {
namespace {

merge::DirEntry entry(const std::string& name, ino_t ino) {
    merge::DirEntry e;
    e.name = name;
    e.ino = ino;
    return e;
}

// A listing built with a few names and grown one name at a time across many of its
// storage segments keeps every name at the slot it was given, in order.
TEST(Listing, GrowingOneNameAtATimeKeepsEverySlot) {
    merge::Listing l({entry("a", 1), entry("b", 2), entry("c", 3)});
    for (int i = 0; i < 5000; ++i) l.put(entry("f" + std::to_string(i), static_cast<ino_t>(100 + i)));
    l.remove("b");
    l.remove("f2500");
    EXPECT_EQ(l.live_count(), 5001u);
    uint32_t slot = 0;
    auto f = l.find("f4999", &slot);
    ASSERT_TRUE(f);
    EXPECT_EQ(slot, 5002u);
    EXPECT_EQ(f->ino, 5099u);
    EXPECT_FALSE(l.find("f2500"));
    auto all = l.slice(0, SIZE_MAX);
    ASSERT_EQ(all.size(), 5001u);
    EXPECT_EQ(all[0].second.name, "a");
    EXPECT_EQ(all[1].first, 2u) << "b's slot stays a hole";
    for (size_t i = 2; i < all.size(); ++i) {
        EXPECT_LT(all[i - 1].first, all[i].first);
        EXPECT_EQ(l.find(all[i].second.name)->ino, all[i].second.ino);
    }
    auto tail = l.slice(4000, 3);
    ASSERT_EQ(tail.size(), 3u);
    EXPECT_EQ(tail[0].first, 4000u);
    EXPECT_EQ(tail[0].second.name, "f3997");
    l.put(entry("f10", 7));  // a name already there is replaced in place
    ASSERT_TRUE(l.find("f10", &slot));
    EXPECT_EQ(slot, 13u);
    EXPECT_EQ(l.find("f10")->ino, 7u);
}

// Names removed and made again, over and over (a build directory, rm -rf and recreate):
// every lookup stays right and the listing keeps only its live names.
TEST(Listing, NamesRemovedAndMadeAgainAreFoundEachTime) {
    merge::Listing l({entry("keep", 1)});
    for (int round = 0; round < 50; ++round) {
        for (int i = 0; i < 40; ++i) l.put(entry("n" + std::to_string(i), static_cast<ino_t>(1000 * round + i)));
        for (int i = 0; i < 40; i += 2) l.remove("n" + std::to_string(i));
        for (int i = 0; i < 40; ++i) {
            auto e = l.find("n" + std::to_string(i));
            if (i % 2 == 0) {
                ASSERT_FALSE(e) << "round " << round << " name n" << i;
            } else {
                ASSERT_TRUE(e) << "round " << round << " name n" << i;
                EXPECT_EQ(e->ino, static_cast<ino_t>(1000 * round + i));
            }
        }
        for (int i = 1; i < 40; i += 2) l.remove("n" + std::to_string(i));
        ASSERT_EQ(l.live_count(), 1u);
    }
    EXPECT_TRUE(l.find("keep"));
    EXPECT_EQ(l.slice(0, SIZE_MAX).size(), 1u);
}

TEST(Listing, AnEmptyListingGrowsToo) {
    merge::Listing l({});
    EXPECT_TRUE(l.empty());
    for (int i = 0; i < 100; ++i) l.put(entry(std::to_string(i), static_cast<ino_t>(i + 1)));
    EXPECT_EQ(l.live_count(), 100u);
    uint32_t slot = 0;
    ASSERT_TRUE(l.find("99", &slot));
    EXPECT_EQ(slot, 99u);
}

}  // namespace
}  // namespace ovf::test
