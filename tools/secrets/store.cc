#include "tools/secrets/store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/random.h"

namespace initkit::secrets {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxValue = 1024UL * 1024;
constexpr const char* kStateFile = ".initkit-state.json";
constexpr const char* kAnnotationsPrefix = "# initkit-secrets annotations: ";

// ---- Kubernetes --------------------------------------------------------

Status FromObject(const json& obj, const std::string& what, SecretData* out) {
  out->exists = true;
  out->data.clear();
  out->annotations.clear();
  if (obj.contains("data") && obj["data"].is_object()) {
    for (auto it = obj["data"].begin(); it != obj["data"].end(); ++it) {
      std::string v;
      if (!it->is_string() || !Base64Decode(it->get<std::string>(), &v)) {
        return Status::Failed(what + ": data key " + it.key() + " is not valid base64");
      }
      out->data[it.key()] = std::move(v);
    }
  }
  const json& md = obj.contains("metadata") ? obj["metadata"] : json::object();
  if (md.contains("annotations") && md["annotations"].is_object()) {
    for (auto it = md["annotations"].begin(); it != md["annotations"].end(); ++it) {
      if (it->is_string()) out->annotations[it.key()] = it->get<std::string>();
    }
  }
  return Status::Ok();
}

class K8sStore : public SecretStore {
 public:
  K8sStore(K8sClient* c, std::string ns, Deadline d)
      : client_(c), ns_(std::move(ns)), deadline_(d) {}

  std::string Describe(const std::string& name) const override {
    return "Secret " + ns_ + "/" + name;
  }

  Status Read(const std::string& name, SecretData* out) override {
    json obj;
    bool found = false;
    INITKIT_RETURN_IF_ERROR(client_->GetSecret(ns_, name, deadline_, &obj, &found));
    *out = SecretData();
    if (!found) return Status::Ok();
    INITKIT_RETURN_IF_ERROR(FromObject(obj, Describe(name), out));
    Remember(*out);
    return Status::Ok();
  }

  Status Modify(const std::string& name, const Mutator& mutate, int* conflicts) override {
    json result;
    return client_->ModifySecret(
        ns_, name, deadline_,
        [&](const json* current, json* desired, bool* write) -> Status {
          SecretData cur;
          if (current) INITKIT_RETURN_IF_ERROR(FromObject(*current, Describe(name), &cur));
          Remember(cur);
          SecretData want;
          INITKIT_RETURN_IF_ERROR(mutate(cur, &want, write));
          if (!*write) return Status::Ok();
          // Start from the object as read so labels, type, owner references
          // and fields this tool does not know survive the update.
          *desired = current ? *current : json{{"type", "Opaque"}, {"metadata", json::object()}};
          json data = json::object();
          for (const auto& [k, v] : want.data) data[k] = Base64Encode(v);
          (*desired)["data"] = data;
          desired->erase("stringData");
          json ann = json::object();
          for (const auto& [k, v] : want.annotations) ann[k] = v;
          (*desired)["metadata"]["annotations"] = ann;
          return Status::Ok();
        },
        &result, conflicts);
  }

  Status Delete(const std::string& name, bool* existed) override {
    return client_->DeleteSecret(ns_, name, deadline_, existed);
  }

 private:
  K8sClient* client_;
  std::string ns_;
  Deadline deadline_;
};

// ---- files -------------------------------------------------------------

Status MkdirPrivate(const std::string& path) {
  if (mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return Status::Ok();
  return Status::Failed("creating directory " + path + ": " + ErrnoText(errno));
}

bool IsDir(const std::string& path) {
  struct stat sb;
  return stat(path.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode);
}

Status ReadAnnotations(const std::string& text, const std::string& source,
                       std::map<std::string, std::string>* out) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Failed(source + ": state is not a JSON object");
  }
  const json& a = j.contains("annotations") ? j["annotations"] : j;
  if (!a.is_object()) return Status::Failed(source + ": annotations are not an object");
  for (auto it = a.begin(); it != a.end(); ++it) {
    if (it->is_string()) (*out)[it.key()] = it->get<std::string>();
  }
  return Status::Ok();
}

std::string AnnotationsJson(const std::map<std::string, std::string>& a) {
  json j = json::object();
  for (const auto& [k, v] : a) j[k] = v;
  return DumpJson(j);
}

class DirStore : public SecretStore {
 public:
  DirStore(std::string root, std::string main) : root_(std::move(root)), main_(std::move(main)) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  }

  std::string DirFor(const std::string& name) const {
    return name == main_ ? root_ : root_ + "/" + name;
  }

  std::string Describe(const std::string& name) const override {
    return "directory " + DirFor(name);
  }

  Status Read(const std::string& name, SecretData* out) override {
    *out = SecretData();
    std::string dir = DirFor(name);
    DIR* d = opendir(dir.c_str());
    if (!d) {
      if (errno == ENOENT) return Status::Ok();
      return Status::Failed("reading directory " + dir + ": " + ErrnoText(errno));
    }
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      names.push_back(e->d_name);
    }
    closedir(d);
    for (const std::string& n : names) {
      std::string p = dir + "/" + n;
      struct stat sb;
      if (lstat(p.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
      std::string v;
      INITKIT_RETURN_IF_ERROR(ReadFileToString(p, &v, kMaxValue));
      out->data[n] = std::move(v);
      out->exists = true;
    }
    std::string state;
    std::string sp = dir + "/" + kStateFile;
    if (access(sp.c_str(), F_OK) == 0) {
      INITKIT_RETURN_IF_ERROR(ReadFileToString(sp, &state, kMaxValue));
      INITKIT_RETURN_IF_ERROR(ReadAnnotations(state, sp, &out->annotations));
      out->exists = true;
    }
    Remember(*out);
    return Status::Ok();
  }

  Status Modify(const std::string& name, const Mutator& mutate, int* conflicts) override {
    *conflicts = 0;
    INITKIT_RETURN_IF_ERROR(RemoveStaleTempFiles(DirFor(name)));
    SecretData cur, want;
    INITKIT_RETURN_IF_ERROR(Read(name, &cur));
    bool write = false;
    INITKIT_RETURN_IF_ERROR(mutate(cur, &want, &write));
    if (!write) return Status::Ok();
    std::string dir = DirFor(name);
    if (name != main_) INITKIT_RETURN_IF_ERROR(MkdirPrivate(root_));
    INITKIT_RETURN_IF_ERROR(MkdirPrivate(dir));
    // Values first, state last: a crash in between leaves the values, and
    // generate-once keys that hold a value are kept whatever the state says.
    for (const auto& [k, v] : want.data) {
      auto it = cur.data.find(k);
      if (it != cur.data.end() && it->second == v) continue;
      INITKIT_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + k, v, 0600));
    }
    if (!cur.exists || want.annotations != cur.annotations) {
      json state = {{"annotations", json::parse(AnnotationsJson(want.annotations))},
                    {"written_by", "initkit-secrets"}};
      INITKIT_RETURN_IF_ERROR(
          WriteFileAtomic(dir + "/" + kStateFile, DumpJson(state, 2) + "\n", 0600));
    }
    return Status::Ok();
  }

  Status Delete(const std::string& name, bool* existed) override {
    SecretData cur;
    INITKIT_RETURN_IF_ERROR(Read(name, &cur));
    *existed = cur.exists;
    std::string dir = DirFor(name);
    for (const auto& [k, v] : cur.data) {
      std::string p = dir + "/" + k;
      if (unlink(p.c_str()) != 0 && errno != ENOENT) {
        return Status::Failed("removing " + p + ": " + ErrnoText(errno));
      }
    }
    std::string sp = dir + "/" + kStateFile;
    if (unlink(sp.c_str()) != 0 && errno != ENOENT) {
      return Status::Failed("removing " + sp + ": " + ErrnoText(errno));
    }
    if (name != main_ && IsDir(dir)) rmdir(dir.c_str());  // left if it holds other files
    return Status::Ok();
  }

 private:
  std::string root_, main_;
};

bool PlainEnvValue(const std::string& v) {
  for (char c : v) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("+/=:._-", c))) return false;
  }
  return true;
}

class EnvFileStore : public SecretStore {
 public:
  EnvFileStore(std::string path, std::string main)
      : path_(std::move(path)), main_(std::move(main)) {}

  std::string FileFor(const std::string& name) const {
    if (name == main_) return path_;
    std::size_t slash = path_.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash);
    return dir + "/" + name + ".env";
  }

  std::string Describe(const std::string& name) const override {
    return "env file " + FileFor(name);
  }

  Status Read(const std::string& name, SecretData* out) override {
    *out = SecretData();
    std::string f = FileFor(name);
    if (access(f.c_str(), F_OK) != 0) return Status::Ok();
    std::string text;
    INITKIT_RETURN_IF_ERROR(ReadFileToString(f, &text, 16 * kMaxValue));
    INITKIT_RETURN_IF_ERROR(ParseEnvFile(text, f, out));
    Remember(*out);
    return Status::Ok();
  }

  Status Modify(const std::string& name, const Mutator& mutate, int* conflicts) override {
    *conflicts = 0;
    std::string f = FileFor(name);
    std::size_t slash = f.rfind('/');
    INITKIT_RETURN_IF_ERROR(RemoveStaleTempFiles(
        slash == std::string::npos ? "." : f.substr(0, slash), f.substr(slash + 1)));
    SecretData cur, want;
    INITKIT_RETURN_IF_ERROR(Read(name, &cur));
    bool write = false;
    INITKIT_RETURN_IF_ERROR(mutate(cur, &want, &write));
    if (!write) return Status::Ok();
    return WriteFileAtomic(f, FormatEnvFile(want), 0600);
  }

  Status Delete(const std::string& name, bool* existed) override {
    std::string f = FileFor(name);
    *existed = unlink(f.c_str()) == 0;
    if (!*existed && errno != ENOENT) {
      return Status::Failed("removing " + f + ": " + ErrnoText(errno));
    }
    return Status::Ok();
  }

 private:
  std::string path_, main_;
};

}  // namespace

std::string FormatEnvFile(const SecretData& s) {
  std::string out = "# Written by initkit-secrets. Do not edit generate-once values.\n";
  out += kAnnotationsPrefix + AnnotationsJson(s.annotations) + "\n";
  for (const auto& [k, v] : s.data) {
    out += k + "=";
    if (PlainEnvValue(v)) {
      out += v;
    } else {
      out.push_back('"');
      for (char c : v) {
        if (c == '\n') {
          out += "\\n";
        } else if (c == '"') {
          out += "\\\"";
        } else if (c == '\\') {
          out += "\\\\";
        } else {
          out.push_back(c);
        }
      }
      out.push_back('"');
    }
    out += "\n";
  }
  return out;
}

Status ParseEnvFile(const std::string& text, const std::string& source, SecretData* out) {
  *out = SecretData();
  out->exists = true;
  std::size_t pos = 0;
  int number = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string where = source + ": line " + std::to_string(number);
    if (line.rfind(kAnnotationsPrefix, 0) == 0) {
      INITKIT_RETURN_IF_ERROR(
          ReadAnnotations(line.substr(std::strlen(kAnnotationsPrefix)), where, &out->annotations));
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) return Status::Failed(where + ": expected KEY=value");
    std::string key = line.substr(0, eq);
    std::string raw = line.substr(eq + 1), v;
    if (!raw.empty() && raw[0] == '"') {
      std::size_t i = 1;
      for (; i < raw.size() && raw[i] != '"'; ++i) {
        if (raw[i] == '\\' && i + 1 < raw.size()) {
          char n = raw[++i];
          v.push_back(n == 'n' ? '\n' : n);
        } else {
          v.push_back(raw[i]);
        }
      }
      if (i != raw.size() - 1) {
        return Status::Failed(where + ": unterminated quoted value of " + key);
      }
    } else if (!raw.empty() && raw[0] == '\'') {
      if (raw.size() < 2 || raw.back() != '\'') {
        return Status::Failed(where + ": unterminated quoted value of " + key);
      }
      v = raw.substr(1, raw.size() - 2);
    } else {
      v = raw;
    }
    out->data[key] = std::move(v);
  }
  return Status::Ok();
}

void SecretStore::Remember(const SecretData& d) const {
  for (const auto& [key, value] : d.data) {
    if (!public_keys_.count(key)) log::AddSecret(value);
  }
}

std::unique_ptr<SecretStore> NewK8sStore(K8sClient* client, std::string ns, Deadline deadline) {
  return std::make_unique<K8sStore>(client, std::move(ns), deadline);
}
std::unique_ptr<SecretStore> NewDirStore(std::string path, std::string main_name) {
  return std::make_unique<DirStore>(std::move(path), std::move(main_name));
}
std::unique_ptr<SecretStore> NewEnvFileStore(std::string path, std::string main_name) {
  return std::make_unique<EnvFileStore>(std::move(path), std::move(main_name));
}

}  // namespace initkit::secrets
