#define BOOST_TEST_MODULE qr
// The encoder's codes read back by a real decoder: zbarimg (zbar-tools) on a
// PBM drawn from the matrix, for every version the encoder makes (1-10).
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "resetd/qr/qr.h"

namespace {
std::string decode(const resetd::qr::Matrix& m) {
  const std::string path = (std::filesystem::temp_directory_path() / "resetd-qr-test.pbm").string();
  const int n = static_cast<int>(m.size()), scale = 3, side = (n + 8) * scale;
  {
    std::ofstream f(path);
    f << "P1\n" << side << " " << side << "\n";
    for (int y = 0; y < side; ++y) {
      for (int x = 0; x < side; ++x) {
        const int mx = x / scale - 4, my = y / scale - 4;
        f << ((mx >= 0 && my >= 0 && mx < n && my < n && m[my][mx]) ? "1 " : "0 ");
      }
      f << "\n";
    }
  }
  std::string out;
  if (FILE* p = popen(("/usr/bin/zbarimg -q --raw " + path + " 2>/dev/null").c_str(), "r")) {
    char buf[512];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
    pclose(p);
  }
  std::filesystem::remove(path);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(zbarimg_reads_every_version) {
  // Lengths at and around each version's capacity at level M (bytes: 14 26 42
  // 62 84 106 122 152 180 213).
  int last_side = 0;
  for (int len : {1, 14, 15, 26, 27, 42, 43, 62, 63, 84, 85, 106, 107, 122, 123, 152, 153, 180, 181, 213}) {
    std::string data;
    for (int i = 0; i < len; ++i) data.push_back("otpauth:/AZaz09?&=-"[i % 19]);
    auto m = resetd::qr::encode(data);
    BOOST_TEST_REQUIRE(m.has_value());
    BOOST_TEST(static_cast<int>(m->size()) >= last_side);
    last_side = static_cast<int>(m->size());
    BOOST_TEST(decode(*m) == data, "length " << len);
  }
  BOOST_TEST(last_side == 57);  // version 10
  BOOST_TEST(!resetd::qr::encode(std::string(214, 'x')).has_value());
}
