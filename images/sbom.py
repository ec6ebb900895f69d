#!/usr/bin/env python3
"""Writes the CycloneDX 1.6 SBOM of one static build tree.

The component list is derived from what the build actually compiled and
linked, not from a list kept by hand:
  - the linker map of every binary (build-static/maps/<binary>.map, written by
    images/build-static.sh through -Wl,-Map) names each archive member the
    linker took: libc.a(...), libcrypto.a(...), libmariadb.a(...), ...;
  - ninja's dependency log (`ninja -t deps`) names every header each linked
    object of ours was compiled from: the header-only libraries (nlohmann-json,
    spdlog, fmt, CLI11) are compiled into the binaries without an archive.
Each file is traced to where it came from: a tree build-static.sh made (the
OpenSSL and libcurl it built, a cross build's -dev package it unpacked; each
records its Debian source package and version in .initkit-source), or the
Debian package owning it (dpkg -S), whose source package and version dpkg
knows. The upstream version is read from the version
header the library installs (the one the build compiled against), so it is
what `initkit-X --version` prints at run time. Licences are the one thing
looked up in a table below (SPDX ids per Debian source package): Debian's
copyright files are not uniformly machine-readable, and a source package
missing from the table stops the SBOM with an error instead of guessing.

Usage: sbom.py BUILD_DIR ARCH OUTPUT.json
The output validates against the CycloneDX 1.6 JSON schema
(images/sbom-validate.js); `dependencies` says which binary links which
component.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid

# SPDX licence expression per Debian source package (the part of it that is
# linked: e.g. MariaDB's client library, not the server).
LICENCES = {
    "openssl": "Apache-2.0",
    "curl": "curl",
    "mariadb": "LGPL-2.1-or-later",
    "mariadb-connector-c": "LGPL-2.1-or-later",
    "hiredis": "BSD-3-Clause",
    "zlib": "Zlib",
    "glibc": "LGPL-2.1-or-later",
    "gcc-12": "GPL-3.0-or-later WITH GCC-exception-3.1",
    "nlohmann-json3": "MIT",
    "spdlog": "MIT",
    "fmtlib": "MIT",
    "cli11": "BSD-3-Clause",
    "linux": "GPL-2.0-only WITH Linux-syscall-note",
}

# The component name `--version` uses, per Debian source package; other
# source packages keep their Debian name.
NAMES = {
    "curl": "libcurl",
    "mariadb": "mariadb-connector-c",
    "gcc-12": "libstdc++",
    "nlohmann-json3": "nlohmann-json",
    "fmtlib": "fmt",
    "linux": "linux-libc-dev",
}

# NVD's vendor:product, so that a scanner matching by CPE finds the CVEs.
CPES = {
    "openssl": "openssl:openssl",
    "curl": "haxx:libcurl",
    "mariadb": "mariadb:connector\\/c",
    "hiredis": "redis:hiredis",
    "zlib": "zlib:zlib",
    "glibc": "gnu:glibc",
    "gcc-12": "gnu:gcc",
    "nlohmann-json3": "nlohmann:json",
    "spdlog": "gabime:spdlog",
    "fmtlib": "fmt:fmt",
    "cli11": "cliutils:cli11",
}

# Debian's cross toolchain repackages glibc, GCC's runtime and the kernel
# headers under other source packages (cross-toolchain-base, gcc-12-cross)
# with versions like 2.36-8cross1: their real origin, by binary package.
CROSS_ORIGIN = [
    (re.compile(r"^libc6(-dev)?-[a-z0-9]+-cross$"), "glibc"),
    (re.compile(r"^lib(stdc\+\+|gcc-s|gcc|atomic|asan|ubsan)[-0-9]*(-dev)?-[a-z0-9]+-cross$"), "gcc-12"),
    (re.compile(r"^gcc-12-[a-z0-9-]+-cross(-base)?$"), "gcc-12"),
    (re.compile(r"^linux-libc-dev-[a-z0-9]+-cross$"), "linux"),
]


def die(msg):
    print(f"sbom: {msg}", file=sys.stderr)
    sys.exit(1)


def sh(*args, cwd=None):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def upstream_of(debian_version):
    """1:1.10.0+ds-0.4 -> 1.10.0; 2.36-8cross1 -> 2.36."""
    v = debian_version.split(":", 1)[-1]
    if "-" in v:
        v = v.rsplit("-", 1)[0]
    return re.split(r"[+~]", v)[0]


def read_defines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return {}
    return {m.group(1): m.group(2).strip().strip('"')
            for m in re.finditer(r"^\s*#\s*define\s+(\w+)\s+(\S+)", text, re.M)}


# Which header holds a library's version, and how to read it from the
# #defines: what the library reports at run time.
VERSION_HEADERS = {
    "openssl": ("opensslv.h", lambda d: d.get("OPENSSL_VERSION_STR")),
    "curl": ("curlver.h", lambda d: d.get("LIBCURL_VERSION")),
    "mariadb": ("mariadb_version.h", lambda d: d.get("MARIADB_PACKAGE_VERSION")),
    "hiredis": ("hiredis.h", lambda d: ".".join(d[k] for k in ("HIREDIS_MAJOR", "HIREDIS_MINOR", "HIREDIS_PATCH"))
                if all(k in d for k in ("HIREDIS_MAJOR", "HIREDIS_MINOR", "HIREDIS_PATCH")) else None),
    "zlib": ("zlib.h", lambda d: d.get("ZLIB_VERSION")),
    "glibc": ("features.h", lambda d: f"{d['__GLIBC__']}.{d['__GLIBC_MINOR__']}"
              if "__GLIBC__" in d and "__GLIBC_MINOR__" in d else None),
}


class Origin:
    """Where one linked or compiled file came from."""

    def __init__(self, source, debian_version, files, how):
        self.source = source  # Debian source package
        self.debian_version = debian_version
        self.files = files  # the installed files of the package/prefix
        self.how = how  # "static library" or "header-only"


def main():
    if len(sys.argv) != 4:
        die("usage: sbom.py BUILD_DIR ARCH OUTPUT.json")
    out, arch, dest = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cache = {}
    for line in open(os.path.join(out, "CMakeCache.txt"), encoding="utf-8"):
        m = re.match(r"^([A-Za-z_0-9]+):[A-Z]+=(.*)$", line.rstrip("\n"))
        if m:
            cache[m.group(1)] = m.group(2)
    project_version = cache.get("CMAKE_PROJECT_VERSION", "0")
    try:
        commit = sh("git", "rev-parse", "HEAD", cwd=root).strip()
        created = sh("git", "log", "-1", "--format=%cI", "HEAD", cwd=root).strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        commit, created = "unknown", None

    # The build's copies without .eh_frame stand for the archives they were
    # made from (CMakeLists.txt, initkit_noeh_copy).
    noeh = {}
    for var in ("OPENSSL_SSL_LIBRARY", "OPENSSL_CRYPTO_LIBRARY", "MARIADB_LIB", "HIREDIS_LIB"):
        if cache.get(var):
            noeh[os.path.basename(cache[var])] = cache[var]

    # ---- per binary: archives and objects the linker took -----------------
    maps_dir = os.path.join(out, "maps")
    binaries = sorted(f for f in os.listdir(os.path.join(out, "bin")) if f.startswith("initkit-"))
    if not binaries:
        die(f"no binaries in {out}/bin")
    member_re = re.compile(r"^(\S+\.a)\((.+)\)$")
    linked = {}  # binary -> set of (archive or object path, member or None)
    for b in binaries:
        mp = os.path.join(maps_dir, b + ".map")
        if not os.path.exists(mp):
            die(f"no linker map {mp}: was {b} linked by images/build-static.sh?")
        items = set()
        section = None
        for line in open(mp, encoding="utf-8", errors="replace"):
            if line.startswith("Archive member included"):
                section = "members"
                continue
            if line.startswith(("Discarded input sections", "Memory Configuration")):
                section = None
            if line.startswith("Linker script and memory map"):
                section = "load"
                continue
            if section == "members":
                m = member_re.match(line.rstrip("\n"))
                if m:
                    items.add((m.group(1), m.group(2)))
            elif section == "load" and line.startswith("LOAD ") and line.rstrip().endswith(".o"):
                items.add((line[5:].strip(), None))
        linked[b] = items

    def absolute(p):
        return os.path.normpath(p if os.path.isabs(p) else os.path.join(out, p))

    # ---- our own objects -> the headers they were compiled from ------------
    deps = {}  # object path relative to out -> headers
    current = None
    for line in sh("ninja", "-C", out, "-t", "deps").splitlines():
        if line and not line.startswith(" "):
            current = line.split(":", 1)[0]
            deps[current] = []
        elif line.strip() and current:
            deps[current].append(line.strip())
    headers = {b: set() for b in binaries}
    for b, items in linked.items():
        for path, member in items:
            ap = absolute(path)
            if not ap.startswith(out + os.sep) or "/noeh/" in ap:
                continue
            if member is None:
                objs = [os.path.relpath(ap, out)]
            else:  # lib<target>.a(member) -> CMakeFiles/<target>.dir/**/member
                target = re.sub(r"^lib|\.a$", "", os.path.basename(ap))
                objs = [o for o in deps if f"CMakeFiles/{target}.dir/" in o and os.path.basename(o) == member]
            for o in objs:
                for h in deps.get(o, []):
                    if not os.path.normpath(os.path.join(out, h)).startswith(root + os.sep):
                        headers[b].add(os.path.normpath(h))

    # ---- every file -> its origin ------------------------------------------
    files = {}  # path -> ("static library" | "header-only", binaries)
    for b, items in linked.items():
        for path, _ in items:
            ap = absolute(path)
            if ap.startswith(out + os.sep) and "/noeh/" not in ap:
                continue  # initkit's own code
            if "/noeh/" in ap:
                base = os.path.basename(ap)
                if base not in noeh:
                    die(f"{ap}: no original archive known for this copy")
                ap = noeh[base]
            files.setdefault(ap, ("static library", set()))[1].add(b)
        for h in headers[b]:
            files.setdefault(h, ("header-only", set()))[1].add(b)

    def recorded_origin(path):
        """The tree build-static.sh built or unpacked `path` in, if any:
        its top holds .initkit-source (Debian source package and version)."""
        d = os.path.dirname(path)
        while d not in ("/", ""):
            if os.path.exists(os.path.join(d, ".initkit-source")):
                return d
            d = os.path.dirname(d)
        return None

    origins = {}  # path -> Origin
    dpkg_paths = []
    trees = {}
    for p in files:
        pre = recorded_origin(p)
        if pre:
            if pre not in trees:
                meta = dict(line.split("=", 1) for line in
                            open(os.path.join(pre, ".initkit-source")).read().split("\n") if "=" in line)
                allfiles = [os.path.join(d, f) for d, _, fs in os.walk(pre) for f in fs]
                trees[pre] = (meta["source"], meta["debian-version"], allfiles)
            src, ver, allfiles = trees[pre]
            origins[p] = Origin(src, ver, allfiles, files[p][0])
        else:
            dpkg_paths.append(p)
    owner = {}

    def pick(pkgs):
        # "libhiredis-dev:arm64, libhiredis-dev:amd64": a multiarch file
        # shipped by the package of every architecture; take the target's.
        names = [x.strip() for x in pkgs.split(",")]
        return next((x for x in names if x.endswith(":" + arch)), names[0])

    if dpkg_paths:
        # dpkg knows a file by the path its package ships; the build may have
        # reached it through a symlinked directory.
        res = subprocess.run(["dpkg", "-S"] + dpkg_paths, capture_output=True, text=True)
        for line in res.stdout.splitlines():
            m = re.match(r"^(.+?): (/.*)$", line)
            if m and not line.startswith("diversion"):
                owner[m.group(2)] = pick(m.group(1))
        for p in dpkg_paths:
            if p not in owner:
                real = os.path.realpath(p)
                res = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True)
                m = re.match(r"^(.+?): /", res.stdout)
                if not m:
                    die(f"{p}: linked or compiled in, but no Debian package owns it")
                owner[p] = pick(m.group(1))
    pkg_info = {}
    for pkg in sorted(set(owner.values())):
        fields = sh("dpkg-query", "-W", "-f", "${Package}\t${source:Package}\t${source:Version}\t${Version}", pkg).split("\t")
        source, source_version, version = fields[1], fields[2], fields[3]
        name = pkg.split(":")[0]
        for rx, real in CROSS_ORIGIN:
            if rx.match(name):
                source = real
                source_version = re.sub(r"cross\d+$", "", version)
                break
        pkg_info[pkg] = (source, source_version, sh("dpkg", "-L", pkg).split("\n"))
    for p in dpkg_paths:
        source, sv, pfiles = pkg_info[owner[p]]
        origins[p] = Origin(source, sv, pfiles, files[p][0])

    # ---- components: one per source package --------------------------------
    comps = {}
    for p, o in origins.items():
        c = comps.setdefault(o.source, {"source": o.source, "versions": {}, "files": set(),
                                        "how": set(), "binaries": set(), "pkgfiles": {}})
        c["versions"].setdefault(o.how, set()).add(o.debian_version)
        c["files"].add(p)
        c["how"].add(o.how)
        # A header of a library that ships an archive (zlib.h, mysql.h: our
        # --version code reads their version macros) does not put that
        # library into a binary; only its archive members do. Header-only
        # libraries (no archive at all) are compiled in through headers.
        if o.how == "static library" or not any(f.endswith(".a") for f in o.files):
            c["binaries"] |= files[p][1]
        c["pkgfiles"].setdefault(o.how, set()).update(o.files)
    for src, c in comps.items():
        # The code that runs is the archive's: its version is the component's.
        # Headers of another Debian revision (the cross toolchain's copy of
        # glibc's headers) are recorded, not hidden.
        linked = c["versions"].get("static library", set())
        headers = c["versions"].get("header-only", set())
        if len(linked) > 1 or (not linked and len(headers) > 1):
            die(f"{src}: several versions linked: {sorted(linked or headers)}")
        c["debian"] = next(iter(linked or headers))
        c["header_versions"] = sorted(headers - {c["debian"]})
        c["pkgfiles"] = c["pkgfiles"].get("static library") or c["pkgfiles"].get("header-only")
    components = []
    bin_refs = {b: [] for b in binaries}
    for src in sorted(comps):
        c = comps[src]
        if not c["binaries"]:
            continue  # only its headers were read; no binary contains it
        if src not in LICENCES:
            die(f"Debian source package '{src}' is linked but has no licence in images/sbom.py's table")
        version = upstream_of(c["debian"])
        props = []
        if src in VERSION_HEADERS:
            hname, read = VERSION_HEADERS[src]
            hdrs = sorted(f for f in c["pkgfiles"] if os.path.basename(f) == hname and "/include/" in f)
            got = None
            for h in hdrs:
                got = read(read_defines(h))
                if got:
                    break
            if not got:
                die(f"{src}: no version in any {hname} of the package ({hdrs})")
            version = got
            if src == "mariadb":
                # mysql_get_client_info() reports the server series the
                # connector was released with, not the connector's version.
                for h in hdrs:
                    cv = read_defines(h).get("MARIADB_CLIENT_VERSION_STR")
                    if cv:
                        props.append({"name": "initkit:client-info-version", "value": cv})
                        break
        for hv in c["header_versions"]:
            props.append({"name": "initkit:headers-debian-source-version", "value": hv})
        name = NAMES.get(src, src)
        ref = f"{name}@{version}"
        comp = {
            "type": "library",
            "bom-ref": ref,
            "name": name,
            "version": version,
            "licenses": [{"expression": LICENCES[src]}] if " " in LICENCES[src]
            else [{"license": {"id": LICENCES[src]}}],
            "purl": f"pkg:deb/debian/{src}@{c['debian']}?arch=source&distro=debian-12",
            "properties": props + [
                {"name": "initkit:debian-source-package", "value": src},
                {"name": "initkit:debian-source-version", "value": c["debian"]},
                {"name": "initkit:linkage", "value": ", ".join(sorted(c["how"]))},
            ] + [{"name": "initkit:linked-file", "value": f} for f in sorted(c["files"])
                 if f.endswith((".a", ".o"))],
        }
        if src in CPES:
            comp["cpe"] = f"cpe:2.3:a:{CPES[src]}:{version}:*:*:*:*:*:*:*"
        components.append(comp)
        for b in c["binaries"]:
            bin_refs[b].append(ref)

    platform = {"amd64": "linux/amd64", "arm64": "linux/arm64"}.get(arch, arch)
    apps = []
    for b in binaries:
        data = open(os.path.join(out, "bin", b), "rb").read()
        apps.append({
            "type": "application",
            "bom-ref": b,
            "name": b,
            "version": project_version,
            "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(data).hexdigest()}],
            "properties": [{"name": "initkit:path", "value": f"/bin/{b}"},
                           {"name": "initkit:size", "value": str(len(data))},
                           {"name": "initkit:commit", "value": commit}],
        })
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        # The same build inputs give the same document: serial from the content.
        "serialNumber": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"initkit/{commit}/{arch}/" +
                                                     json.dumps(components, sort_keys=True) +
                                                     json.dumps(apps, sort_keys=True))),
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "initkit images/sbom.py",
                                      "version": project_version}]},
            "component": {"type": "container", "bom-ref": "initkit", "name": "initkit",
                          "version": project_version,
                          "properties": [{"name": "initkit:commit", "value": commit},
                                         {"name": "initkit:platform", "value": platform}]},
        },
        "components": apps + components,
        "dependencies": [{"ref": "initkit", "dependsOn": binaries}] +
                        [{"ref": b, "dependsOn": sorted(bin_refs[b])} for b in binaries] +
                        [{"ref": c["bom-ref"], "dependsOn": []} for c in components],
    }
    if created:
        bom["metadata"]["timestamp"] = created
    tmp = dest + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(bom, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, dest)


if __name__ == "__main__":
    main()
