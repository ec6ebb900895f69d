#include "tools/secrets/generators.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "common/random.h"

namespace initkit::secrets {
namespace {

KeySpec Key(const std::string& gen, int bytes = 0, int length = 0) {
  KeySpec k;
  k.name = "K";
  k.gen.generator = gen;
  k.gen.bytes = bytes;
  k.gen.length = length;
  return k;
}

std::string One(const KeySpec& k) {
  std::map<std::string, std::string> out;
  Status st = Generate(k, &out);
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(out.size(), 1u);
  return out["K"];
}

TEST(GeneratorsTest, HexHasTwoCharsPerByte) {
  std::string v = One(Key("hex", 16));
  EXPECT_TRUE(std::regex_match(v, std::regex("[0-9a-f]{32}"))) << v.size();
  EXPECT_NE(v, One(Key("hex", 16)));
}

TEST(GeneratorsTest, Base64DecodesToTheBytes) {
  std::string raw;
  ASSERT_TRUE(Base64Decode(One(Key("base64", 32)), &raw));
  EXPECT_EQ(raw.size(), 32u);
}

TEST(GeneratorsTest, Base64OfHexDecodesTo32HexChars) {
  std::string raw;
  ASSERT_TRUE(Base64Decode(One(Key("base64-of-hex", 16)), &raw));
  EXPECT_TRUE(std::regex_match(raw, std::regex("[0-9a-f]{32}")));
}

TEST(GeneratorsTest, LaravelAppKeyIs32BytesBase64) {
  std::string v = One(Key("laravel-app-key", 32));
  ASSERT_EQ(v.rfind("base64:", 0), 0u);
  std::string raw;
  ASSERT_TRUE(Base64Decode(v.substr(7), &raw));
  EXPECT_EQ(raw.size(), 32u);
}

TEST(GeneratorsTest, AlnumUsesTheWholeAlphabetOnly) {
  std::string v = One(Key("alnum", 0, 4000));
  ASSERT_EQ(v.size(), 4000u);
  std::set<char> seen(v.begin(), v.end());
  for (char c : seen) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << c;
  // 4000 draws from 62 symbols: every symbol shows up (miss chance ~1e-26).
  EXPECT_EQ(seen.size(), 62u);
}

TEST(GeneratorsTest, UuidIsVersion4) {
  std::string v = One(Key("uuid"));
  EXPECT_TRUE(std::regex_match(
      v, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << v.size();
}

TEST(GeneratorsTest, RsaKeypairParsesWithOpenSsl) {
  KeySpec k = Key("rsa-keypair");
  k.gen.bits = 2048;
  k.gen.private_key = "priv";
  k.gen.public_key = "pub";
  std::map<std::string, std::string> out;
  ASSERT_TRUE(Generate(k, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  BIO* b = BIO_new_mem_buf(out["priv"].data(), static_cast<int>(out["priv"].size()));
  EVP_PKEY* priv = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  ASSERT_NE(priv, nullptr);
  EXPECT_EQ(EVP_PKEY_get_bits(priv), 2048);
  EXPECT_EQ(EVP_PKEY_get_base_id(priv), EVP_PKEY_RSA);
  b = BIO_new_mem_buf(out["pub"].data(), static_cast<int>(out["pub"].size()));
  EVP_PKEY* pub = PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(EVP_PKEY_eq(priv, pub), 1);
  std::string derived;
  ASSERT_TRUE(PublicKeyFromPrivate(out["priv"], &derived).ok());
  EXPECT_EQ(derived, out["pub"]);
  EVP_PKEY_free(priv);
  EVP_PKEY_free(pub);
  EXPECT_FALSE(PublicKeyFromPrivate("not a key", &derived).ok());
}

TEST(RandomTest, Base64RoundTripsAndRejectsJunk) {
  for (std::size_t n = 0; n < 40; ++n) {
    std::string raw, back;
    ASSERT_TRUE(RandomBytes(n, &raw).ok());
    ASSERT_TRUE(Base64Decode(Base64Encode(raw), &back));
    EXPECT_EQ(back, raw);
  }
  std::string out;
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_FALSE(Base64Decode("Zm9vYg=", &out));
  EXPECT_FALSE(Base64Decode("Zm9v!g==", &out));
  EXPECT_FALSE(Base64Decode("Zm=vYg==", &out));
}

}  // namespace
}  // namespace initkit::secrets
