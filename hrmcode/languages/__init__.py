"""One file per language; this registry maps names to instances.

Every module of this package that defines a concrete :class:`Language` registers it: a seventh
language is one new file, ``hrmcode/languages/<name>.py``, and nothing else changes. The rest of
the package iterates over :data:`LANGUAGES` (the records validate ``language`` fields against the
same names). :func:`register` adds a language defined elsewhere (a plugin, a test).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import PurePosixPath

from hrmcode.languages.base import Language, VType, parse_type
from hrmcode.records import LANGUAGES as NAMES

# Modules of this package that hold shared code, not a language.
_SHARED = frozenset({"base", "units", "toolchain", "polyglot_deps"})

LANGUAGES: dict[str, Language] = {}


def register(lang: Language) -> Language:
    """Make ``lang`` a language of hrmcode (records, the harness, the benchmarks, the CLI); returns it."""
    if not lang.name or not lang.name.replace("_", "").isalnum() or lang.name != lang.name.lower():
        raise ValueError(f"language name {lang.name!r}: lowercase letters, digits and _ only")
    LANGUAGES[lang.name] = lang
    order = sorted(LANGUAGES.values(), key=lambda x: (x.order, x.name))
    LANGUAGES.clear()
    LANGUAGES.update((x.name, x) for x in order)
    for name in list(NAMES):
        NAMES.remove(name)
    for name in LANGUAGES:
        NAMES.add(name)
    return lang


def unregister(name: str) -> None:
    """Remove a language :func:`register` added (a test's throwaway language)."""
    LANGUAGES.pop(name, None)
    NAMES.remove(name)


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name in _SHARED or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if (inspect.isclass(obj) and issubclass(obj, Language) and not inspect.isabstract(obj)
                    and obj.__module__ == module.__name__):
                register(obj())


_discover()


def get_language(name: str) -> Language:
    try:
        return LANGUAGES[name]
    except KeyError:
        raise ValueError(f"unknown language {name!r}: expected one of {', '.join(LANGUAGES)}") from None


def language_of_path(path: str) -> str | None:
    """The registered language whose source files have the suffix of ``path`` (``x.rs`` → rust)."""
    suffix = PurePosixPath(path).suffix
    return next((lang.name for lang in LANGUAGES.values() if suffix in lang.suffixes), None)


def language_of_fence(info: str) -> str | None:
    """The registered language a code fence's info string names (```py, ```golang, ```c++)."""
    info = info.lower()
    return next((lang.name for lang in LANGUAGES.values() if info in (lang.name, lang.fence, *lang.fence_aliases)),
                None)


__all__ = ["LANGUAGES", "Language", "VType", "get_language", "language_of_fence", "language_of_path", "parse_type",
           "register", "unregister"]
