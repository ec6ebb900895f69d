// Where secrets live: a Kubernetes Secret, a directory of files, or an env file.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "common/k8s_client.h"
#include "common/retry.h"
#include "common/status.h"
#include "tools/secrets/plan.h"

namespace initkit::secrets {

/// A store of named secrets (key -> value plus annotations).
class SecretStore {
 public:
  virtual ~SecretStore() = default;
  /// "Secret ns/name", "directory PATH", ... for messages and the summary.
  virtual std::string Describe(const std::string& name) const = 0;
  /// Reads `name`; out->exists=false when it is absent.
  virtual Status Read(const std::string& name, SecretData* out) = 0;

  /// Fills `desired` from `current` and sets *write; an error aborts.
  using Mutator =
      std::function<Status(const SecretData& current, SecretData* desired, bool* write)>;
  /// Read-modify-write of `name`. When the store detects that someone else
  /// changed it in between, it reads again and calls `mutate` again on the
  /// fresh content (bounded); *conflicts counts those rounds.
  virtual Status Modify(const std::string& name, const Mutator& mutate, int* conflicts) = 0;
  /// Deletes `name`; *existed=false (Ok) when it was already gone.
  virtual Status Delete(const std::string& name, bool* existed) = 0;

  /// Keys whose values are not secret (a database user name): every other
  /// value read is registered with log::AddSecret, these are not, so they
  /// can be named in logs and the summary.
  void set_public_keys(std::set<std::string> keys) { public_keys_ = std::move(keys); }

 protected:
  /// Registers the values of `d` for redaction (all but the public keys).
  void Remember(const SecretData& d) const;

 private:
  std::set<std::string> public_keys_;
};

/// Secrets in namespace `ns` through `client`; calls stop at `deadline`.
std::unique_ptr<SecretStore> NewK8sStore(K8sClient* client, std::string ns, Deadline deadline);

/// `--target dir:PATH`: the Secret `main_name` is PATH/<KEY> files (0600,
/// each written atomically) plus PATH/.initkit-state.json (annotations);
/// any other Secret lives in the subdirectory PATH/<name>/ the same way.
std::unique_ptr<SecretStore> NewDirStore(std::string path, std::string main_name);

/// `--target env-file:PATH`: the Secret `main_name` is PATH with one
/// KEY=value line per key (0600, atomic); any other Secret is <name>.env
/// beside it. Values that are not plain [A-Za-z0-9+/=:._-] are written
/// double-quoted with \n, \" and \\ escapes (docker compose reads these).
/// Annotations are kept in a leading "# initkit-secrets annotations: {json}"
/// comment line.
std::unique_ptr<SecretStore> NewEnvFileStore(std::string path, std::string main_name);

/// Serialises data as an env file (see NewEnvFileStore); exposed for tests.
std::string FormatEnvFile(const SecretData& s);
/// Parses FormatEnvFile's output; errors name `source` and the line. The
/// values are not registered for redaction (the stores do that).
Status ParseEnvFile(const std::string& text, const std::string& source, SecretData* out);

}  // namespace initkit::secrets
