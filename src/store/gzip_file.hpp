#pragma once
// gzip files through zlib, line by line for reading and as a byte sink for writing.
#include <zlib.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace ovf::store::detail {

class GzipLineReader {
public:
    // Throws UserError naming PATH if it cannot be opened or is not gzip at all.
    explicit GzipLineReader(const std::filesystem::path& path);
    ~GzipLineReader();
    GzipLineReader(const GzipLineReader&) = delete;
    GzipLineReader& operator=(const GzipLineReader&) = delete;

    // The next line without its '\n'; false at the end. Throws UserError on corrupt or
    // truncated data.
    bool next(std::string& line);

private:
    bool fill();
    std::filesystem::path path_;
    gzFile gz_ = nullptr;
    std::string buf_;
    size_t pos_ = 0;
    bool eof_ = false;
};

class GzipWriter {
public:
    explicit GzipWriter(const std::filesystem::path& path);  // throws UserError
    ~GzipWriter();
    GzipWriter(const GzipWriter&) = delete;
    GzipWriter& operator=(const GzipWriter&) = delete;

    void write(std::string_view data);
    void close();  // flushes; reports a failed write as UserError

private:
    std::filesystem::path path_;
    gzFile gz_ = nullptr;
};

}  // namespace ovf::store::detail
