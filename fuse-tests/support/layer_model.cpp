#include "support/layer_model.hpp"

#include <sstream>
#include <stdexcept>

namespace ovft {

// ---------------------------------------------------------------------------------------------
// Layer building

Entry& Layer::add(const std::string& path, Entry e) {
    if (path.empty() || path.front() == '/' || path.back() == '/') {
        throw std::invalid_argument("layer path must be relative, without a trailing '/': " + path);
    }
    // Parents first, as plain directories, unless the layer already has them.
    for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
        std::string parent = path.substr(0, slash);
        auto it = entries.find(parent);
        if (it == entries.end()) {
            entries.emplace(parent, Entry{Kind::Dir, 0755});
        } else if (it->second.kind != Kind::Dir) {
            throw std::logic_error("cannot add " + path + ": " + parent + " is not a directory in this layer");
        }
    }
    return entries[path] = std::move(e);
}

Entry& Layer::file(const std::string& path, const std::string& content, mode_t mode) {
    Entry e{Kind::File, mode};
    e.data = content;
    return add(path, e);
}

Entry& Layer::dir(const std::string& path, mode_t mode) { return add(path, Entry{Kind::Dir, mode}); }

Entry& Layer::opaque_dir(const std::string& path, mode_t mode) {
    Entry e{Kind::Dir, mode};
    e.opaque = true;
    return add(path, e);
}

Entry& Layer::symlink(const std::string& path, const std::string& target) {
    Entry e{Kind::Symlink, 0777};
    e.data = target;
    return add(path, e);
}

Entry& Layer::hardlink(const std::string& path, const std::string& existing_file) {
    auto it = entries.find(existing_file);
    if (it == entries.end() || it->second.kind != Kind::File) {
        throw std::logic_error("hard link " + path + ": " + existing_file + " is not a file of this layer");
    }
    Entry e{Kind::HardLink, 0};
    e.data = existing_file;
    return add(path, e);
}

Entry& Layer::whiteout(const std::string& path) { return add(path, Entry{Kind::Whiteout, 0}); }

Entry& Layer::fifo(const std::string& path, mode_t mode) { return add(path, Entry{Kind::Fifo, mode}); }

Entry& Layer::chardev(const std::string& path, unsigned major, unsigned minor, mode_t mode) {
    if (major == 0 && minor == 0) throw std::logic_error("char 0/0 is a whiteout; use whiteout()");
    Entry e{Kind::CharDev, mode};
    e.dev_major = major;
    e.dev_minor = minor;
    return add(path, e);
}

Entry& Layer::blockdev(const std::string& path, unsigned major, unsigned minor, mode_t mode) {
    Entry e{Kind::BlockDev, mode};
    e.dev_major = major;
    e.dev_minor = minor;
    return add(path, e);
}

// ---------------------------------------------------------------------------------------------
// Encodings

Encoding kernel_encoding() {
    return {"kernel", {WhiteoutForm::CharDev, WhiteoutForm::CharDev, WhiteoutForm::TrustedXattr},
            {OpaqueForm::TrustedXattr}};
}

Encoding kernel_classic_encoding() {
    return {"kernel-classic", {WhiteoutForm::CharDev}, {OpaqueForm::TrustedXattr}};
}

Encoding aufs_encoding() { return {"aufs", {WhiteoutForm::WhFile}, {OpaqueForm::WhOpqFile}}; }

Encoding user_xattr_encoding() {
    return {"user-xattr",
            {WhiteoutForm::CharDev, WhiteoutForm::WhFile},
            {OpaqueForm::UserOverlayXattr, OpaqueForm::FuseOverlayfsXattr}};
}

Encoding mixed_encoding() {
    return {"mixed",
            {WhiteoutForm::CharDev, WhiteoutForm::WhFile, WhiteoutForm::TrustedXattr},
            {OpaqueForm::TrustedXattr, OpaqueForm::UserOverlayXattr, OpaqueForm::FuseOverlayfsXattr,
             OpaqueForm::WhOpqFile}};
}

Encoding unprivileged_encoding() {
    return {"unprivileged",
            {WhiteoutForm::CharDev, WhiteoutForm::WhFile},
            {OpaqueForm::UserOverlayXattr, OpaqueForm::WhOpqFile}};
}

// ---------------------------------------------------------------------------------------------
// Description

namespace {

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::File: return "file";
        case Kind::Dir: return "dir";
        case Kind::Symlink: return "symlink";
        case Kind::HardLink: return "hardlink";
        case Kind::Fifo: return "fifo";
        case Kind::CharDev: return "chr";
        case Kind::BlockDev: return "blk";
        case Kind::Whiteout: return "WHITEOUT";
    }
    return "?";
}

std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
        else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out.size() > 80 ? out.substr(0, 60) + "...(" + std::to_string(s.size()) + " bytes)" : out;
}

}  // namespace

std::string describe(const LayerStack& stack) {
    std::ostringstream out;
    for (size_t i = stack.layers.size(); i-- > 0;) {
        out << "layer " << i << (i + 1 == stack.layers.size() ? " (top)" : "") << (i == 0 ? " (bottom)" : "")
            << ":\n";
        for (const auto& [path, e] : stack.layers[i].entries) {
            out << "  " << printable(path) << " " << kind_name(e.kind);
            if (e.opaque) out << " OPAQUE";
            if (e.kind == Kind::Symlink || e.kind == Kind::HardLink) out << " -> " << printable(e.data);
            if (e.kind == Kind::File) out << " " << e.data.size() << "B";
            char mode[16];
            std::snprintf(mode, sizeof mode, " %04o", static_cast<unsigned>(e.mode));
            if (e.kind != Kind::Whiteout && e.kind != Kind::HardLink) out << mode << " " << e.uid << ":" << e.gid;
            out << "\n";
        }
    }
    return out.str();
}

}  // namespace ovft
