"""Shared code lists from field libraries: ISO 3166-1 countries and ISO 639 languages.

Canonical forms (schemas/canonical.py): countries alpha-2 upper case, languages the
ISO 639-2/T (= 639-3) alpha-3 code in lower case. pycountry holds the tables; this module
only builds fast lookups once and names the 20 ISO 639-2 B/T pairs (GER/deu, FRE/fra …).
"""

from __future__ import annotations

from functools import cache

import pycountry


@cache
def _countries() -> tuple[dict[str, str], dict[str, str]]:
    a2_to_a3: dict[str, str] = {}
    a3_to_a2: dict[str, str] = {}
    for country in pycountry.countries:
        a2_to_a3[country.alpha_2] = country.alpha_3
        a3_to_a2[country.alpha_3] = country.alpha_2
    return a2_to_a3, a3_to_a2


def is_alpha2(code: str) -> bool:
    return code in _countries()[0]


def is_alpha3(code: str) -> bool:
    return code in _countries()[1]


def alpha2_to_alpha3(code: str) -> str | None:
    """ISO 3166-1 alpha-2 → alpha-3, or None when ``code`` is not an assigned alpha-2."""
    return _countries()[0].get(code)


def alpha3_to_alpha2(code: str) -> str | None:
    """ISO 3166-1 alpha-3 → alpha-2, or None when ``code`` is not an assigned alpha-3."""
    return _countries()[1].get(code)


@cache
def _languages() -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str]]:
    """(639-2/B → T, T → 639-2/B, T → 639-1, 639-1 → T) over pycountry's ISO 639-3 table."""
    b_to_t: dict[str, str] = {}
    t_to_b: dict[str, str] = {}
    t_to_1: dict[str, str] = {}
    one_to_t: dict[str, str] = {}
    for lang in pycountry.languages:
        t = lang.alpha_3
        b = getattr(lang, "bibliographic", None) or t
        b_to_t[b] = t
        t_to_b[t] = b
        two = getattr(lang, "alpha_2", None)
        if two:
            t_to_1[t] = two
            one_to_t[two] = t
    return b_to_t, t_to_b, t_to_1, one_to_t


def language_from_639_2b(code: str) -> str | None:
    """An INTERPOL language code (ISO 639-2/B, upper case, e.g. ``GER``) → canonical ``deu``."""
    return _languages()[0].get(code.lower())


def language_to_639_2b(canonical: str) -> str | None:
    """Canonical ``deu`` → ``GER`` (upper case, as the INTERPOL side writes it)."""
    b = _languages()[1].get(canonical)
    return b.upper() if b else None


def language_to_639_1(canonical: str) -> str | None:
    """Canonical ``deu`` → ``de``; None when the language has no ISO 639-1 code (a loss)."""
    return _languages()[2].get(canonical)


def language_from_639_1(code: str) -> str | None:
    """A GCC language code (ISO 639-1, e.g. ``ar``) → canonical ``ara``."""
    return _languages()[3].get(code)


def bt_pairs() -> dict[str, str]:
    """The ISO 639-2 B/T pairs whose two codes differ (``ger`` → ``deu`` …): 20 of them."""
    return {b: t for b, t in _languages()[0].items() if b != t}
