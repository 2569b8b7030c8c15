// The web UI, embedded in the binary at build time (web/CMakeLists.txt runs
// embed.cmake over web/). Each file is stored gzip-compressed; the HTTP layer
// sends the gzip bytes as-is to clients that accept gzip and inflates for the
// rest. Immutable data: thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace resetd::web {

struct Asset {
  std::string_view path;          // URL path, e.g. "/index.html", "/i18n/zh-TW.json"
  std::string_view content_type;  // e.g. "text/html; charset=utf-8"
  std::string_view gzip;          // gzip-compressed bytes
  std::string_view etag;          // quoted strong ETag of the raw content
  size_t raw_size;
};

// nullptr when no such file.
const Asset* find_asset(std::string_view path);

// Number of embedded files and their total compressed size (for the bench).
size_t asset_count();
size_t assets_gzip_bytes();

}  // namespace resetd::web
