#include "tools/preload/analysis.h"

#include <algorithm>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace initkit::preload {

namespace {

// Type bits as PHP's zend_type masks, for the parts of the checks that
// compare built-in types.
enum : uint32_t {
  kNull = 1,
  kFalse = 2,
  kTrue = 4,
  kInt = 8,
  kFloat = 16,
  kString = 32,
  kArray = 64,
  kObject = 128,
  kCallable = 256,
  kVoid = 512,
  kNever = 1024,
  kStatic = 2048,
  kAny = kNull | kFalse | kTrue | kInt | kFloat | kString | kArray | kObject,
};

enum class Check { kOk, kError, kUnresolved };

// The bits of a built-in type keyword other than iterable/self/parent.
uint32_t TypeBits(std::string_view keyword) {
  static constexpr std::pair<std::string_view, uint32_t> kWords[] = {
      {"int", kInt},       {"float", kFloat},  {"string", kString}, {"bool", kFalse | kTrue},
      {"false", kFalse},   {"true", kTrue},    {"null", kNull},     {"void", kVoid},
      {"never", kNever},   {"mixed", kAny},    {"array", kArray},   {"callable", kCallable},
      {"object", kObject}, {"static", kStatic}};
  for (const auto& [word, bits] : kWords) {
    if (word == keyword) return bits;
  }
  return 0;
}

struct Node {
  size_t file;
  const PhpClass* cls;
  std::string lname;
  std::string lparent;
  std::vector<std::string> linterfaces, ltraits, linits;
};

// A type split into built-in bits and lower-case class names.
struct Flat {
  uint32_t bits = 0;
  std::vector<std::string> names;
};

const char* KindWord(ClassKind k) {
  switch (k) {
    case ClassKind::kInterface:
      return "interface";
    case ClassKind::kTrait:
      return "trait";
    case ClassKind::kEnum:
      return "enum";
    default:
      return "class";
  }
}

class Analyzer {
 public:
  Analyzer(const std::vector<SourceFile>& files, const BuiltinClasses& builtins)
      : files_(files), builtins_(builtins) {}

  Analysis Run(const std::map<size_t, Exclusion>& forced) {
    Analysis a;
    a.excluded.resize(files_.size());
    for (const auto& [idx, ex] : forced) {
      if (idx < files_.size()) a.excluded[idx] = ex;
    }
    FileRules(&a);
    BuildNodes(a);
    std::vector<bool> alive(files_.size());
    for (size_t f = 0; f < files_.size(); ++f) alive[f] = a.excluded[f].reason.empty();

    bool first = true;
    while (true) {
      if (first) {
        Link(alive);
        first = false;
      } else {
        Invalidate(alive);
      }
      std::vector<size_t> newly;
      for (size_t n = 0; n < nodes_.size(); ++n) {
        size_t f = nodes_[n].file;
        if (!alive[f] || !a.excluded[f].reason.empty()) continue;
        // Constant, property and default initialisers are not checked:
        // PHP 8.1+ preloads a class whose initialisers name classes it does
        // not have and resolves them on first use.
        if (!linked_[n]) {
          a.excluded[f] = Explain(n, alive, a);
          newly.push_back(f);
        }
      }
      if (newly.empty()) break;
      for (size_t f : newly) alive[f] = false;
    }

    // Order: a file comes after the files holding what its classes need.
    std::vector<size_t> key(files_.size(), 0);
    for (size_t n = 0; n < nodes_.size(); ++n) {
      if (alive[nodes_[n].file] && linked_[n]) {
        key[nodes_[n].file] = std::max(key[nodes_[n].file], link_seq_[n]);
        if (!nodes_[n].cls->anonymous) ++a.preloaded_classes;
      }
    }
    for (size_t f = 0; f < files_.size(); ++f) {
      if (alive[f]) a.order.push_back(f);
    }
    std::stable_sort(a.order.begin(), a.order.end(),
                     [&](size_t x, size_t y) { return key[x] < key[y]; });
    a.deps.assign(files_.size(), {});
    // What each linked class needed: the classes its checks consulted and
    // those its initialisers name.
    for (size_t n = 0; n < nodes_.size(); ++n) {
      size_t f = nodes_[n].file;
      if (!alive[f] || !linked_[n]) continue;
      for (int d : consulted_[n]) {
        size_t df = nodes_[d].file;
        if (df != f && alive[df]) a.deps[f].push_back(df);
      }
      for (const std::string& r : nodes_[n].linits) {
        int d = UserId(r);
        if (d < 0) continue;
        size_t df = nodes_[d].file;
        if (df != f && alive[df]) a.deps[f].push_back(df);
      }
    }
    for (auto& d : a.deps) {
      std::sort(d.begin(), d.end());
      d.erase(std::unique(d.begin(), d.end()), d.end());
    }
    return a;
  }

 private:
  // Rules that need no linking: scan errors, side effects, conditional
  // declarations, files without classes, duplicates.
  void FileRules(Analysis* a) {
    // Every class's lower-case name, made once (BuildNodes uses them too).
    first_class_.resize(files_.size() + 1);
    for (size_t f = 0; f < files_.size(); ++f) {
      first_class_[f] = lnames_.size();
      for (const PhpClass& c : files_[f].info.classes) {
        lnames_.push_back(c.anonymous ? std::string() : ToLower(c.name));
      }
    }
    first_class_[files_.size()] = lnames_.size();
    std::unordered_map<std::string_view, std::vector<size_t>> declared;
    for (size_t f = 0; f < files_.size(); ++f) {
      const PhpFileInfo& info = files_[f].info;
      for (size_t k = 0; k < info.classes.size(); ++k) {
        const PhpClass& c = info.classes[k];
        const std::string& l = lnames_[first_class_[f] + k];
        if (!c.anonymous && !c.conditional) declared[l].push_back(f);
        if (!c.anonymous) declared_in_.try_emplace(l, f);
      }
    }
    // Two preloaded files declaring one function make PHP fail at startup
    // ("Cannot redeclare"), so every such file is left out.
    std::unordered_map<std::string, std::vector<size_t>> functions;
    for (size_t f = 0; f < files_.size(); ++f) {
      for (const std::string& fn : files_[f].info.functions) functions[ToLower(fn)].push_back(f);
    }
    for (const auto& [fn, where] : functions) {
      if (where.size() < 2) continue;
      for (size_t f : where) {
        if (!a->excluded[f].reason.empty()) continue;
        size_t other = where[0] == f ? where[1] : where[0];
        a->excluded[f] = {"duplicate-function",
                          "function " + fn + "() is also declared in " + files_[other].rel};
      }
    }
    for (size_t f = 0; f < files_.size(); ++f) {
      Exclusion& ex = a->excluded[f];
      if (!ex.reason.empty()) continue;
      const PhpFileInfo& info = files_[f].info;
      bool has_class = false;
      for (const PhpClass& c : info.classes) has_class |= !c.anonymous && !c.conditional;
      if (!info.error.empty()) {
        ex = {info.error.rfind("unreadable", 0) == 0 ? "unreadable" : "parse-error", info.error};
      } else if (!info.compile_error.empty()) {
        // Preloading such a file stops PHP's start with a fatal error.
        ex = {"php-compile-error", "PHP 8 refuses to compile it: " + info.compile_error};
      } else if (!info.conditional.empty()) {
        ex = {"conditional-declaration", info.conditional};
      } else if (!info.side_effect.empty()) {
        ex = {"side-effects", "top-level " + info.side_effect};
      } else if (!has_class) {
        ex = {"no-class", "declares no class, interface, trait or enum"};
      }
      if (!ex.reason.empty()) continue;
      for (size_t k = 0; k < info.classes.size(); ++k) {
        const PhpClass& c = info.classes[k];
        if (c.anonymous || c.conditional) continue;
        const std::string& l = lnames_[first_class_[f] + k];
        if (builtins_.Find(l) != nullptr) {
          ex = {"duplicate-class", c.name + " is a built-in PHP class"};
          break;
        }
        const std::vector<size_t>& where = declared[l];
        if (where.size() > 1) {
          size_t other = where[0] == f ? where[1] : where[0];
          ex = {"duplicate-class", c.name + " is also declared in " + files_[other].rel};
          break;
        }
      }
    }
  }

  void BuildNodes(const Analysis& a) {
    for (size_t f = 0; f < files_.size(); ++f) {
      if (!a.excluded[f].reason.empty()) continue;
      const std::vector<PhpClass>& classes = files_[f].info.classes;
      for (size_t k = 0; k < classes.size(); ++k) {
        const PhpClass& c = classes[k];
        Node n;
        n.file = f;
        n.cls = &c;
        n.lname = lnames_[first_class_[f] + k];
        n.lparent = Lowered(c.parent);
        for (const auto& i : c.interfaces) n.linterfaces.push_back(Lowered(i));
        for (const auto& t : c.traits) n.ltraits.push_back(Lowered(t));
        for (const auto& r : c.init_refs) n.linits.push_back(Lowered(r));

        if (!c.anonymous) by_name_[n.lname] = nodes_.size();
        nodes_.push_back(std::move(n));
      }
    }
    method_cache_.resize(nodes_.size());
    proto_cache_.resize(nodes_.size());
    consulted_.assign(nodes_.size(), {});
    linked_.assign(nodes_.size(), false);
    link_seq_.assign(nodes_.size(), 0);
  }

  // ---- availability and class relations ------------------------------
  int UserId(const std::string& lname) const {
    auto it = by_name_.find(lname);
    return it == by_name_.end() ? -1 : static_cast<int>(it->second);
  }

  bool Available(const std::string& lname) const {
    if (builtins_.Find(lname) != nullptr || lname == "class@anonymous") return true;
    int id = UserId(lname);
    if (id < 0) return false;
    if (id == current_) return true;
    if (!linked_[id]) return false;
    if (recording_ >= 0) consulted_[recording_].push_back(id);
    return true;
  }

  bool InstanceOf(const std::string& a, const std::string& b, int depth = 0) const {
    if (a == b) return true;
    if (depth > 64) return false;
    if (const BuiltinClass* bc = builtins_.Find(a)) {
      if (std::find(bc->linterfaces.begin(), bc->linterfaces.end(), b) != bc->linterfaces.end()) {
        return true;
      }
      return !bc->lparent.empty() && InstanceOf(bc->lparent, b, depth + 1);
    }
    int id = UserId(a);
    if (id < 0) return false;
    const Node& n = nodes_[id];
    if (!n.lparent.empty() && InstanceOf(n.lparent, b, depth + 1)) return true;
    for (const auto& i : n.linterfaces) {
      if (InstanceOf(i, b, depth + 1)) return true;
    }
    return false;
  }

  // Methods a class has of its own, including those its traits bring (its
  // own win over a trait's), built once per class.
  struct MethodTable {
    std::vector<const PhpMethod*> list;
    std::unordered_map<std::string_view, const PhpMethod*> by_name;
  };
  void CollectMethods(int id, MethodTable* t, int depth) const {
    if (depth > 16) return;
    const Node& n = nodes_[id];
    for (const PhpMethod& m : n.cls->methods) {
      if (t->by_name.emplace(m.lname, &m).second) t->list.push_back(&m);
    }
    for (const auto& tr : n.ltraits) {
      int tid = UserId(tr);
      if (tid >= 0) CollectMethods(tid, t, depth + 1);
    }
  }
  const MethodTable& Methods(int id) const {
    std::unique_ptr<MethodTable>& slot = method_cache_[id];
    if (!slot) {
      slot = std::make_unique<MethodTable>();
      CollectMethods(id, slot.get(), 0);
    }
    return *slot;
  }

  Flat Flatten(const PhpType& t, const std::string& scope_lname) const {
    Flat f;
    for (const std::string& atom : t.atoms) {
      if (IsBuiltinTypeKeyword(atom)) {
        if (atom == "iterable") {
          f.bits |= kArray;
          f.names.push_back("traversable");
        } else if (atom == "self") {
          f.names.push_back(scope_lname);
        } else if (atom == "parent") {
          int id = UserId(scope_lname);
          if (id >= 0 && !nodes_[id].lparent.empty()) f.names.push_back(nodes_[id].lparent);
        } else {
          f.bits |= TypeBits(atom);
        }
      } else {
        f.names.push_back(ToLower(atom));
      }
    }
    return f;
  }

  Check ClassSubtypeOfType(const std::string& fe_name, const Flat& proto,
                           std::string* unresolved) const {
    bool have_unresolved = false;
    if (proto.bits & kObject) {
      if (Available(fe_name)) return Check::kOk;
      have_unresolved = true;
      if (unresolved->empty()) *unresolved = fe_name;
    }
    for (const std::string& p : proto.names) {
      if (p == fe_name) return Check::kOk;
      bool fa = Available(fe_name), pa = Available(p);
      if (!fa || !pa) {
        have_unresolved = true;
        if (unresolved->empty()) *unresolved = !fa ? fe_name : p;
        continue;
      }
      if (InstanceOf(fe_name, p)) return Check::kOk;
    }
    return have_unresolved ? Check::kUnresolved : Check::kError;
  }

  // zend_perform_covariant_type_check: is fe_type a subtype of proto_type?
  Check Covariant(const std::string& fe_scope, const PhpType& fe_type,
                  const std::string& proto_scope, const PhpType& proto_type,
                  std::string* unresolved) const {
    Flat fe = Flatten(fe_type, fe_scope);
    Flat proto = Flatten(proto_type, proto_scope);
    if ((proto.bits & kAny) == kAny && proto.names.empty() && !(fe.bits & kVoid)) {
      return Check::kOk;
    }
    uint32_t added = fe.bits & ~proto.bits;
    if (added & kStatic) {
      bool permits_self = (proto.bits & kObject) != 0;
      for (const std::string& p : proto.names) permits_self |= InstanceOf(fe_scope, p);
      if (permits_self) added &= ~kStatic;
    }
    if (added == kNever) return Check::kOk;
    if (added) return Check::kError;
    bool have_unresolved = false;
    bool any_ok = false;
    for (const std::string& name : fe.names) {
      Check c = ClassSubtypeOfType(name, proto, unresolved);
      if (fe_type.intersection) {
        if (c == Check::kOk) any_ok = true;
      } else if (c == Check::kError) {
        return Check::kError;
      }
      if (c == Check::kUnresolved) have_unresolved = true;
    }
    if (fe_type.intersection && any_ok) return Check::kOk;
    if (fe_type.intersection && !have_unresolved && !fe.names.empty()) return Check::kError;
    return have_unresolved ? Check::kUnresolved : Check::kOk;
  }

  static size_t RequiredCount(const PhpMethod& m) {
    size_t req = 0;
    for (size_t i = 0; i < m.params.size(); ++i) {
      if (!m.params[i].optional) req = i + 1;
    }
    return req;
  }

  static bool IsMixedOnly(const PhpType& t) { return t.atoms.size() == 1 && t.atoms[0] == "mixed"; }

  Check ArgCheck(const std::string& fe_scope, const PhpParam& fe, const std::string& proto_scope,
                 const PhpParam& proto, std::string* unresolved) const {
    if (!fe.type.present || IsMixedOnly(fe.type)) return Check::kOk;
    if (!proto.type.present) return Check::kError;
    return Covariant(proto_scope, proto.type, fe_scope, fe.type, unresolved);
  }

  // zend_do_perform_implementation_check for a user-defined prototype.
  Check Implementation(const std::string& fe_scope, const PhpMethod& fe,
                       const std::string& proto_scope, const PhpMethod& proto,
                       std::string* unresolved) const {
    if (fe.is_static != proto.is_static) return Check::kError;
    if (proto.returns_ref && !fe.returns_ref) return Check::kError;
    if (RequiredCount(fe) > RequiredCount(proto)) return Check::kError;
    bool fe_var = !fe.params.empty() && fe.params.back().variadic;
    bool proto_var = !proto.params.empty() && proto.params.back().variadic;
    size_t fe_num = fe.params.size() - (fe_var ? 1 : 0);
    size_t proto_num = proto.params.size() - (proto_var ? 1 : 0);
    if (proto_var && !fe_var) return Check::kError;
    size_t num = std::max(fe_num, proto_num);
    if (proto_var && fe_var) ++num;
    Check status = Check::kOk;
    for (size_t i = 0; i < num; ++i) {
      const PhpParam* p = i < proto_num ? &proto.params[i]
                          : proto_var   ? &proto.params.back()
                                        : nullptr;
      const PhpParam* f = i < fe_num ? &fe.params[i] : fe_var ? &fe.params.back() : nullptr;
      if (p == nullptr) continue;
      if (f == nullptr) return Check::kError;
      Check c = ArgCheck(fe_scope, *f, proto_scope, *p, unresolved);
      if (c == Check::kError) return c;
      if (c == Check::kUnresolved) status = c;
      if (f->by_ref != p->by_ref) return Check::kError;
    }
    if (proto.ret.present) {
      if (!fe.ret.present) return Check::kError;
      Check c = Covariant(fe_scope, fe.ret, proto_scope, proto.ret, unresolved);
      if (c != Check::kOk) return c;
    }
    return status;
  }

  // Against a built-in prototype whose types the table does not hold: PHP
  // must be able to look up every class the overriding method names.
  Check BuiltinImplementation(const std::string& fe_scope, const PhpMethod& fe,
                              std::string* unresolved) const {
    auto check_type = [&](const PhpType& t) {
      if (!t.present || IsMixedOnly(t)) return true;
      for (const std::string& n : Flatten(t, fe_scope).names) {
        if (!Available(n)) {
          if (unresolved->empty()) *unresolved = n;
          return false;
        }
      }
      return true;
    };
    bool ok = check_type(fe.ret);
    for (const PhpParam& p : fe.params) ok = check_type(p.type) && ok;
    return ok ? Check::kOk : Check::kUnresolved;
  }

  struct Proto {
    const PhpMethod* method = nullptr;  // null: a built-in class's method
    const std::string* scope;           // lower-case class name
    const std::string* display;         // for messages
    bool from_interface = false;
  };

  // Where FindProtos looks for a class's methods, the same for every method
  // of the class, so worked out once per class: the parent chain up to the
  // first built-in or unknown class, and every interface the class declares
  // with the interfaces they extend, in visiting order.
  struct ProtoSource {
    const BuiltinClass* builtin = nullptr;  // else the user class `id`
    int id = -1;
    const std::string* lname = nullptr;  // in a Node or BuiltinClass: stable
  };
  struct ProtoSources {
    std::vector<ProtoSource> parents, interfaces;
  };
  const ProtoSources& Sources(size_t node) const {
    std::unique_ptr<ProtoSources>& slot = proto_cache_[node];
    if (slot) return *slot;
    slot = std::make_unique<ProtoSources>();
    const Node& n = nodes_[node];
    const std::string* p = &n.lparent;
    for (int depth = 0; !p->empty() && depth < 64; ++depth) {
      if (const BuiltinClass* b = builtins_.Find(*p)) {
        slot->parents.push_back({b, -1, p});
        break;
      }
      int id = UserId(*p);
      if (id < 0) break;
      slot->parents.push_back({nullptr, id, p});
      p = &nodes_[id].lparent;
    }
    std::vector<const std::string*> todo;
    for (const auto& i : n.linterfaces) todo.push_back(&i);
    std::unordered_set<std::string_view> seen;
    while (!todo.empty()) {
      const std::string* i = todo.back();
      todo.pop_back();
      if (!seen.insert(*i).second) continue;
      if (const BuiltinClass* b = builtins_.Find(*i)) {
        slot->interfaces.push_back({b, -1, i});
        continue;
      }
      int id = UserId(*i);
      if (id < 0) continue;
      slot->interfaces.push_back({nullptr, id, i});
      for (const auto& e : nodes_[id].linterfaces) todo.push_back(&e);
    }
    return *slot;
  }

  void FindProtos(size_t node, const std::string& lmethod, std::vector<Proto>* out) const {
    const ProtoSources& src = Sources(node);
    // Nearest definition up the parent chain.
    for (const ProtoSource& s : src.parents) {
      if (s.builtin != nullptr) {
        if (!s.builtin->known_shape || s.builtin->lmethods.count(lmethod)) {
          out->push_back({nullptr, s.lname, &s.builtin->name});
        }
        break;
      }
      const MethodTable& mt = Methods(s.id);
      auto fit = mt.by_name.find(lmethod);
      if (fit != mt.by_name.end()) {
        if (!fit->second->is_private) {
          out->push_back({fit->second, s.lname, &nodes_[s.id].cls->name});
        }
        break;
      }
    }
    for (const ProtoSource& s : src.interfaces) {
      if (s.builtin != nullptr) {
        if (!s.builtin->known_shape || s.builtin->lmethods.count(lmethod)) {
          out->push_back({nullptr, s.lname, &s.builtin->name, true});
        }
        continue;
      }
      const MethodTable& mt = Methods(s.id);
      if (auto fit = mt.by_name.find(lmethod); fit != mt.by_name.end()) {
        out->push_back({fit->second, s.lname, &nodes_[s.id].cls->name, true});
      }
    }
  }

  // Checks every method of node `id` against what it overrides. On a
  // problem fills *what with a sentence and returns kError/kUnresolved.
  Check Signatures(size_t id, std::string* what) {
    const Node& n = nodes_[id];
    if (n.lparent.empty() && n.linterfaces.empty()) return Check::kOk;
    const std::vector<const PhpMethod*>& methods = Methods(static_cast<int>(id)).list;
    std::string scope = n.cls->anonymous ? std::string("class@anonymous") : n.lname;
    std::vector<Proto> protos;
    for (const PhpMethod* m : methods) {
      protos.clear();
      FindProtos(id, m->lname, &protos);
      for (const Proto& p : protos) {
        // PHP checks a constructor only against an abstract one or one an
        // interface declares (zend_inheritance.c): a subclass of Exception
        // may take whatever its own constructor wants.
        if (m->lname == "__construct" && !p.from_interface &&
            (p.method == nullptr || !p.method->is_abstract)) {
          continue;
        }
        std::string unresolved;
        Check c = p.method == nullptr ? BuiltinImplementation(scope, *m, &unresolved)
                                      : Implementation(scope, *m, *p.scope, *p.method, &unresolved);
        if (c == Check::kOk) continue;
        if (c == Check::kUnresolved) missing_ = unresolved;
        if (!want_text_) return c;  // only Explain needs the sentence
        std::string decl = n.cls->name + "::" + m->name + "()";
        std::string base = *p.display + "::" + m->name + "()";
        if (c == Check::kError) {
          *what = "declaration of " + decl + " is not compatible with " + base;
        } else {
          *what = "could not check compatibility between " + decl + " and " + base +
                  ", because class " + Display(unresolved) + " is not available";
        }
        return c;
      }
    }
    return Check::kOk;
  }

  // ToLower(name), remembering how the name was written for messages.
  std::string Lowered(const std::string& name) {
    std::string l = ToLower(name);
    if (!name.empty()) original_.try_emplace(l, name);
    return l;
  }

  // ToLower(x) == lname, without building ToLower(x).
  static bool SameLower(const std::string& x, const std::string& lname) {
    if (x.size() != lname.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      char c = x[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != lname[i]) return false;
    }
    return true;
  }

  std::string Display(const std::string& lname) const {
    if (auto it = original_.find(lname); it != original_.end()) return it->second;
    // Names only seen in signatures: look them up when a message needs one.
    for (const Node& n : nodes_) {
      for (const PhpMethod& m : n.cls->methods) {
        for (const auto& x : m.ret.atoms) {
          if (SameLower(x, lname)) return x;
        }
        for (const PhpParam& p : m.params) {
          for (const auto& x : p.type.atoms) {
            if (SameLower(x, lname)) return x;
          }
        }
      }
    }
    int id = UserId(lname);
    if (id >= 0) return nodes_[id].cls->name;
    if (const BuiltinClass* b = builtins_.Find(lname)) return b->name;
    return lname;
  }

  // Why node `id` cannot be linked now: role of the missing class
  // ("parent", ...) and its name, or a signature sentence.
  enum class Block { kNone, kDependency, kSignature, kIncompatible };
  Block Blocker(size_t id, std::string* role, std::string* name, std::string* sentence) {
    recording_ = static_cast<int>(id);
    consulted_[id].clear();
    Block b = BlockerImpl(id, role, name, sentence);
    recording_ = -1;
    return b;
  }
  Block BlockerImpl(size_t id, std::string* role, std::string* name, std::string* sentence) {
    const Node& n = nodes_[id];
    auto missing = [&](const std::string& l, const char* r) {
      if (Available(l)) return false;
      *role = r;
      *name = l;
      return true;
    };
    if (!n.lparent.empty() && missing(n.lparent, "parent")) return Block::kDependency;
    for (const auto& i : n.linterfaces) {
      if (missing(i, "interface")) return Block::kDependency;
    }
    for (const auto& t : n.ltraits) {
      if (missing(t, "trait")) return Block::kDependency;
    }
    current_ = n.cls->anonymous ? -1 : static_cast<int>(id);
    missing_.clear();
    Check c = Signatures(id, sentence);
    current_ = -1;
    if (c == Check::kError) return Block::kIncompatible;
    if (c == Check::kUnresolved) {
      *role = "signature";
      *name = missing_;
      return Block::kSignature;
    }
    return Block::kNone;
  }

  void Link(const std::vector<bool>& alive) {
    alive_ = &alive;
    std::fill(linked_.begin(), linked_.end(), false);
    size_t seq = 0;
    std::string role, name, sentence;
    // A work list instead of PHP's repeated passes over the class table: a
    // class blocked on a name is retried when that name links.
    std::unordered_map<std::string, std::vector<size_t>> waiting;
    std::vector<size_t> queue;
    for (size_t n = 0; n < nodes_.size(); ++n) {
      if (alive[nodes_[n].file] && !nodes_[n].lname.empty()) queue.push_back(n);
    }
    for (size_t q = 0; q < queue.size(); ++q) {
      size_t n = queue[q];
      if (linked_[n]) continue;
      Block b = Blocker(n, &role, &name, &sentence);
      if (b == Block::kNone) {
        linked_[n] = true;
        link_seq_[n] = ++seq;
        auto it = waiting.find(nodes_[n].lname);
        if (it != waiting.end()) {
          queue.insert(queue.end(), it->second.begin(), it->second.end());
          waiting.erase(it);
        }
      } else if (b != Block::kIncompatible && role != "initializer" && !name.empty() &&
                 UserId(name) >= 0) {
        waiting[name].push_back(n);
      }
    }
    // Anonymous classes link once their dependencies have.
    for (size_t n = 0; n < nodes_.size(); ++n) {
      if (!alive[nodes_[n].file] || !nodes_[n].lname.empty()) continue;
      if (Blocker(n, &role, &name, &sentence) != Block::kNone) continue;
      linked_[n] = true;
      link_seq_[n] = ++seq;
    }
  }

  // Later rounds: files only ever leave, and a class that could not link
  // cannot link with fewer classes around, so instead of linking again the
  // classes whose checks consulted a class that is gone are unlinked.
  void Invalidate(const std::vector<bool>& alive) {
    if (rdeps_.empty()) {
      rdeps_.resize(nodes_.size());
      for (size_t n = 0; n < nodes_.size(); ++n) {
        for (int d : consulted_[n]) rdeps_[d].push_back(n);
      }
    }
    std::vector<size_t> todo;
    for (size_t n = 0; n < nodes_.size(); ++n) {
      if (linked_[n] && !alive[nodes_[n].file]) {
        linked_[n] = false;
        todo.push_back(n);
      }
    }
    while (!todo.empty()) {
      size_t n = todo.back();
      todo.pop_back();
      for (size_t r : rdeps_[n]) {
        if (linked_[r]) {
          linked_[r] = false;
          todo.push_back(r);
        }
      }
    }
  }

  // The reason a file is left out because node `id` could not be linked.
  Exclusion Explain(size_t id, const std::vector<bool>& alive, const Analysis& a) {
    const Node& n = nodes_[id];
    std::string role, name, sentence;
    want_text_ = true;
    Block b = Blocker(id, &role, &name, &sentence);
    want_text_ = false;
    std::string who = n.cls->anonymous ? "anonymous class at line " + std::to_string(n.cls->line)
                                       : std::string(KindWord(n.cls->kind)) + " " + n.cls->name;
    if (b == Block::kIncompatible) return {"incompatible-signature", who + ": " + sentence};
    if (b == Block::kNone) {
      return {"unlinkable", who + " could not be linked (dependency cycle)"};
    }
    int dep = UserId(name);
    std::string where;
    if (dep >= 0) {
      size_t df = nodes_[dep].file;
      if (!alive[df] || !a.excluded[df].reason.empty()) {
        where = " (its file " + files_[df].rel + " is left out: " +
                (a.excluded[df].reason.empty() ? "see there" : a.excluded[df].reason) + ")";
      } else {
        where = " (declared in " + files_[df].rel + ", which cannot be preloaded)";
      }
    } else if (auto it = declared_in_.find(name); it != declared_in_.end()) {
      where = " (its file " + files_[it->second].rel +
              " is left out: " + a.excluded[it->second].reason + ")";
      dep = 0;
    } else {
      where = " (neither in a preloaded file nor a built-in class)";
    }
    if (b == Block::kSignature) {
      return {dep >= 0 ? "depends-on-excluded" : "unresolved-signature-class",
              who + ": " + sentence + where};
    }
    return {dep >= 0 ? "depends-on-excluded" : "missing-dependency",
            who + ": " + role + " " + Display(name) + " is not available" + where};
  }

  const std::vector<SourceFile>& files_;
  const BuiltinClasses& builtins_;
  std::vector<Node> nodes_;
  std::unordered_map<std::string, size_t> by_name_;
  std::unordered_map<std::string, size_t> declared_in_;    // every file's classes
  std::vector<std::string> lnames_;                        // lower-case class names, file by file
  std::vector<size_t> first_class_;                        // per file: its first class in lnames_
  std::unordered_map<std::string, std::string> original_;  // lower case -> as written
  std::vector<bool> linked_;
  std::vector<size_t> link_seq_;
  int current_ = -1;
  int recording_ = -1;
  bool want_text_ = false;  // build sentences (Explain) or just verdicts (Link) // the class whose
                            // checks Available() records
  mutable std::vector<std::vector<int>> consulted_;  // user classes each check relied on
  std::vector<std::vector<size_t>> rdeps_;
  mutable std::vector<std::unique_ptr<MethodTable>> method_cache_;
  mutable std::vector<std::unique_ptr<ProtoSources>> proto_cache_;
  const std::vector<bool>* alive_ = nullptr;
  std::string missing_;
};

}  // namespace

Analysis Analyze(const std::vector<SourceFile>& files, const BuiltinClasses& builtins,
                 const std::map<size_t, Exclusion>& forced) {
  return Analyzer(files, builtins).Run(forced);
}

Analysis AnalyzeForExit(const std::vector<SourceFile>& files, const BuiltinClasses& builtins,
                        const std::map<size_t, Exclusion>& forced) {
  static auto* kept = new std::vector<std::unique_ptr<Analyzer>>();
  kept->push_back(std::make_unique<Analyzer>(files, builtins));
  return kept->back()->Run(forced);
}

}  // namespace initkit::preload
