"""Offline dependencies of Polyglot exercises: Rust crates, Java jars, npm packages.

An exercise's build files declare libraries (Rust ``Cargo.toml`` ``[dependencies]``, Java
``build.gradle`` ``implementation``/``testImplementation``, JavaScript ``package.json``
``dependencies``). Offline, each must come from a local source:

* Rust — Debian's crate registry (``/usr/share/cargo/registry``, the ``librust-*-dev`` packages
  ``make`` installs) plus the crate directories in ``--deps DIR`` (``cargo vendor --versioned-dirs``
  output: one directory per crate with its ``Cargo.toml`` and ``.cargo-checksum.json``), merged
  into one cargo directory source;
* Java — the jars in ``--deps DIR`` (searched recursively; every one goes on the classpath, so
  transitive jars come along) then Debian's Maven repository (``/usr/share/maven-repo``, the
  ``lib*-java`` packages); JUnit is the test runner's own (the console launcher);
* JavaScript — the shared jest install (``make polyglot-js``).

A requirement no local version satisfies makes the exercise ``unavailable``, naming the
dependency, what is here and how to add it. Two kinds of *substitute* are allowed, each reported
per exercise: a Rust caret requirement met by an older release of the same semver-compatible
series (``num-bigint = "0.4.4"`` built with Debian's 0.4.3: the requirement in the work copy's
``Cargo.toml`` is rewritten to the version used), and a Java artifact at another version than
declared (Debian's AssertJ 3.14.0 for 3.25.1; Debian's ``org.json`` 20180130 — Android's
re-implementation of the API — for 20190722). When a substitute turns out to lack something the
pristine tests use (``javac``: a symbol missing from one of its classes), the exercise is
``unavailable`` too. Availability is always judged on the exercise's own declarations (its stub
build files, or the reference's for ``--reference``), never on candidate-written files, so a
candidate cannot make itself ``unavailable`` (and excluded by ``--exclude-unavailable``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

DEBIAN_CARGO_REGISTRY = Path("/usr/share/cargo/registry")
DEBIAN_MAVEN_REPO = Path("/usr/share/maven-repo")
CARGO_DEP_TABLES = ("dependencies", "dev-dependencies", "build-dependencies")
# Build files whose declarations decide availability (the model never edits them).
DECLARATION_FILES = ("Cargo.toml", "build.gradle", "package.json")
# Java groups the test runner itself provides (the JUnit console launcher bundles Jupiter).
JAVA_RUNNER_GROUPS = ("org.junit", "org.junit.jupiter", "org.junit.platform", "org.junit.vintage")


@dataclass
class Needs:
    """An exercise's declared dependencies, resolved against what is offline here."""

    unavailable: list[str] = field(default_factory=list)  # each names the dependency and what to do
    substitutes: list[str] = field(default_factory=list)  # "num-bigint 0.4.4 → 0.4.3 (...)"
    env: dict[str, str] = field(default_factory=dict)  # extra jail environment (Java's classpath)
    rewrites: dict[str, str] = field(default_factory=dict)  # work-copy files rewritten (Cargo.toml)
    older_jars: list[tuple[str, str, Path]] = field(default_factory=list)  # (coordinate, version used, jar)


# ---- versions and Cargo requirements -----------------------------------------------------------

_PARTIAL = re.compile(r"^v?(\d+|\*|x|X)(?:\.(\d+|\*|x|X))?(?:\.(\d+|\*|x|X))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_OP = re.compile(r"^\s*(\^|~|=|>=|<=|>|<)?\s*(.+?)\s*$")

V3 = tuple[int, int, int]


def parse_version(text: str) -> tuple[V3, str] | None:
    """A full semver version → ((major, minor, patch), pre-release); None when it is not one."""
    m = _PARTIAL.match(text.strip())
    if not m or any(g is None or not g.isdigit() for g in m.group(1, 2, 3)):
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))), m.group(4) or ""


def _bump(major: int, minor: int | None, patch: int | None) -> V3:
    """The first version above a partial one (``=1.2`` ends before 1.3.0)."""
    if minor is None:
        return (major + 1, 0, 0)
    if patch is None:
        return (major, minor + 1, 0)
    return (major, minor, patch + 1)


def _comparator(text: str) -> tuple[V3 | None, V3 | None, str]:
    """One comparator → [low, high) bounds (None: open) and its operator (cargo's semantics)."""
    m = _OP.match(text)
    if not m:
        raise ValueError(f"not a version requirement: {text!r}")
    op, ver = m.group(1) or "^", m.group(2)
    if ver in ("*", "x", "X"):
        return None, None, "*"
    pm = _PARTIAL.match(ver)
    if not pm:
        raise ValueError(f"not a version requirement: {text!r}")
    parts = [None if g is None or not g.isdigit() else int(g) for g in pm.group(1, 2, 3)]
    if parts[0] is None:
        return None, None, "*"
    major, minor, patch = parts
    if pm.group(2) is not None and minor is None:  # 1.* → =1
        op, patch = "=", None
    elif pm.group(3) is not None and patch is None:  # 1.2.* → =1.2
        op = "="
    low: V3 = (major, minor or 0, patch or 0)  # type: ignore[assignment]
    if op == "^":
        if major > 0 or minor is None:
            return low, (major + 1, 0, 0), op
        if minor > 0 or patch is None:
            return low, (0, minor + 1, 0), op
        return low, (0, 0, patch + 1), op  # type: ignore[operator]
    if op == "~":
        return low, (major + 1, 0, 0) if minor is None else (major, minor + 1, 0), op
    if op == "=":
        return low, _bump(major, minor, patch), op  # type: ignore[arg-type]
    if op == ">=":
        return low, None, op
    if op == ">":
        return _bump(major, minor, patch), None, op  # type: ignore[arg-type]
    if op == "<":
        return None, low, op
    return None, _bump(major, minor, patch), op  # <=  # type: ignore[arg-type]


def req_matches(req: str, version: str) -> bool:
    """Whether ``version`` satisfies the Cargo requirement ``req`` (comma-separated comparators).

    Pre-release versions only match a requirement that names a pre-release (as cargo does).
    """
    v = parse_version(version)
    if v is None:
        return False
    if v[1] and "-" not in req:
        return False
    for part in req.split(","):
        low, high, _ = _comparator(part)
        if low is not None and v[0] < low:
            return False
        if high is not None and v[0] >= high:
            return False
    return True


def same_series_floor(req: str) -> tuple[V3, V3] | None:
    """For a single caret requirement, its semver-compatible series [series start, its minimum):
    ``0.4.4`` → ((0, 4, 0), (0, 4, 4)). None for anything else (no substitute is tried)."""
    if "," in req:
        return None
    low, high, op = _comparator(req)
    if op != "^" or low is None or high is None:
        return None
    start = (low[0], 0, 0) if low[0] > 0 else (0, low[1], 0) if low[1] > 0 else (0, 0, low[2])
    return start, low


# ---- Rust ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CargoDep:
    table: str  # "dependencies", "dev-dependencies", "target.'cfg(unix)'.dependencies"…
    key: str  # the name in the table
    crate: str  # the crate (``package = "..."`` renames)
    req: str
    source: str = "registry"  # registry | git


def cargo_dependencies(text: str) -> list[CargoDep]:
    """The registry and git dependencies a Cargo.toml declares (path and workspace ones are local)."""
    data = tomllib.loads(text)
    tables: list[tuple[str, object]] = [(t, data.get(t)) for t in CARGO_DEP_TABLES]
    for target, spec in (data.get("target") or {}).items():
        if isinstance(spec, dict):
            tables += [(f"target.{target}.{t}", spec.get(t)) for t in CARGO_DEP_TABLES]
    out = []
    for tname, tbl in tables:
        if not isinstance(tbl, dict):
            continue
        for key, val in tbl.items():
            if isinstance(val, str):
                out.append(CargoDep(tname, key, key, val))
            elif isinstance(val, dict):
                if "path" in val or val.get("workspace"):
                    continue
                out.append(CargoDep(tname, key, str(val.get("package", key)), str(val.get("version", "*")),
                                    "git" if "git" in val else "registry"))
    return out


def rewrite_cargo_requirement(text: str, dep: CargoDep, new_req: str) -> str | None:
    """``text`` with ``dep``'s requirement replaced by ``new_req`` (line-based, the rest untouched);
    None when the line was not found or the result does not parse to the new requirement."""
    lines = text.splitlines(keepends=True)
    header = ""
    key_pat = re.compile(r"^\s*[\"']?" + re.escape(dep.key) + r"[\"']?\s*=")
    ver_in_line = re.compile(r"([\"'])" + re.escape(dep.req) + r"\1")
    done = False
    for i, line in enumerate(lines):
        h = re.match(r"^\s*\[([^\[\]]+)\]\s*(?:#.*)?$", line)
        if h:
            header = re.sub(r"\s+", "", h.group(1)).replace('"', "").replace("'", "")
            continue
        plain = dep.table.replace('"', "").replace("'", "").replace(" ", "")
        if (header == plain and key_pat.match(line)) or (
                header == f"{plain}.{dep.key}" and re.match(r"^\s*version\s*=", line)):
            new = ver_in_line.sub(lambda m: f"{m.group(1)}{new_req}{m.group(1)}", line, count=1)
            if new != line:
                lines[i] = new
                done = True
                break
    if not done:
        return None
    out = "".join(lines)
    try:
        if not any(d.crate == dep.crate and d.req == new_req for d in cargo_dependencies(out)):
            return None
    except tomllib.TOMLDecodeError:
        return None
    return out


# ---- the offline sources ------------------------------------------------------------------------


def _crate_id(crate_dir: Path) -> tuple[str, str] | None:
    try:
        pkg = tomllib.loads((crate_dir / "Cargo.toml").read_text(encoding="utf-8")).get("package") or {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    name, version = pkg.get("name"), pkg.get("version")
    return (name, version) if isinstance(name, str) and isinstance(version, str) else None


def _maven_version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v)) or (-1,)


@functools.cache
def jar_classes(jar: Path) -> frozenset[str]:
    """The simple names of the classes in a jar (nested classes by their own name)."""
    try:
        with zipfile.ZipFile(jar) as z:
            return frozenset(n.rsplit("/", 1)[-1][:-6].rsplit("$", 1)[-1] for n in z.namelist() if n.endswith(".class"))
    except (OSError, zipfile.BadZipFile):
        return frozenset()


class OfflineDeps:
    """What this machine has offline: Debian's crate registry and Maven repository, plus the
    user's ``--deps`` directories (jars anywhere below them, crate directories right inside)."""

    def __init__(self, dirs: Sequence[str | Path] = (), *, cargo_registry: Path = DEBIAN_CARGO_REGISTRY,
                 maven_repo: Path = DEBIAN_MAVEN_REPO):
        self.dirs = []
        for d in dirs:
            p = Path(d).expanduser()
            if not p.is_dir():
                raise FileNotFoundError(f"--deps {d}: not a directory (expected jars and/or crate directories)")
            self.dirs.append(p.resolve())
        self.cargo_registry = cargo_registry
        self.maven_repo = maven_repo

    # -- Rust --
    @functools.cached_property
    def crates(self) -> dict[str, dict[str, Path]]:
        """crate name → version → its directory (the user's win over Debian's)."""
        out: dict[str, dict[str, Path]] = {}
        self._user_crates = 0
        sources = [*self.dirs, self.cargo_registry] if self.cargo_registry.is_dir() else list(self.dirs)
        for src in sources:
            for d in sorted(src.iterdir()):
                if not (d / "Cargo.toml").is_file():
                    continue
                if not (d / ".cargo-checksum.json").is_file():
                    log.warning("polyglot: %s: no .cargo-checksum.json (cargo needs one: use `cargo vendor`), skipped", d)
                    continue
                cid = _crate_id(d)
                if cid and cid[1] not in out.get(cid[0], {}):
                    out.setdefault(cid[0], {})[cid[1]] = d
                    self._user_crates += src in self.dirs
        return out

    @property
    def user_crates(self) -> int:
        """How many crates the ``--deps`` directories add."""
        return self._user_crates if self.crates else 0

    def merged_registry(self, cache_root: Path) -> Path | None:
        """One cargo directory source over every crate (symlinks), or Debian's own when the user
        gave no crates; None when there is none at all."""
        if not self.user_crates:
            return self.cargo_registry if self.cargo_registry.is_dir() else None
        entries = sorted((f"{n}-{v}", str(p)) for n, vs in self.crates.items() for v, p in vs.items())
        key = hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]
        root = cache_root / "polyglot-rust" / f"registry-{key}"
        if root.is_dir():
            return root
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".registry-", dir=root.parent))
        for name, target in entries:
            os.symlink(target, tmp / name)
        tmp.chmod(0o755)
        try:
            tmp.rename(root)
        except OSError:  # another run made it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
        return root

    def resolve_crate(self, dep: CargoDep) -> tuple[str | None, str | None, str | None]:
        """(version that satisfies, or None; a same-series older substitute, or None; why not)."""
        have = self.crates.get(dep.crate, {})
        ok = sorted((v for v in have if req_matches(dep.req, v)), key=lambda v: parse_version(v) or ((0, 0, 0), ""))
        if ok:
            return ok[-1], None, None
        floor = same_series_floor(dep.req)
        if floor:
            older = sorted((v for v in have if (pv := parse_version(v)) and not pv[1] and floor[0] <= pv[0] < floor[1]),
                           key=lambda v: parse_version(v) or ((0, 0, 0), ""))
            if older:
                return None, older[-1], None
        here = ", ".join(sorted(have, key=lambda v: parse_version(v) or ((0, 0, 0), ""))) or "none"
        return None, None, f"crate `{dep.crate}` {dep.req} (offline versions: {here})"

    # -- Java --
    @functools.cached_property
    def user_jars(self) -> list[Path]:
        return sorted(p for d in self.dirs for p in d.rglob("*.jar") if p.is_file())

    def resolve_jar(self, group: str, artifact: str, version: str | None) -> tuple[Path | None, str | None]:
        """(the jar, the version it is when that differs from the declared one) — user's first."""
        pat = re.compile(re.escape(artifact) + r"(?:-(\d[\w.+-]*))?\.jar$")
        mine = [(m.group(1), p) for p in self.user_jars if (m := pat.fullmatch(p.name))]
        if mine:
            exact = [p for v, p in mine if v == version]
            if exact or not version:
                return (exact or [mine[0][1]])[0], None
            v, p = max(mine, key=lambda vp: _maven_version_key(vp[0] or ""))
            return p, v or "unknown"
        base = self.maven_repo.joinpath(*group.split("."), artifact)
        if not base.is_dir():
            return None, None
        versions = [d.name for d in base.iterdir() if d.is_dir() and not d.name.startswith("debian")
                    and (d / f"{artifact}-{d.name}.jar").is_file()]
        if not versions:
            return None, None
        use = version if version in versions else max(versions, key=_maven_version_key)
        return (base / use / f"{artifact}-{use}.jar").resolve(), None if use == version or not version else use

    def jail_paths(self) -> list[str]:
        return [str(d) for d in self.dirs]


# ---- per language -------------------------------------------------------------------------------

_GRADLE_DEP = re.compile(r"""^\s*(\w+)\s*\(?\s*(platform\s*\(\s*)?["']([^"':\s]+):([^"':\s]+)(?::([^"'\s]+))?["']""", re.M)
_GRADLE_MAP_DEP = re.compile(r"""^\s*(\w+)\s*\(?\s*group\s*:\s*["']([^"']+)["']\s*,\s*name\s*:\s*["']([^"']+)["']"""
                             r"""(?:\s*,\s*version\s*:\s*["']([^"']+)["'])?""", re.M)
_GRADLE_CONFIGS = {"implementation", "api", "compile", "compileOnly", "runtimeOnly", "testImplementation",
                   "testCompile", "testCompileOnly", "testRuntimeOnly"}


def gradle_dependencies(text: str) -> list[tuple[str, str, str | None]]:
    """(group, artifact, version) of the libraries a build.gradle declares (BOM platforms left out)."""
    text = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)
    out = [(m.group(3), m.group(4), m.group(5)) for m in _GRADLE_DEP.finditer(text)
           if m.group(1) in _GRADLE_CONFIGS and not m.group(2)]
    out += [(m.group(2), m.group(3), m.group(4)) for m in _GRADLE_MAP_DEP.finditer(text) if m.group(1) in _GRADLE_CONFIGS]
    return out


def resolve_rust(deps: OfflineDeps, declared: dict[str, str], work: Path) -> Needs:
    """Check the declared Cargo.toml; rewrite same-series substitutes into the work copy's (when it
    is the declared one, i.e. the candidate left it alone)."""
    needs = Needs()
    text = declared.get("Cargo.toml")
    if text is None:
        return needs
    try:
        wanted = cargo_dependencies(text)
    except tomllib.TOMLDecodeError:
        return needs  # cargo reports it (a compile_error)
    work_toml = work / "Cargo.toml"
    current = work_toml.read_text(encoding="utf-8") if work_toml.is_file() else None
    for dep in wanted:
        if dep.source == "git":
            needs.unavailable.append(f"crate `{dep.crate}` from git (no network offline); put it in a --deps directory "
                                     "(`cargo vendor --versioned-dirs`)")
            continue
        ok, older, why = deps.resolve_crate(dep)
        if ok:
            continue
        if older:
            if current != text:
                continue  # the candidate rewrote Cargo.toml: cargo judges it (a compile_error if it fails)
            new = rewrite_cargo_requirement(text, dep, older)
            if new is not None:
                needs.substitutes.append(f"crate {dep.crate} {dep.req} → {older} (an older release of the same "
                                         "semver-compatible series; the requirement rewritten in the copy)")
                current = text = new
                needs.rewrites["Cargo.toml"] = new
                continue
            why = f"crate `{dep.crate}` {dep.req} (offline: {older} only, and the requirement could not be rewritten)"
        needs.unavailable.append(f"{why}; put it in a --deps directory (`cargo vendor --versioned-dirs`)")
    return needs


def resolve_java(deps: OfflineDeps, declared: dict[str, str], runner_jars: Sequence[Path],
                 default_jars: Sequence[Path]) -> Needs:
    """The classpath (``HRMCODE_CP``) for the libraries the declared build.gradle names: the runner's
    jars, the declared libraries, every ``--deps`` jar, then ``default_jars`` (Debian's AssertJ, what
    Exercism's tests use), each only when no jar of the same artifact came before it."""
    needs = Needs()
    text = declared.get("build.gradle")
    jars: list[Path] = list(runner_jars)
    if text is not None:
        for group, artifact, version in gradle_dependencies(text):
            coord = f"{group}:{artifact}" + (f":{version}" if version else "")
            if group.startswith(JAVA_RUNNER_GROUPS):
                continue
            jar, other = deps.resolve_jar(group, artifact, version)
            if jar is None:
                needs.unavailable.append(f"{coord} (no jar offline: not in --deps directories, not packaged by "
                                         "Debian); put its jars in a --deps directory")
                continue
            if other:
                needs.substitutes.append(f"{coord} → {other} ({jar})")
                if _maven_version_key(other) < _maven_version_key(version or ""):
                    needs.older_jars.append((coord, other, jar))
            jars.append(jar)
    jars += deps.user_jars
    stem = re.compile(r"-\d[\w.+-]*$")
    have = {stem.sub("", j.stem) for j in jars}
    jars += [j for j in default_jars if j.is_file() and stem.sub("", j.resolve().stem) not in have
             and stem.sub("", j.stem) not in have]
    seen: list[str] = []
    for j in map(str, jars):
        if j not in seen:
            seen.append(j)
    needs.env["HRMCODE_CP"] = ":".join(seen)
    return needs


def resolve_javascript(stack: Path, declared: dict[str, str]) -> Needs:
    """Runtime ``dependencies`` of the declared package.json must be in the shared jest install."""
    needs = Needs()
    text = declared.get("package.json")
    if not text:
        return needs
    try:
        pkg = json.loads(text)
    except json.JSONDecodeError:
        return needs
    for name in (pkg.get("dependencies") or {}) if isinstance(pkg, dict) else {}:
        if not (stack / "node_modules" / name / "package.json").is_file():
            needs.unavailable.append(f"npm package `{name}` (not in the shared jest install {stack}); add it to "
                                     "hrmcode/benchmarks/polyglot/polyglot_js/package.json")
    return needs


__all__ = ["DECLARATION_FILES", "CargoDep", "Needs", "OfflineDeps", "cargo_dependencies", "gradle_dependencies",
           "jar_classes", "parse_version", "req_matches", "resolve_java", "resolve_javascript", "resolve_rust",
           "rewrite_cargo_requirement", "same_series_floor"]
