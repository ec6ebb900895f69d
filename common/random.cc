#include "common/random.h"

#include <cctype>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

namespace initkit {

Status RandomBytes(std::size_t n, std::string* out) {
  out->assign(n, '\0');
  if (n == 0) return Status::Ok();
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out->data()), static_cast<int>(n)) != 1) {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    out->clear();
    return Status::Failed(std::string("OpenSSL RAND_bytes failed: ") + buf);
  }
  return Status::Ok();
}

Status RandomAlnum(std::size_t length, std::string* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  // 248 = 4 * 62: bytes in [248, 255] would favour the first 8 characters.
  constexpr unsigned kLimit = 248;
  out->clear();
  out->reserve(length);
  std::string pool;
  while (out->size() < length) {
    INITKIT_RETURN_IF_ERROR(RandomBytes(length - out->size() + 8, &pool));
    for (unsigned char c : pool) {
      if (c >= kLimit) continue;
      out->push_back(kAlphabet[c % 62]);
      if (out->size() == length) break;
    }
  }
  return Status::Ok();
}

Status RandomUuid(std::string* out) {
  std::string b;
  INITKIT_RETURN_IF_ERROR(RandomBytes(16, &b));
  b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0f) | 0x40);
  b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3f) | 0x80);
  std::string hex = HexEncode(b);
  *out = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
  return Status::Ok();
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0x0f]);
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  out->clear();
  // EVP_DecodeBlock is lenient (skips surrounding whitespace, returns the
  // padding as zero bytes), so the canonical form is checked here first.
  if (text.size() % 4 != 0) return false;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '=' && i + 2 >= text.size() && (i % 4) >= 2) {
      ++pad;
      continue;
    }
    if (pad > 0 || !(std::isalnum(c) || c == '+' || c == '/')) return false;
  }
  if (text.empty()) return true;
  out->resize(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) {
    out->clear();
    return false;
  }
  out->resize(static_cast<std::size_t>(n) - pad);
  return true;
}

}  // namespace initkit
