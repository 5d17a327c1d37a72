#include "gzip_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "overlayfuse/error.hpp"
#include "overlayfuse/unique_fd.hpp"

namespace ovf::store::detail {

namespace {
std::string gz_message(gzFile gz) {
    int code = 0;
    const char* msg = gzerror(gz, &code);
    if (code == Z_ERRNO) return errno_text(errno);
    return msg && *msg ? msg : "compressed data error";
}
}  // namespace

GzipLineReader::GzipLineReader(const std::filesystem::path& path) : path_(path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw UserError(path.string() + ": " + errno_text(errno));
    // zlib reads non-gzip input transparently; a tar-split file must be gzip, so look first.
    unsigned char magic[2] = {0, 0};
    if (::pread(fd.get(), magic, 2, 0) != 2 || magic[0] != 0x1f || magic[1] != 0x8b)
        throw UserError(path.string() + ": not a gzip file");
    gz_ = gzdopen(fd.get(), "rb");
    if (!gz_) throw UserError(path.string() + ": cannot open as gzip");
    fd.release();  // gzclose closes it
}

GzipLineReader::~GzipLineReader() {
    if (gz_) gzclose(gz_);
}

bool GzipLineReader::fill() {
    if (eof_) return false;
    if (pos_ > 0) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    char chunk[65536];
    int n = gzread(gz_, chunk, sizeof chunk);
    if (n < 0) throw UserError(path_.string() + ": " + gz_message(gz_));
    if (n == 0) {
        // gzread returns 0 at a clean end; a cut-off stream is reported by gzerror.
        int code = 0;
        gzerror(gz_, &code);
        if (code != Z_OK && code != Z_STREAM_END)
            throw UserError(path_.string() + ": " + gz_message(gz_));
        eof_ = true;
        return false;
    }
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
}

bool GzipLineReader::next(std::string& line) {
    for (;;) {
        size_t nl = buf_.find('\n', pos_);
        if (nl != std::string::npos) {
            line.assign(buf_, pos_, nl - pos_);
            pos_ = nl + 1;
            return true;
        }
        if (!fill()) {
            if (pos_ >= buf_.size()) return false;
            line.assign(buf_, pos_, std::string::npos);
            pos_ = buf_.size();
            return true;
        }
    }
}

GzipWriter::GzipWriter(const std::filesystem::path& path) : path_(path) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw UserError(path.string() + ": " + errno_text(errno));
    gz_ = gzdopen(fd.get(), "wb");
    if (!gz_) throw UserError(path.string() + ": cannot open for gzip");
    fd.release();
}

GzipWriter::~GzipWriter() {
    if (gz_) gzclose(gz_);
}

void GzipWriter::write(std::string_view data) {
    while (!data.empty()) {
        unsigned chunk = data.size() > (1u << 30) ? (1u << 30) : static_cast<unsigned>(data.size());
        if (gzwrite(gz_, data.data(), chunk) != static_cast<int>(chunk))
            throw UserError(path_.string() + ": " + gz_message(gz_));
        data.remove_prefix(chunk);
    }
}

void GzipWriter::close() {
    gzFile gz = gz_;
    gz_ = nullptr;
    if (gz && gzclose(gz) != Z_OK) throw UserError(path_.string() + ": write failed");
}

}  // namespace ovf::store::detail
