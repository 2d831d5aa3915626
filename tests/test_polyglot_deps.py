"""Polyglot's offline dependencies: Cargo requirements, build.gradle declarations, the --deps
directories, substitutes and the build failures that mean a library is missing (no execution)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from hrmcode.benchmarks.polyglot.toolchains import explain_build_failure
from hrmcode.languages.polyglot_deps import (
    Needs,
    OfflineDeps,
    cargo_dependencies,
    gradle_dependencies,
    req_matches,
    resolve_java,
    resolve_rust,
    rewrite_cargo_requirement,
    same_series_floor,
)


@pytest.mark.parametrize(("req", "version", "ok"), [
    ("0.4.4", "0.4.3", False), ("0.4.4", "0.4.9", True), ("0.4.4", "0.5.0", False), ("0.2", "1.7.1", False),
    ("1.0", "1.0.38", True), ("1", "1.9.0", True), ("1", "2.0.0", False), ("0.0.3", "0.0.4", False),
    ("^0", "0.9.9", True), ("~1.2.3", "1.2.9", True), ("~1.2.3", "1.3.0", False), ("=1.2", "1.2.9", True),
    ("=1.2.3", "1.2.4", False), (">=1, <2", "1.5.0", True), (">=1, <2", "2.0.0", False), ("<1.2", "1.1.9", True),
    ("<=1.2", "1.2.7", True), (">1.2", "1.2.9", False), (">1.2", "1.3.0", True), ("*", "3.0.0", True),
    ("1.*", "1.9.0", True), ("1.2.*", "1.3.0", False), ("1.0", "1.1.0-beta.1", False), ("1.1.0-beta.1", "1.1.0-beta.1", True),
])
def test_cargo_requirements_match_as_cargo_does(req, version, ok):
    assert req_matches(req, version) is ok


def test_a_substitute_stays_inside_the_semver_compatible_series():
    assert same_series_floor("0.4.4") == ((0, 4, 0), (0, 4, 4))
    assert same_series_floor("1.2") == ((1, 0, 0), (1, 2, 0))
    assert same_series_floor("0.0.3") == ((0, 0, 3), (0, 0, 3))  # 0.0.x: no older release is compatible
    assert same_series_floor(">=1.2") is None and same_series_floor("~1.2") is None
    assert same_series_floor("1.2, <1.5") is None


CARGO = """[package]
edition = "2021"
name = "decimal"
version = "0.1.0"

[dependencies]
num-bigint = "0.4.4"
"num-traits" = { version = "0.2.16", default-features = false }
local = { path = "../local" }

[dev-dependencies.rand]
version = "0.8"

[target.'cfg(unix)'.dependencies]
libc = { git = "https://example.org/libc" }
"""


def test_cargo_dependencies_and_rewriting_one_requirement():
    deps = {d.crate: d for d in cargo_dependencies(CARGO)}
    assert set(deps) == {"num-bigint", "num-traits", "rand", "libc"}  # path dependencies are local
    assert (deps["num-traits"].req, deps["rand"].table, deps["libc"].source) == ("0.2.16", "dev-dependencies", "git")
    assert deps["libc"].table == "target.cfg(unix).dependencies"
    new = rewrite_cargo_requirement(CARGO, deps["num-traits"], "0.2.15")
    assert new is not None and 'version = "0.2.15", default-features = false' in new
    assert new.replace("0.2.15", "0.2.16") == CARGO  # nothing else moved
    rand = rewrite_cargo_requirement(CARGO, deps["rand"], "0.8.5")
    assert rand is not None and '[dev-dependencies.rand]\nversion = "0.8.5"' in rand
    assert rewrite_cargo_requirement(CARGO.replace('num-bigint = "0.4.4"', ""), deps["num-bigint"], "0.4.3") is None


def _crate(root: Path, name: str, version: str, checksum: bool = True) -> Path:
    d = root / f"{name}-{version}"
    d.mkdir(parents=True)
    (d / "Cargo.toml").write_text(f'[package]\nname = "{name}"\nversion = "{version}"\n')
    if checksum:
        (d / ".cargo-checksum.json").write_text('{"files": {}, "package": null}')
    return d


def test_rust_resolution_substitutes_or_names_the_missing_crate(tmp_path):
    registry, mine = tmp_path / "debian", tmp_path / "mine"
    _crate(registry, "num-bigint", "0.4.3")
    _crate(registry, "num-traits", "0.2.15")
    _crate(registry, "rand", "0.8.5")
    _crate(mine, "itertools", "0.5.10")
    _crate(mine, "unchecked", "1.0.0", checksum=False)  # cargo would refuse it: skipped
    offline = OfflineDeps([mine], cargo_registry=registry, maven_repo=tmp_path / "none")
    assert set(offline.crates) == {"num-bigint", "num-traits", "rand", "itertools"} and offline.user_crates == 1
    work = tmp_path / "work"
    work.mkdir()
    (work / "Cargo.toml").write_text(CARGO)
    needs = resolve_rust(offline, {"Cargo.toml": CARGO}, work)
    # The git crate cannot come offline; the two older releases of the same series are substitutes.
    assert len(needs.unavailable) == 1 and "crate `libc` from git" in needs.unavailable[0]
    assert [s.split(" (")[0] for s in needs.substitutes] == ["crate num-bigint 0.4.4 → 0.4.3",
                                                             "crate num-traits 0.2.16 → 0.2.15"]
    assert 'num-bigint = "0.4.3"' in needs.rewrites["Cargo.toml"] and '"0.2.15"' in needs.rewrites["Cargo.toml"]
    old = CARGO.replace('num-bigint = "0.4.4"', 'itertools = "0.5"\nregex = "0.2"').split("[target")[0]
    needs = resolve_rust(offline, {"Cargo.toml": old}, work)
    assert needs.unavailable == ["crate `regex` 0.2 (offline versions: none); put it in a --deps directory "
                                 "(`cargo vendor --versioned-dirs`)"]
    # A candidate that rewrote Cargo.toml gets no rewrite (and is not made unavailable by it).
    (work / "Cargo.toml").write_text(CARGO.split("[target")[0] + "\n# mine\n")
    needs = resolve_rust(offline, {"Cargo.toml": CARGO.split("[target")[0]}, work)
    assert needs.unavailable == [] and needs.rewrites == {} and needs.substitutes == []
    # The merged registry: one cargo directory source over both, by symlinks, made once.
    merged = offline.merged_registry(tmp_path / "cache")
    assert merged is not None and sorted(p.name for p in merged.iterdir()) == [
        "itertools-0.5.10", "num-bigint-0.4.3", "num-traits-0.2.15", "rand-0.8.5"]
    assert (merged / "itertools-0.5.10").resolve() == (mine / "itertools-0.5.10").resolve()
    assert offline.merged_registry(tmp_path / "cache") == merged
    assert OfflineDeps([], cargo_registry=registry).merged_registry(tmp_path / "cache") == registry


GRADLE = """plugins { id "java" }
dependencies {
    implementation "io.reactivex.rxjava2:rxjava:2.2.12"
    implementation "org.json:json:20190722"
    // implementation "commented:out:1.0"
    testImplementation platform("org.junit:junit-bom:5.10.0")
    testImplementation "org.junit.jupiter:junit-jupiter"
    testImplementation "org.assertj:assertj-core:3.25.1"
    implementation group: 'org.example', name: 'mapped', version: '2.0'
}
"""


def _jar(path: Path, classes: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for c in classes:
            z.writestr(c, b"\xca\xfe\xba\xbe")
    return path


def test_gradle_declarations_resolve_to_jars_from_deps_then_debian(tmp_path):
    assert gradle_dependencies(GRADLE) == [
        ("io.reactivex.rxjava2", "rxjava", "2.2.12"), ("org.json", "json", "20190722"),
        ("org.junit.jupiter", "junit-jupiter", None), ("org.assertj", "assertj-core", "3.25.1"),
        ("org.example", "mapped", "2.0")]
    repo = tmp_path / "maven-repo"
    _jar(repo / "org/json/json/20180130/json-20180130.jar", ["org/json/JSONObject.class"])
    _jar(repo / "org/assertj/assertj-core/3.14.0/assertj-core-3.14.0.jar",
         ["org/assertj/core/api/ObjectArrayAssert.class"])
    (repo / "org/assertj/assertj-core/debian").mkdir()
    mine = tmp_path / "jars"
    _jar(mine / "lib" / "mapped-2.0.jar", ["org/example/Mapped.class"])
    _jar(mine / "reactive-streams-1.0.2.jar", ["org/reactivestreams/Publisher.class"])
    runner = tmp_path / "junit-console.jar"
    needs = resolve_java(OfflineDeps([mine], maven_repo=repo, cargo_registry=tmp_path / "none"), {"build.gradle": GRADLE},
                         [runner], [])
    assert len(needs.unavailable) == 1 and needs.unavailable[0].startswith("io.reactivex.rxjava2:rxjava:2.2.12 (no jar")
    assert [s.split(" (")[0] for s in needs.substitutes] == ["org.json:json:20190722 → 20180130",
                                                             "org.assertj:assertj-core:3.25.1 → 3.14.0"]
    cp = needs.env["HRMCODE_CP"].split(":")
    assert cp[0] == str(runner) and str(mine / "lib" / "mapped-2.0.jar") in cp
    assert str(mine / "reactive-streams-1.0.2.jar") in cp  # every --deps jar: transitive ones come along
    # The declared version in a --deps directory wins over Debian's older one.
    _jar(mine / "assertj-core-3.25.1.jar", ["org/assertj/core/api/ObjectArrayAssert.class"])
    needs = resolve_java(OfflineDeps([mine], maven_repo=repo), {"build.gradle": GRADLE}, [runner], [])
    assert not any("assertj" in s for s in needs.substitutes) and str(mine / "assertj-core-3.25.1.jar") in \
        needs.env["HRMCODE_CP"]
    with pytest.raises(FileNotFoundError, match="--deps .*nope: not a directory"):
        OfflineDeps([tmp_path / "nope"])


JAVAC_LOG = """src/test/java/MazeGeneratorTest.java:47: error: cannot find symbol
                .hasDimensions(expectedHeight, expectedWidth);
                ^
  symbol:   method hasDimensions(int,int)
  location: class ObjectArrayAssert<char[]>
1 error
"""


def test_a_build_failure_is_unavailable_only_when_a_missing_library_caused_it(tmp_path):
    jar = _jar(tmp_path / "assertj-core-3.14.0.jar", ["org/assertj/core/api/ObjectArrayAssert.class"])
    needs = Needs(older_jars=[("org.assertj:assertj-core:3.25.1", "3.14.0", jar)])
    pristine = ["src/test/java/MazeGeneratorTest.java"]
    why = explain_build_failure("java", JAVAC_LOG, needs, pristine)
    assert why is not None and why.startswith("org.assertj:assertj-core:3.25.1: the offline 3.14.0 lacks "
                                              "ObjectArrayAssert.hasDimensions")
    # A symbol missing from the candidate's own class, an edited test file, or no older jar: a compile_error.
    mine = JAVAC_LOG.replace("ObjectArrayAssert<char[]>", "MazeGenerator")
    assert explain_build_failure("java", mine, needs, pristine) is None
    assert explain_build_failure("java", JAVAC_LOG, needs, []) is None
    assert explain_build_failure("java", JAVAC_LOG, needs, pristine, ["ObjectArrayAssert"]) is None
    assert explain_build_failure("java", JAVAC_LOG, Needs(), pristine) is None
    cargo = "error: no matching package named `counter` found\nlocation searched: directory source `/x`\n"
    assert "crate counter" in str(explain_build_failure("rust", cargo, Needs(), ["Cargo.toml"]))
    assert explain_build_failure("rust", cargo, Needs(), []) is None  # the candidate edited Cargo.toml
    assert explain_build_failure("python", json.dumps(cargo), Needs(), ["Cargo.toml"]) is None
