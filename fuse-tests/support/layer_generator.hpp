#pragma once
// Seeded, deterministic generator of layer stacks that exercise every overlay rule: each layer
// mostly acts on paths that lower layers already have (delete them, replace a directory by a
// file and back, re-create a deleted directory, make a directory opaque, modify one name of a
// hard-link group, ...), so the merge rules are hit far more often than random trees would.
#include <cstdint>
#include <string>

#include "support/layer_model.hpp"

namespace ovft {

struct GeneratorParams {
    int min_layers = 2;
    int max_layers = 6;
    int min_ops_per_layer = 3;
    int max_ops_per_layer = 25;
    bool big_files = true;       // sometimes a file larger than 1 MiB
    bool devices = true;         // fifos, char and block devices
    bool odd_owners = true;      // uid/gid 1234, 65534, 4294967294
    bool odd_modes = true;       // setuid, setgid, sticky, 000, 0777
    bool xattrs = true;          // user.* and security.capability values
    bool long_names = true;      // 255-byte names, non-ASCII, spaces, newlines
    bool deep_paths = true;      // a directory chain 30+ levels deep
};

// The same SEED and PARAMS always give the same stack (the generator owns its PRNG).
LayerStack generate_stack(uint64_t seed, const GeneratorParams& params = {});

}  // namespace ovft
