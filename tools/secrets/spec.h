// The secrets spec: which keys to generate once, which to rotate, and how.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace initkit::secrets {

/// How one entry's value(s) are generated.
struct GeneratorSpec {
  std::string generator;  // hex|base64|alnum|base64-of-hex|laravel-app-key|rsa-keypair|uuid
  int bytes = 0;          // hex, base64, base64-of-hex
  int length = 0;         // alnum
  int bits = 0;           // rsa-keypair
  std::string private_key, public_key;  // rsa-keypair: the two keys it writes
};

/// One spec entry; `name` is the JSON key (for rsa-keypair not itself written).
struct KeySpec {
  std::string name;
  GeneratorSpec gen;
  /// The Secret keys this entry writes: {name}, or {private_key, public_key}.
  std::vector<std::string> OutputKeys() const;
};

/// An alternating-users rotation ("alternating-users" in the spec): two
/// database users with the same grants; each sync gives the user the app does
/// not use a new password and switches the app's keys to it, so the user the
/// running pods hold is never changed under them.
struct AlternatingUsersSpec {
  std::string name;              // the spec's key; names the entry in messages
  std::string users[2];          // the two database user names
  std::string password_keys[2];  // Secret key holding each user's password
  std::string user_key;          // Secret key the app reads its user name from
  std::string password_key;      // Secret key the app reads its password from
  GeneratorSpec gen;             // of each new password (default alnum 32)
  /// Every Secret key this entry writes.
  std::vector<std::string> OutputKeys() const;
};

/// The Keycloak block; flags/env fill the fields the spec leaves empty.
struct KeycloakSpec {
  bool enabled = false;
  std::string url;
  std::string admin_realm;
  std::string admin_client_id;
  std::string admin_client_secret_file;
  std::string realm;
  std::string client_id;
  std::vector<std::string> redirect_uris;
  std::vector<std::string> web_origins;
  std::string root_url;
  std::string secret;  // the dedicated Secret
  std::string ca_file;
};

/// A parsed spec. Entries are in key-name order.
struct Spec {
  std::string secret;
  std::string annotation = "ecommercen.com/has-been-initialized";
  std::vector<KeySpec> once;
  std::vector<KeySpec> rotate;
  std::vector<AlternatingUsersSpec> alternating_users;
  std::optional<KeycloakSpec> keycloak;  // set when the spec has a "keycloak" object
};

/// Parses a JSON spec. Unknown fields, wrong types and bad values are Usage
/// errors naming `source` and the JSON path (e.g. "/once/APP_KEY/bytes").
/// Also checks that no Secret key is written by two entries.
Status ParseSpec(std::string_view text, const std::string& source, Spec* out);

/// The seed's prepare_infrastructure.php behaviour (secret name left empty).
Spec BuiltinSpec();

}  // namespace initkit::secrets
