// CSPRNG helpers (OpenSSL RAND_bytes) and the encodings secrets are stored in.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace initkit {

/// Fills *out with `n` bytes from OpenSSL's CSPRNG. Fails (never falls back
/// to a weaker source) when the generator cannot be seeded.
Status RandomBytes(std::size_t n, std::string* out);

/// `length` characters drawn uniformly from [A-Za-z0-9]: bytes at or above
/// the largest multiple of 62 are rejected, so there is no modulo bias.
Status RandomAlnum(std::size_t length, std::string* out);

/// A random (version 4, RFC 4122 variant) UUID in lower-case 8-4-4-4-12 form.
Status RandomUuid(std::string* out);

/// Lower-case hex of `bytes`.
std::string HexEncode(std::string_view bytes);

/// Standard base64 (RFC 4648, with padding, no line breaks).
std::string Base64Encode(std::string_view bytes);

/// Decodes standard base64 (padding required, no whitespace). False on any
/// character or length that is not canonical base64.
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace initkit
