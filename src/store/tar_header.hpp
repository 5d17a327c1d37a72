#pragma once
// One tar header as Go's archive/tar writes it with Format = PAX (what Docker uses): a plain
// USTAR block when every field fits, else a PAX extended header ('x') in front of it.
#include <cstdint>
#include <map>
#include <string>

namespace ovf::store::detail {

struct TarHeader {
    std::string name;  // full entry name; directories end in '/'
    char typeflag = '0';
    int64_t mode = 0;  // permission bits plus, like Docker, the S_IF* type bits
    int64_t uid = 0;
    int64_t gid = 0;
    int64_t size = 0;
    int64_t mtime = 0;  // whole seconds
    std::string linkname;
    std::string uname;
    std::string gname;
    int64_t devmajor = 0;
    int64_t devminor = 0;
    std::map<std::string, std::string> xattrs;  // become SCHILY.xattr.* PAX records
};

// The header's bytes: a multiple of 512.
std::string encode_tar_header(const TarHeader& h);

// Zero bytes that pad SIZE payload bytes to a whole block.
std::string tar_padding(int64_t size);

// The two zero blocks that end an archive.
std::string tar_trailer();

}  // namespace ovf::store::detail
