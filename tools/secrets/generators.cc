#include "tools/secrets/generators.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>

#include "common/log.h"
#include "common/random.h"

namespace initkit::secrets {

namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Status PublicPem(EVP_PKEY* key, std::string* out) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return Status::Failed("writing the RSA public key: " + OpenSslError());
  }
  *out = BioString(bio.get());
  return Status::Ok();
}

Status RsaKeypair(int bits, std::string* private_pem, std::string* public_pem) {
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return Status::Failed("generating an RSA-" + std::to_string(bits) + " key: " + OpenSslError());
  }
  PkeyPtr key(raw);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::Failed("writing the RSA private key: " + OpenSslError());
  }
  *private_pem = BioString(bio.get());
  return PublicPem(key.get(), public_pem);
}

}  // namespace

Status PublicKeyFromPrivate(const std::string& private_pem, std::string* public_pem) {
  BioPtr bio(BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    ERR_clear_error();  // the OpenSSL text could quote the input; say only what failed
    return Status::Failed("the stored private key is not a PEM private key");
  }
  return PublicPem(key.get(), public_pem);
}

Status Generate(const KeySpec& key, std::map<std::string, std::string>* out) {
  const GeneratorSpec& g = key.gen;
  out->clear();
  std::string raw, value;
  if (g.generator == "hex") {
    INITKIT_RETURN_IF_ERROR(RandomBytes(g.bytes, &raw));
    value = HexEncode(raw);
  } else if (g.generator == "base64") {
    INITKIT_RETURN_IF_ERROR(RandomBytes(g.bytes, &raw));
    value = Base64Encode(raw);
  } else if (g.generator == "base64-of-hex") {
    INITKIT_RETURN_IF_ERROR(RandomBytes(g.bytes, &raw));
    value = Base64Encode(HexEncode(raw));
  } else if (g.generator == "laravel-app-key") {
    // What `php artisan key:generate` writes for AES-256-CBC.
    INITKIT_RETURN_IF_ERROR(RandomBytes(32, &raw));
    value = "base64:" + Base64Encode(raw);
  } else if (g.generator == "alnum") {
    INITKIT_RETURN_IF_ERROR(RandomAlnum(g.length, &value));
  } else if (g.generator == "uuid") {
    INITKIT_RETURN_IF_ERROR(RandomUuid(&value));
  } else if (g.generator == "rsa-keypair") {
    std::string priv, pub;
    INITKIT_RETURN_IF_ERROR(RsaKeypair(g.bits, &priv, &pub).Annotate("key " + key.name));
    log::AddSecret(priv);
    log::AddSecret(pub);
    (*out)[g.private_key] = std::move(priv);
    (*out)[g.public_key] = std::move(pub);
    return Status::Ok();
  } else {
    return Status::Usage("key " + key.name + ": unknown generator \"" + g.generator + "\"");
  }
  log::AddSecret(value);
  (*out)[key.name] = std::move(value);
  return Status::Ok();
}

}  // namespace initkit::secrets
