#include "tar_header.hpp"

#include <cstdio>
#include <vector>

namespace ovf::store::detail {

namespace {

constexpr size_t kBlock = 512;

// Field offsets and sizes of a USTAR header block.
struct Field {
    size_t off, len;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12},
    kMtime{136, 12}, kChksum{148, 8}, kType{156, 1}, kLinkname{157, 100}, kMagic{257, 6},
    kVersion{263, 2}, kUname{265, 32}, kGname{297, 32}, kDevmajor{329, 8}, kDevminor{337, 8},
    kPrefix{345, 155};

bool is_ascii(const std::string& s) {
    for (unsigned char c : s)
        if (c >= 0x80 || c == 0) return false;
    return true;
}

std::string to_ascii(const std::string& s) {
    std::string out;
    for (unsigned char c : s)
        if (c < 0x80 && c != 0) out.push_back(static_cast<char>(c));
    return out;
}

bool fits_octal(int64_t v, size_t len) {
    return v >= 0 && (len - 1 >= 21 || v < (int64_t(1) << (3 * (len - 1))));
}

void put_string(std::string& blk, Field f, const std::string& s) {
    size_t n = std::min(s.size(), f.len);
    blk.replace(f.off, n, s, 0, n);  // NUL-terminated when shorter, like Go's formatString
}

void put_octal(std::string& blk, Field f, int64_t v) {
    if (!fits_octal(v, f.len)) v = 0;  // the PAX record carries the real value
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llo", static_cast<int>(f.len - 1),
                  static_cast<unsigned long long>(v));
    put_string(blk, f, buf);
}

void finish_block(std::string& blk) {
    blk.replace(kMagic.off, 6, "ustar\0", 6);
    blk.replace(kVersion.off, 2, "00");
    blk.replace(kChksum.off, kChksum.len, kChksum.len, ' ');
    unsigned sum = 0;
    for (unsigned char c : blk) sum += c;
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06o", sum);
    blk.replace(kChksum.off, 6, buf, 6);
    blk[kChksum.off + 6] = '\0';
    blk[kChksum.off + 7] = ' ';
}

// Go's splitUSTARPath: NAME as prefix + "/" + name, if both halves fit.
bool split_ustar_path(const std::string& s, std::string& prefix, std::string& name) {
    size_t length = s.size();
    if (length <= kName.len || !is_ascii(s)) return false;
    if (length > kPrefix.len + 1)
        length = kPrefix.len + 1;
    else if (s[length - 1] == '/')
        --length;
    size_t i = s.rfind('/', length - 1);
    if (i == std::string::npos || i == 0) return false;
    size_t nlen = s.size() - i - 1;
    if (nlen > kName.len || nlen == 0 || i > kPrefix.len) return false;
    prefix = s.substr(0, i);
    name = s.substr(i + 1);
    return true;
}

std::string pax_record(const std::string& key, const std::string& value) {
    size_t size = key.size() + value.size() + 3;
    size += std::to_string(size).size();
    std::string rec = std::to_string(size) + " " + key + "=" + value + "\n";
    if (rec.size() != size) rec = std::to_string(rec.size()) + " " + key + "=" + value + "\n";
    return rec;
}

std::string basic_block(const TarHeader& h, const std::string& name, const std::string& prefix) {
    std::string blk(kBlock, '\0');
    put_string(blk, kName, name);
    put_octal(blk, kMode, h.mode);
    put_octal(blk, kUid, h.uid);
    put_octal(blk, kGid, h.gid);
    put_octal(blk, kSize, h.size);
    put_octal(blk, kMtime, h.mtime);
    blk[kType.off] = h.typeflag;
    put_string(blk, kLinkname, to_ascii(h.linkname));
    put_string(blk, kUname, to_ascii(h.uname));
    put_string(blk, kGname, to_ascii(h.gname));
    put_octal(blk, kDevmajor, h.devmajor);
    put_octal(blk, kDevminor, h.devminor);
    put_string(blk, kPrefix, prefix);
    finish_block(blk);
    return blk;
}

}  // namespace

std::string tar_padding(int64_t size) {
    size_t rem = static_cast<size_t>(size % kBlock);
    return rem ? std::string(kBlock - rem, '\0') : std::string();
}

std::string tar_trailer() { return std::string(2 * kBlock, '\0'); }

std::string encode_tar_header(const TarHeader& h) {
    std::map<std::string, std::string> pax;  // sorted, as Go writes them
    std::string name = h.name, prefix;
    if (!is_ascii(h.name) || h.name.size() > kName.len) {
        if (!split_ustar_path(h.name, prefix, name)) {
            pax["path"] = h.name;
            name = to_ascii(h.name);
            prefix.clear();
        }
    }
    if (!is_ascii(h.linkname) || h.linkname.size() > kLinkname.len) pax["linkpath"] = h.linkname;
    if (!fits_octal(h.uid, kUid.len)) pax["uid"] = std::to_string(h.uid);
    if (!fits_octal(h.gid, kGid.len)) pax["gid"] = std::to_string(h.gid);
    if (!fits_octal(h.size, kSize.len)) pax["size"] = std::to_string(h.size);
    if (!fits_octal(h.mtime, kMtime.len)) pax["mtime"] = std::to_string(h.mtime);
    if (!is_ascii(h.uname) || h.uname.size() > kUname.len) pax["uname"] = h.uname;
    if (!is_ascii(h.gname) || h.gname.size() > kGname.len) pax["gname"] = h.gname;
    for (const auto& [k, v] : h.xattrs) pax["SCHILY.xattr." + k] = v;

    std::string out;
    if (!pax.empty()) {
        std::string data;
        for (const auto& [k, v] : pax) data += pax_record(k, v);
        std::string real = h.name;
        while (real.size() > 1 && real.back() == '/') real.pop_back();
        auto slash = real.rfind('/');
        std::string xname = (slash == std::string::npos ? "" : real.substr(0, slash + 1)) +
                            "PaxHeaders.0/" + real.substr(slash == std::string::npos ? 0 : slash + 1);
        xname = to_ascii(xname).substr(0, kName.len);
        while (!xname.empty() && xname.back() == '/') xname.pop_back();
        TarHeader x;
        x.typeflag = 'x';
        x.size = static_cast<int64_t>(data.size());
        out += basic_block(x, xname, "");
        out += data + tar_padding(x.size);
    }
    out += basic_block(h, name, prefix);
    return out;
}

}  // namespace ovf::store::detail
