import itertools, sys, time
from names import NAMES
from romkey import roman_key, _latin_word
from anyascii import anyascii
from unidecode import unidecode
import khmer_latin_name_transformer as klnt
try:
    sys.path.insert(0, "icuvenv/lib/python3.11/site-packages"); import icu
    ICU = icu.Transliterator.createInstance("Khmer-Latin"); icu_tr = lambda s: ICU.transliterate(s)
except Exception as e:
    print("ICU unavailable", e); icu_tr = None

lat_only = lambda s: roman_key(s.replace(" ", ""))
METHODS = {
  "romkey (rule-based Khmer side)": roman_key,
  "latin_key(anyascii(km))": lambda s: roman_key(s) if s.isascii() else lat_only(anyascii(s)),
  "latin_key(unidecode(km))": lambda s: roman_key(s) if s.isascii() else lat_only(unidecode(s)),
  "latin_key(klnt.to_latin(km))": lambda s: roman_key(s) if s.isascii() else lat_only(klnt.to_latin(s)),
}
if icu_tr: METHODS["latin_key(ICU Khmer-Latin(km))"] = lambda s: roman_key(s) if s.isascii() else lat_only(icu_tr(s))

entries = [(i, km, sorted(set(lats))) for i, (km, lats) in enumerate(NAMES)]
items = [(i, km) for i, km, _ in entries] + [(i, l) for i, _, lats in entries for l in lats]
print(f"{len(entries)} names, {len(items)-len(entries)} Latin spellings")
print("sample outputs:")
for km, lats in NAMES[:12] + NAMES[-6:]:
    print(f"  {km:10} anyascii={anyascii(km):12} unidecode={unidecode(km):12} klnt={klnt.to_latin(km):10} icu={icu_tr(km) if icu_tr else '-':14} key={roman_key(km):6} latin keys={[roman_key(l) for l in lats]}")
for name, f in METHODS.items():
    t = time.perf_counter(); keys = {s: f(s) for _, s in items}; dt = time.perf_counter() - t
    res = {}
    for scope in ("cross-script", "Latin-Latin"):
        tp = fp = fn = 0; misses = []; fps = []
        for (i, a), (j, b) in itertools.combinations(items, 2):
            cross = a.isascii() != b.isascii()
            if (scope == "cross-script") != cross or (not cross and not a.isascii()):
                continue
            same, eq = i == j, keys[a] == keys[b]
            if same and eq: tp += 1
            elif same: fn += 1; misses.append(f"{a}/{b}({keys[a]}|{keys[b]})")
            elif eq: fp += 1; fps.append(f"{a}/{b}={keys[a]}")
        res[scope] = (tp, fp, fn, misses, fps)
    print(f"\n== {name}  ({1e6*dt/len(items):.0f} us/name)")
    for scope, (tp, fp, fn, misses, fps) in res.items():
        print(f"  {scope}: precision {tp/max(1,tp+fp):.3f} recall {tp/max(1,tp+fn):.3f} (TP {tp} FP {fp} FN {fn})")
        if name.startswith("romkey"):
            print("    misses:", "; ".join(misses[:40])); print("    false merges:", "; ".join(fps[:40]))
