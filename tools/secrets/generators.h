// Generators: turn a GeneratorSpec into fresh secret values (OpenSSL CSPRNG).
#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "tools/secrets/spec.h"

namespace initkit::secrets {

/// Generates the value(s) of `key`: one entry {key.name: value}, or for
/// rsa-keypair {private_key: PKCS#8 PEM, public_key: SubjectPublicKeyInfo PEM}.
/// Every value is registered with log::AddSecret before it is returned.
Status Generate(const KeySpec& key, std::map<std::string, std::string>* out);

/// The public key PEM (SubjectPublicKeyInfo) of a private key PEM; used to
/// complete a keypair whose public half was lost, never to replace a value.
Status PublicKeyFromPrivate(const std::string& private_pem, std::string* public_pem);

}  // namespace initkit::secrets
