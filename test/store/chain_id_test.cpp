// Chain ids: the worked values of the seed walk (python:3.9-alpine3.12, five layers).
#include <gtest/gtest.h>

#include "overlayfuse/sha256.hpp"
#include "overlayfuse/store/reference.hpp"

namespace ovf::store {
namespace {

const char* kDiffIds[] = {
    "sha256:f4666769fca7a1db532e3de298ca87f7e3124f74d17e1937d1127cb17058fead",
    "sha256:f2bc6754fc86dfbd965dfb93127dc473c36bc44cf21f87a779dcd0f94d924f3d",
    "sha256:e25ee6f7192be198a37c00741fce057aaa0eef58b0fb77a9fc2a23dcd84a5302",
    "sha256:0d2c65b855c43c1c83cf24e866e70e232f3ba451aa6aa159adc1e4dc3d51f96a",
    "sha256:debde983e4fe3ad328c6aa3f37cf9ee30d268b8266e37da87417133d0cc252ad",
};
const char* kChainIds[] = {
    "sha256:f4666769fca7a1db532e3de298ca87f7e3124f74d17e1937d1127cb17058fead",
    "sha256:25370907defafe1eacf55dd1df121dd16890773e4a3d0637629de56ed6c69198",
    "sha256:2d87c3c42dcce905c4f0aafd9657cc0247a9a79c461f0e8abf81a2c8523dacfb",
    "sha256:49c9ddedef77ac89647c786c3bd53c7c6bb9db897a0465087e1847afeb5c9eba",
    "sha256:66604bb690d7ccdba67800376f20617e4821baf9c716534a399288bd9845be12",
};

TEST(ChainId, BaseLayerIsItsDiffId) { EXPECT_EQ(chain_id("", kDiffIds[0]), kChainIds[0]); }

TEST(ChainId, SeedWalkValues) {
    std::string chain;
    for (int i = 0; i < 5; ++i) {
        chain = chain_id(chain, kDiffIds[i]);
        EXPECT_EQ(chain, kChainIds[i]) << "layer " << i;
    }
}

TEST(ChainId, IsSha256OfParentSpaceDiff) {
    // echo -n "sha256:<chain1> sha256:<diff2>" | sha256sum, as the seed computes it.
    EXPECT_EQ(sha256_hex(std::string(kChainIds[1]) + " " + kDiffIds[2]),
              std::string(kChainIds[2]).substr(7));
    EXPECT_EQ(chain_id(kChainIds[3], kDiffIds[4]), kChainIds[4]);
}

TEST(ChainId, OrderMatters) {
    EXPECT_NE(chain_id(kDiffIds[0], kDiffIds[1]), chain_id(kDiffIds[1], kDiffIds[0]));
}

}  // namespace
}  // namespace ovf::store
