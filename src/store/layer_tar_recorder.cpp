#include "layer_tar_recorder.hpp"

#include <cerrno>

#include <nlohmann/json.hpp>

#include "base64.hpp"
#include "overlayfuse/error.hpp"

namespace ovf::store::detail {

LayerTarRecorder::LayerTarRecorder(const std::filesystem::path& tar_split_gz,
                                   const std::filesystem::path& tar_copy)
    : tar_split_(tar_split_gz), tar_copy_path_(tar_copy) {
    if (!tar_copy.empty()) {
        tar_copy_ = std::fopen(tar_copy.c_str(), "wbe");
        if (!tar_copy_) throw UserError(tar_copy.string() + ": " + errno_text(errno));
    }
}

LayerTarRecorder::~LayerTarRecorder() {
    if (tar_copy_) std::fclose(tar_copy_);
}

void LayerTarRecorder::stream(std::string_view bytes) {
    hash_.update(bytes.data(), bytes.size());
    if (tar_copy_ && std::fwrite(bytes.data(), 1, bytes.size(), tar_copy_) != bytes.size())
        throw UserError(tar_copy_path_.string() + ": " + errno_text(errno));
}

void LayerTarRecorder::metadata(std::string_view bytes) {
    flush_file();  // content is over: these bytes open the next segment
    stream(bytes);
    segment_.append(bytes);
}

void LayerTarRecorder::entry(const std::string& name, int64_t size) {
    flush_file();
    flush_segment();
    pending_ = PendingFile{name, size, {}};
}

void LayerTarRecorder::payload(std::string_view bytes) {
    stream(bytes);
    if (pending_) pending_->crc.update(bytes);
}

void LayerTarRecorder::write_line(const std::string& line) { tar_split_.write(line + "\n"); }

// Lines in the field order of tar-split's storage.Entry as Go's encoding/json writes it.
void LayerTarRecorder::flush_segment() {
    if (segment_.empty()) return;
    write_line("{\"type\":2,\"payload\":\"" + base64_encode(segment_) + "\",\"position\":" +
               std::to_string(position_++) + "}");
    segment_.clear();
}

void LayerTarRecorder::flush_file() {
    if (!pending_) return;
    std::string name_field;
    try {
        name_field = "\"name\":" + nlohmann::json(pending_->name).dump();
    } catch (const nlohmann::json::type_error&) {
        // Not UTF-8: tar-split keeps such names as bytes, in name_raw.
        name_field = "\"name_raw\":\"" + base64_encode(pending_->name) + "\"";
    }
    std::string size_field =
        pending_->size > 0 ? ",\"size\":" + std::to_string(pending_->size) : std::string();
    std::string payload = pending_->size > 0
                              ? "\"" + base64_encode(pending_->crc.big_endian_bytes()) + "\""
                              : std::string("null");
    write_line("{\"type\":1," + name_field + size_field + ",\"payload\":" + payload +
               ",\"position\":" + std::to_string(position_++) + "}");
    pending_.reset();
}

std::string LayerTarRecorder::finish() {
    flush_file();
    flush_segment();
    // tar-split always ends with what followed the end-of-archive blocks: nothing, here.
    write_line("{\"type\":2,\"payload\":\"\",\"position\":" + std::to_string(position_++) + "}");
    tar_split_.close();
    if (tar_copy_) {
        std::FILE* f = tar_copy_;
        tar_copy_ = nullptr;
        if (std::fclose(f) != 0) throw UserError(tar_copy_path_.string() + ": " + errno_text(errno));
    }
    return "sha256:" + hash_.hex_digest();
}

}  // namespace ovf::store::detail
