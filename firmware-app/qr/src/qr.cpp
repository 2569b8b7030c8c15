// See qr.h. Follows the standard's construction step by step: data bits,
// Reed-Solomon blocks over GF(256) (0x11D), interleaving, function patterns,
// the zig-zag placement, and the mask with the lowest penalty.
#include "resetd/qr/qr.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace resetd::qr {

namespace {

constexpr int kMaxVersion = 10;
// Level M, indexed by version (index 0 unused).
constexpr int kEccPerBlock[kMaxVersion + 1] = {0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26};
constexpr int kBlocks[kMaxVersion + 1] = {0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5};
constexpr int kFormatLevelM = 0;  // the format bits' code for level M

int raw_data_modules(int ver) {
  int r = (16 * ver + 128) * ver + 64;
  if (ver >= 2) {
    const int align = ver / 7 + 2;
    r -= (25 * align - 10) * align - 55;
    if (ver >= 7) r -= 36;
  }
  return r;
}
int data_codewords(int ver) { return raw_data_modules(ver) / 8 - kEccPerBlock[ver] * kBlocks[ver]; }

uint8_t gf_mul(uint8_t x, uint8_t y) {
  int z = 0;
  for (int i = 7; i >= 0; --i) {
    z = (z << 1) ^ ((z >> 7) * 0x11D);
    z ^= ((y >> i) & 1) * x;
  }
  return static_cast<uint8_t>(z);
}

std::vector<uint8_t> rs_divisor(int degree) {
  std::vector<uint8_t> r(static_cast<size_t>(degree), 0);
  r.back() = 1;
  uint8_t root = 1;
  for (int i = 0; i < degree; ++i) {
    for (size_t j = 0; j < r.size(); ++j) {
      r[j] = gf_mul(r[j], root);
      if (j + 1 < r.size()) r[j] ^= r[j + 1];
    }
    root = gf_mul(root, 0x02);
  }
  return r;
}

std::vector<uint8_t> rs_remainder(const std::vector<uint8_t>& data, const std::vector<uint8_t>& div) {
  std::vector<uint8_t> r(div.size(), 0);
  for (uint8_t b : data) {
    const uint8_t factor = b ^ r.front();
    r.erase(r.begin());
    r.push_back(0);
    for (size_t i = 0; i < r.size(); ++i) r[i] ^= gf_mul(div[i], factor);
  }
  return r;
}

class Builder {
 public:
  explicit Builder(int ver) : ver_(ver), size_(ver * 4 + 17),
      m_(size_, std::vector<bool>(size_, false)), fn_(size_, std::vector<bool>(size_, false)) {}

  Matrix build(const std::vector<uint8_t>& codewords) {
    draw_function_patterns();
    draw_codewords(codewords);
    int best = 0;
    long best_penalty = -1;
    for (int mask = 0; mask < 8; ++mask) {
      apply_mask(mask);
      draw_format(mask);
      const long p = penalty();
      if (best_penalty < 0 || p < best_penalty) {
        best = mask;
        best_penalty = p;
      }
      apply_mask(mask);  // XOR again: undone
    }
    apply_mask(best);
    draw_format(best);
    return m_;
  }

 private:
  void set_fn(int x, int y, bool dark) {
    m_[y][x] = dark;
    fn_[y][x] = true;
  }
  std::vector<int> alignment_positions() const {
    if (ver_ == 1) return {};
    const int n = ver_ / 7 + 2;
    const int step = (ver_ * 4 + n * 2 + 1) / (n * 2 - 2) * 2;
    std::vector<int> r = {6};
    for (int i = 0, pos = size_ - 7; i < n - 1; ++i, pos -= step) r.insert(r.begin() + 1, pos);
    return r;
  }
  void draw_finder(int cx, int cy) {
    for (int dy = -4; dy <= 4; ++dy)
      for (int dx = -4; dx <= 4; ++dx) {
        const int d = std::max(std::abs(dx), std::abs(dy));
        const int x = cx + dx, y = cy + dy;
        if (x >= 0 && x < size_ && y >= 0 && y < size_) set_fn(x, y, d != 2 && d != 4);
      }
  }
  void draw_function_patterns() {
    for (int i = 0; i < size_; ++i) {
      set_fn(6, i, i % 2 == 0);
      set_fn(i, 6, i % 2 == 0);
    }
    draw_finder(3, 3);
    draw_finder(size_ - 4, 3);
    draw_finder(3, size_ - 4);
    const auto pos = alignment_positions();
    const size_t n = pos.size();
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j) {
        if ((i == 0 && j == 0) || (i == 0 && j == n - 1) || (i == n - 1 && j == 0)) continue;
        for (int dy = -2; dy <= 2; ++dy)
          for (int dx = -2; dx <= 2; ++dx)
            set_fn(pos[i] + dx, pos[j] + dy, std::max(std::abs(dx), std::abs(dy)) != 1);
      }
    draw_format(0);  // reserves the format areas; redrawn with the chosen mask
    if (ver_ >= 7) {
      int rem = ver_;
      for (int i = 0; i < 12; ++i) rem = (rem << 1) ^ ((rem >> 11) * 0x1F25);
      const long bits = static_cast<long>(ver_) << 12 | rem;
      for (int i = 0; i < 18; ++i) {
        const bool bit = (bits >> i) & 1;
        const int a = size_ - 11 + i % 3, b = i / 3;
        set_fn(a, b, bit);
        set_fn(b, a, bit);
      }
    }
  }
  void draw_format(int mask) {
    const int data = kFormatLevelM << 3 | mask;
    int rem = data;
    for (int i = 0; i < 10; ++i) rem = (rem << 1) ^ ((rem >> 9) * 0x537);
    const int bits = (data << 10 | rem) ^ 0x5412;
    auto bit = [bits](int i) { return ((bits >> i) & 1) != 0; };
    for (int i = 0; i <= 5; ++i) set_fn(8, i, bit(i));
    set_fn(8, 7, bit(6));
    set_fn(8, 8, bit(7));
    set_fn(7, 8, bit(8));
    for (int i = 9; i < 15; ++i) set_fn(14 - i, 8, bit(i));
    for (int i = 0; i < 8; ++i) set_fn(size_ - 1 - i, 8, bit(i));
    for (int i = 8; i < 15; ++i) set_fn(8, size_ - 15 + i, bit(i));
    set_fn(8, size_ - 8, true);  // the dark module
  }
  void draw_codewords(const std::vector<uint8_t>& data) {
    size_t i = 0;
    for (int right = size_ - 1; right >= 1; right -= 2) {
      if (right == 6) right = 5;
      for (int vert = 0; vert < size_; ++vert)
        for (int j = 0; j < 2; ++j) {
          const int x = right - j;
          const bool upward = ((right + 1) & 2) == 0;
          const int y = upward ? size_ - 1 - vert : vert;
          if (!fn_[y][x] && i < data.size() * 8) {
            m_[y][x] = ((data[i >> 3] >> (7 - (i & 7))) & 1) != 0;
            ++i;
          }
        }
    }
  }
  static bool masked(int mask, int x, int y) {
    switch (mask) {
      case 0: return (x + y) % 2 == 0;
      case 1: return y % 2 == 0;
      case 2: return x % 3 == 0;
      case 3: return (x + y) % 3 == 0;
      case 4: return (x / 3 + y / 2) % 2 == 0;
      case 5: return x * y % 2 + x * y % 3 == 0;
      case 6: return (x * y % 2 + x * y % 3) % 2 == 0;
      default: return ((x + y) % 2 + x * y % 3) % 2 == 0;
    }
  }
  void apply_mask(int mask) {
    for (int y = 0; y < size_; ++y)
      for (int x = 0; x < size_; ++x)
        if (!fn_[y][x] && masked(mask, x, y)) m_[y][x] = !m_[y][x];
  }
  // The standard's penalty rules N1 (runs of 5+), N2 (2x2 blocks), N3
  // (finder-like 1:1:3:1:1 with 4 light modules), N4 (dark/light balance).
  long penalty() const {
    long p = 0;
    auto get = [this](int x, int y, bool rows) { return rows ? m_[y][x] : m_[x][y]; };
    for (int rows = 0; rows < 2; ++rows)
      for (int a = 0; a < size_; ++a) {
        int run = 1;
        for (int b = 1; b <= size_; ++b) {
          if (b < size_ && get(b, a, rows) == get(b - 1, a, rows)) {
            ++run;
            continue;
          }
          if (run >= 5) p += 3 + (run - 5);
          run = 1;
        }
        for (int b = 0; b + 11 <= size_; ++b) {
          static const bool kPat[7] = {true, false, true, true, true, false, true};
          bool core = true;
          for (int k = 0; k < 7 && core; ++k) core = get(b + 2 + k, a, rows) == kPat[k];
          if (!core) continue;
          // 4 light modules before the pattern (b..b+1 is not enough): check both sides
          auto light = [&](int from) {
            for (int k = 0; k < 4; ++k) {
              const int c = from + k;
              if (c >= 0 && c < size_ && get(c, a, rows)) return false;
            }
            return true;
          };
          if (light(b + 2 - 4) || light(b + 9)) p += 40;
        }
      }
    long dark = 0;
    for (int y = 0; y < size_; ++y)
      for (int x = 0; x < size_; ++x) {
        dark += m_[y][x];
        if (x + 1 < size_ && y + 1 < size_ && m_[y][x] == m_[y][x + 1] && m_[y][x] == m_[y + 1][x] &&
            m_[y][x] == m_[y + 1][x + 1])
          p += 3;
      }
    const long total = static_cast<long>(size_) * size_;
    const long k = (std::labs(dark * 20 - total * 10) + total - 1) / total - 1;
    return p + std::max(0L, k) * 10;
  }

  int ver_;
  int size_;
  Matrix m_;
  Matrix fn_;
};

}  // namespace

std::optional<Matrix> encode(const std::string& data) {
  int ver = 1;
  for (; ver <= kMaxVersion; ++ver) {
    const int count_bits = ver <= 9 ? 8 : 16;
    if (4 + count_bits + static_cast<long>(data.size()) * 8 <= data_codewords(ver) * 8L) break;
  }
  if (ver > kMaxVersion) return std::nullopt;
  const int capacity_bits = data_codewords(ver) * 8;
  std::vector<bool> bits;
  auto put = [&bits](unsigned v, int n) {
    for (int i = n - 1; i >= 0; --i) bits.push_back(((v >> i) & 1) != 0);
  };
  put(0x4, 4);  // byte mode
  put(static_cast<unsigned>(data.size()), ver <= 9 ? 8 : 16);
  for (unsigned char c : data) put(c, 8);
  put(0, std::min(4, capacity_bits - static_cast<int>(bits.size())));
  put(0, (8 - static_cast<int>(bits.size() % 8)) % 8);
  for (uint8_t pad = 0xEC; static_cast<int>(bits.size()) < capacity_bits; pad ^= 0xEC ^ 0x11) put(pad, 8);
  std::vector<uint8_t> codewords(bits.size() / 8, 0);
  for (size_t i = 0; i < bits.size(); ++i) codewords[i >> 3] |= static_cast<uint8_t>(bits[i] << (7 - (i & 7)));

  // Split into blocks, add each block's error correction, interleave.
  const int nblocks = kBlocks[ver], ecc_len = kEccPerBlock[ver];
  const int raw = raw_data_modules(ver) / 8;
  const int nshort = nblocks - raw % nblocks;
  const int short_len = raw / nblocks;
  const auto div = rs_divisor(ecc_len);
  std::vector<std::vector<uint8_t>> blocks;
  size_t k = 0;
  for (int i = 0; i < nblocks; ++i) {
    const size_t len = static_cast<size_t>(short_len - ecc_len + (i < nshort ? 0 : 1));
    std::vector<uint8_t> blk(codewords.begin() + static_cast<long>(k), codewords.begin() + static_cast<long>(k + len));
    k += len;
    const auto ecc = rs_remainder(blk, div);
    if (i < nshort) blk.push_back(0);
    blk.insert(blk.end(), ecc.begin(), ecc.end());
    blocks.push_back(std::move(blk));
  }
  std::vector<uint8_t> out;
  for (size_t i = 0; i < blocks[0].size(); ++i)
    for (size_t j = 0; j < blocks.size(); ++j)
      if (i != static_cast<size_t>(short_len - ecc_len) || static_cast<int>(j) >= nshort) out.push_back(blocks[j][i]);
  return Builder(ver).build(out);
}

}  // namespace resetd::qr
