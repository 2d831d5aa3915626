"""One file per language; this registry maps names to instances."""

from __future__ import annotations

from hrmcode.languages.base import Language, VType, parse_type
from hrmcode.languages.cpp import Cpp
from hrmcode.languages.go import Go
from hrmcode.languages.java import Java
from hrmcode.languages.javascript import JavaScript
from hrmcode.languages.python import Python
from hrmcode.languages.rust import Rust

LANGUAGES: dict[str, Language] = {
    lang.name: lang for lang in (Python(), JavaScript(), Java(), Cpp(), Go(), Rust())
}


def get_language(name: str) -> Language:
    try:
        return LANGUAGES[name]
    except KeyError:
        raise ValueError(f"unknown language {name!r}: expected one of {', '.join(LANGUAGES)}") from None


__all__ = ["LANGUAGES", "Language", "VType", "get_language", "parse_type"]
