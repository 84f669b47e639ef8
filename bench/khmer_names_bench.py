"""Cost of the Khmer-aware identity name and the romanised key, per name, on realistic names.

Run: .venv/bin/python bench/khmer_names_bench.py [N]

N full names (family + given name drawn from common Khmer names, a tenth of them typed with
marks in another order or with an invisible character, as field data has them) go through:
the raw limit (NFKC + casefold, what the rule cost before the Khmer ordering), the identity
name with its per-word memory (the way an import uses it), the same with the memory cleared
before every name (the worst case: every word new), and the romanised key.
"""
from __future__ import annotations

import random
import sys
import time
import unicodedata

from registry.actors import khmer
from registry.actors.normalise import identity_name, visible
from registry.actors.romanise import roman_key

FAMILY = ["សុខ", "ជា", "ហេង", "កែវ", "ឈុន", "លីម", "ប្រាក់", "ម៉ៅ", "គង់", "អ៊ុក", "ទេព", "ញឹម", "យឹម", "សេង", "មាស", "ឡុង", "ហ៊ុន", "ស៊ីម"]
GIVEN = ["ដារ៉ា", "សំណាង", "ចន្ថា", "ពេជ្រ", "សុភាព", "វណ្ណា", "ស្រីមុំ", "វិបុល", "រតនា", "សុវណ្ណ", "ចាន់នី", "ពិសិដ្ឋ",
         "សុជាតិ", "ស្រីនាង", "ផល្លា", "រស្មី", "បុប្ផា", "ចិន្តា", "វុទ្ធី", "សីហា", "នារី", "មុន្នី", "បញ្ញា", "ធីតា"]
VARIANTS = {"ស្រីមុំ": "ស\u17b8\u17d2រម\u17c6\u17bb", "ប្រាក់": "ប\u17b6\u17d2រក់", "ហ៊ុន": "ហ\u17bb\u17caន", "ដារ៉ា": "ដារា\u17c9"}


def names(n: int) -> list[str]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        if i % 10 == 0:
            family, given = VARIANTS.get(family, family), VARIANTS.get(given, given + "\u200b")
        out.append(f"{family} {given}")
    return out


def timed(label: str, function, items: list[str], raw: float | None = None) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for item in items:
        function(item)
    seconds = time.perf_counter() - start
    ratio = f"   {seconds / raw:5.1f}x the raw limit" if raw else ""
    print(f"{label:<46} {len(items) / seconds:>10,.0f} names/s  {seconds / len(items) * 1e6:6.2f} µs/name{ratio}")
    return seconds


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    items = names(n)
    raw = timed("raw limit: visible + NFKC + casefold", lambda s: unicodedata.normalize("NFKC", visible(s)).casefold(), items)
    timed("identity_name, words remembered (imports)", identity_name, items, raw)
    few = items[: max(1, n // 20)]

    def cold(name: str) -> str:
        khmer._word.cache_clear()
        return identity_name(name)

    timed(f"identity_name, nothing remembered ({len(few):,})", cold, few, raw / 20)
    timed("roman_key (romanised, cross-script)", roman_key, items, raw)
    distinct = len({identity_name(s) for s in items})
    print(f"{n:,} names, {distinct:,} distinct identity names "
          f"(variants typed in another order counted once: {len(set(items)):,} distinct as typed)")


if __name__ == "__main__":
    main()
