// How images and inspect show values: docker CLI units and layout.
#include <gtest/gtest.h>

#include "overlayfuse/store/display.hpp"

namespace ovf::store {
namespace {

TEST(StoreDisplay, ShortId) {
    EXPECT_EQ(short_id("sha256:7254f7459375ca357ad951c2a97d548455dc9bcc0064589c519ff7dc37708d7d"), "7254f7459375");
    EXPECT_EQ(short_id("7254f7459375ca35"), "7254f7459375");
}

TEST(StoreDisplay, HumanSizeLikeDockerImages) {
    EXPECT_EQ(human_size(0), "0B");
    EXPECT_EQ(human_size(180), "180B");
    EXPECT_EQ(human_size(999), "999B");
    EXPECT_EQ(human_size(1000), "1kB");
    EXPECT_EQ(human_size(5580), "5.58kB");
    EXPECT_EQ(human_size(2070000), "2.07MB");
    EXPECT_EQ(human_size(44200000), "44.2MB");
    EXPECT_EQ(human_size(1234567890), "1.23GB");
    EXPECT_EQ(human_size(999999), "1e+03kB");  // what go-units prints too
}

TEST(StoreDisplay, ParseRfc3339) {
    EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(parse_rfc3339("2024-01-01T00:00:00Z"), 1704067200);
    EXPECT_EQ(parse_rfc3339("2024-04-12T09:39:39.123456789Z"), 1712914779);
    EXPECT_EQ(parse_rfc3339("2024-04-12T11:39:39+02:00"), 1712914779);
    EXPECT_EQ(parse_rfc3339("2024-04-12T04:39:39.5-05:00"), 1712914779);
    EXPECT_EQ(parse_rfc3339("2000-02-29T12:00:00Z"), 951825600);
    for (const char* bad : {"", "2024-01-01", "2024-01-01T00:00:00", "2024-13-01T00:00:00Z",
                            "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00Zjunk", "yesterday"})
        EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

TEST(StoreDisplay, HumanDurationLikeGoUnits) {
    EXPECT_EQ(human_duration(0), "Less than a second");
    EXPECT_EQ(human_duration(1), "1 second");
    EXPECT_EQ(human_duration(54), "54 seconds");
    EXPECT_EQ(human_duration(60), "About a minute");
    EXPECT_EQ(human_duration(12 * 60), "12 minutes");
    EXPECT_EQ(human_duration(3600), "About an hour");
    EXPECT_EQ(human_duration(5 * 3600), "5 hours");
    EXPECT_EQ(human_duration(3 * 86400), "3 days");
    EXPECT_EQ(human_duration(20 * 86400), "2 weeks");
    EXPECT_EQ(human_duration(100 * 86400), "3 months");
    EXPECT_EQ(human_duration(int64_t(4) * 365 * 86400), "4 years");
}

TEST(StoreDisplay, CreatedSince) {
    EXPECT_EQ(created_since("2024-01-01T00:00:00Z", 1704067200 + 7200), "2 hours ago");
    EXPECT_EQ(created_since("", 0), "N/A");
}

TEST(StoreDisplay, TableLikeDockerTabwriter) {
    std::string t = format_table({{"REPOSITORY", "TAG", "SIZE"}, {"a", "latest", "1kB"}});
    EXPECT_EQ(t,
              "REPOSITORY   TAG       SIZE\n"
              "a            latest    1kB\n");
}

}  // namespace
}  // namespace ovf::store
