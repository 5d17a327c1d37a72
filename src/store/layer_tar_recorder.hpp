#pragma once
// Consumes a layer tar (LayerTarSink) the way Docker's layer store does when it registers
// a layer: hashes the stream into the diff id and writes tar-split.json.gz beside it.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "crc64.hpp"
#include "gzip_file.hpp"
#include "overlayfuse/sha256.hpp"
#include "overlayfuse/store/layer_tar.hpp"

namespace ovf::store::detail {

class LayerTarRecorder : public LayerTarSink {
public:
    // TAR_COPY: where to keep the tar itself too (empty: nowhere).
    LayerTarRecorder(const std::filesystem::path& tar_split_gz, const std::filesystem::path& tar_copy);
    ~LayerTarRecorder() override;

    void metadata(std::string_view bytes) override;
    void entry(const std::string& name, int64_t size) override;
    void payload(std::string_view bytes) override;

    // Writes the last entries and closes the files. Returns the diff id, "sha256:<hex>".
    std::string finish();

private:
    struct PendingFile {
        std::string name;
        int64_t size;
        Crc64Iso crc;
    };
    void stream(std::string_view bytes);
    void flush_file();
    void flush_segment();
    void write_line(const std::string& line);

    Sha256 hash_;
    GzipWriter tar_split_;
    std::FILE* tar_copy_ = nullptr;
    std::filesystem::path tar_copy_path_;
    std::string segment_;
    std::optional<PendingFile> pending_;
    int position_ = 0;
};

}  // namespace ovf::store::detail
