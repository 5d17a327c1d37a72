// The fixture builder's containers: what `docker create` leaves in the store.
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "layer_copy.hpp"
#include "metadata_file.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/store/docker_store.hpp"
#include "overlayfuse/store/store_builder.hpp"
#include "random_names.hpp"
#include "store_paths.hpp"
#include "store_writing.hpp"

namespace ovf::store {

namespace fs = std::filesystem;
using detail::make_dir;
using detail::write_file;

namespace {

// daemon/initlayer/setup_unix.go: empty files (0755), /etc/mtab, and a few directories.
void fill_init_layer(const fs::path& diff) {
    for (const char* d : {"dev", "dev/pts", "dev/shm", "etc", "proc", "sys"}) make_dir(diff / d, 0755);
    for (const char* f : {".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf", "dev/console"})
        write_file(diff / f, "", 0755);
    fs::create_symlink("/proc/mounts", diff / "etc/mtab");
}

}  // namespace

BuiltContainer StoreBuilder::add_container(const ContainerSpec& spec) {
    detail::StorePaths p{root_};
    ImageInfo image = DockerStore(root_).resolve_image(spec.image_id);
    std::string image_lower;  // the image's lowers, top first
    for (auto it = image.layers.rbegin(); it != image.layers.rend(); ++it)
        image_lower += (image_lower.empty() ? "l/" : ":l/") + it->link;

    BuiltContainer c;
    c.id = detail::random_hex_id();
    c.mount_id = detail::random_hex_id();
    std::string init_id = c.mount_id + "-init";
    std::string init_link = detail::random_link_id();
    std::string rw_link = detail::random_link_id();

    fs::path init_dir = p.driver_dir(init_id);
    make_dir(init_dir, 0710);
    make_dir(init_dir / "diff", 0755);
    make_dir(init_dir / "work", 0700);
    write_file(init_dir / "link", init_link, 0644);
    if (!image_lower.empty()) write_file(init_dir / "lower", image_lower, 0644);
    write_file(init_dir / "committed", "", 0600);
    fill_init_layer(init_dir / "diff");
    fs::create_directory_symlink(fs::path("..") / init_id / "diff", p.link_symlink(init_link));

    fs::path rw_dir = p.driver_dir(c.mount_id);
    make_dir(rw_dir, 0710);
    make_dir(rw_dir / "diff", 0755);
    make_dir(rw_dir / "work", 0700);
    write_file(rw_dir / "link", rw_link, 0644);
    write_file(rw_dir / "lower", "l/" + init_link + (image_lower.empty() ? "" : ":" + image_lower), 0644);
    fs::create_directory_symlink(fs::path("..") / c.mount_id / "diff", p.link_symlink(rw_link));
    if (!spec.upper.empty()) detail::copy_layer_dir(spec.upper, rw_dir / "diff", form_, notes_);

    fs::path mount_meta = p.mounts_dir() / c.id;
    make_dir(mount_meta, 0755);
    write_file(mount_meta / "mount-id", c.mount_id, 0644);
    write_file(mount_meta / "init-id", init_id, 0644);
    if (!image.layers.empty()) write_file(mount_meta / "parent", image.layers.back().chain_id, 0644);

    fs::path cdir = p.containers_dir() / c.id;
    make_dir(cdir, 0710);
    nlohmann::ordered_json cfg;
    cfg["ID"] = c.id;
    cfg["Created"] = detail::rfc3339_now();
    cfg["Path"] = "/bin/sh";
    cfg["Args"] = nlohmann::ordered_json::array();
    cfg["Image"] = image.id;
    cfg["Name"] = "/" + spec.name;
    cfg["Driver"] = "overlay2";
    write_file(cdir / "config.v2.json", cfg.dump(), 0600);
    write_file(cdir / "hostconfig.json", "{}", 0600);

    c.rw_diff_dir = rw_dir / "diff";
    c.init_diff_dir = init_dir / "diff";
    return c;
}

}  // namespace ovf::store
