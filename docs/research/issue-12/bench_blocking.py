"""1,000,000 synthetic registrations in memory -> blocking keys -> candidate pairs -> verified pairs."""
import random, time, sys, resource
import numpy as np
from rapidfuzz.distance import OSA
from rapidfuzz import fuzz
from names import NAMES
from romkey import roman_key_tokens
from kh_normalise import khmer_canonical
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rng = random.Random(42)
FAM = [("សុខ","Sok"),("ចាន់","Chan"),("ហេង","Heng"),("គីម","Kim"),("លីម","Lim"),("លី","Ly"),("មាស","Meas"),("កែវ","Keo"),
       ("ឆាយ","Chhay"),("ប្រាក់","Prak"),("សេង","Seng"),("ទូច","Touch"),("ហ៊ុន","Hun"),("អ៊ុក","Ouk"),("ទេព","Tep"),("ញឹម","Nhem"),
       ("ជា","Chea"),("ម៉ៅ","Mao"),("ឡុង","Long"),("យឹម","Yim"),("អ៊ុំ","Oum"),("គង់","Kong"),("សែន","Sen"),("ឈុន","Chhun")]
GIV = [(k, v[0]) for k, v in NAMES]
t0 = time.perf_counter()
cat = np.empty(N, np.int8); dob = np.empty(N, np.int32); phone = [None] * N; nid = [None] * N; name = [None] * N; truth = []
i = 0
while i < N:
    f, g = rng.choice(FAM), rng.choice(GIV)
    khmer = rng.random() < 0.6
    name[i] = f"{f[0]} {g[0]}" if khmer else f"{f[1]} {g[1]}"
    cat[i] = rng.randrange(3); dob[i] = rng.randrange(18000)       # ~50 years of birth dates
    phone[i] = "0" + rng.choice("1678913") + "".join(rng.choice("0123456789") for _ in range(7 + (rng.random() < .5)))
    nid[i] = str(rng.randrange(10**8, 10**9)) if rng.random() < 0.4 else None
    i += 1
    if i < N and rng.random() < 0.02:                               # a near-duplicate of row i-1
        j = i - 1; kind = rng.randrange(3)
        name[i] = f"{f[1]} {g[1]}" if khmer else f"{f[0]} {g[0]}"    # other script
        cat[i], dob[i], nid[i] = cat[j], dob[j], None
        p = list(phone[j])
        if kind == 0: p[rng.randrange(1, len(p))] = rng.choice("0123456789")
        elif kind == 1: k = rng.randrange(1, len(p) - 1); p[k], p[k + 1] = p[k + 1], p[k]
        phone[i] = "".join(p)
        if kind == 2: nid[i] = nid[j] or str(rng.randrange(10**8, 10**9)); nid[j] = nid[i]; cat[i] = (cat[j] + 1) % 3; phone[i] = phone[j][:-1] + str((int(phone[j][-1]) + 5) % 10)
        truth.append((j, i)); i += 1
t1 = time.perf_counter(); print(f"generated {N} rows ({len(truth)} planted near-duplicates) in {t1-t0:.1f}s")

# keys (cached per distinct name: real registries repeat names heavily too)
cache = {}
def rk(s):
    v = cache.get(s)
    if v is None: v = cache[s] = roman_key_tokens(s)
    return v
rkey = [rk(s) for s in name]
t2 = time.perf_counter(); print(f"romanised keys: {t2-t1:.1f}s ({len(cache)} distinct names)")

def pairs_from(keys, rows):
    keys = np.asarray(keys, np.int64); rows = np.asarray(rows, np.int32)
    o = np.argsort(keys, kind="stable"); k = keys[o]; r = rows[o]
    cut = np.flatnonzero(np.diff(k)) + 1; starts = np.r_[0, cut]; ends = np.r_[cut, len(k)]
    big = (ends - starts) > 1; out = set(); maxb = 0
    for s, e in zip(starts[big], ends[big]):
        g = r[s:e].tolist(); maxb = max(maxb, len(g))
        for a in range(len(g)):
            for b in range(a + 1, len(g)):
                x, y = (g[a], g[b]) if g[a] < g[b] else (g[b], g[a])
                if x != y: out.add(x * N + y)
    return out, maxb

# B1: same category + date of birth + romanised name key (token order free)
t = time.perf_counter()
b1, m1 = pairs_from([hash((int(cat[i]), int(dob[i]), rkey[i])) for i in range(N)], range(N))
t3 = time.perf_counter(); print(f"B1 (category, dob, roman key): {len(b1):,} candidate pairs, largest block {m1}, {t3-t:.1f}s")
# B2: category + phone 1-deletion neighbourhood (catches 1 substitution, 1 adjacent transposition, 1 indel)
keys, rows = [], []
for i in range(N):
    p = phone[i]; c = int(cat[i])
    keys.append(hash((c, p))); rows.append(i)
    for k in range(1, len(p)):
        keys.append(hash((c, p[:k] + p[k + 1:]))); rows.append(i)
b2, m2 = pairs_from(keys, rows); del keys, rows
t4 = time.perf_counter(); print(f"B2 (category, phone deletion neighbourhood): {len(b2):,} candidate pairs, largest block {m2}, {t4-t3:.1f}s")
# B3: national ID, any category
idx = [i for i in range(N) if nid[i]]
b3, m3 = pairs_from([hash(nid[i]) for i in idx], idx)
t5 = time.perf_counter(); print(f"B3 (national_id): {len(b3):,} candidate pairs, {t5-t4:.1f}s")

# verification / scoring
def verify(x, y):
    reasons = []
    if cat[x] == cat[y] and dob[x] == dob[y] and rkey[x] == rkey[y]: reasons.append("dob+name")
    if cat[x] == cat[y] and OSA.distance(phone[x], phone[y]) <= 1 and (rkey[x] == rkey[y] or fuzz.token_sort_ratio(rkey[x], rkey[y]) >= 85): reasons.append("phone+name")
    if nid[x] and nid[x] == nid[y] and cat[x] != cat[y]: reasons.append("nid other category")
    return reasons
cand = b1 | b2 | b3
found = {}
for c in cand:
    x, y = divmod(c, N); r = verify(x, y)
    if r: found[(x, y)] = r
t6 = time.perf_counter()
rec = sum((a, b) in found for a, b in truth)
print(f"union {len(cand):,} candidates -> {len(found):,} queue entries in {t6-t5:.1f}s; planted recall {rec}/{len(truth)}")
print(f"TOTAL blocking+verify {t6-t1:.1f}s (excl. generation), peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MB")
