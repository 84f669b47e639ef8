import random, sys, unicodedata, time
sys.path.insert(0, ".")
from kh_normalise import khmer_canonical

from current_normalise import visible, identity_name   # read-only import
from khmerspell import khnormal
import pheasa

def key(s): return khmer_canonical(visible(s))
U = lambda s: " ".join(f"{ord(c):04X}" for c in s)

SAME = [  # (label, canonical typing, variant typing) -- render identically
 ("ZWSP inside name",           "សុខ ដារ៉ា", "សុ\u200bខ ដារ៉ា"),
 ("ZWNJ/ZWJ inside",            "សុខា", "សុ\u200cខ\u200dា"),
 ("U+17B4 inherent inserted",   "សុខា", "សុខ\u17b4ា"),
 ("shifter after aa",           "ដារ៉ា", "ដារា\u17c9"),
 ("nikahit before u (-om)",     "ស្រីមុំ", "ស្រីម\u17c6\u17bb"),
 ("vowel before coeng",         "ស្រី", "ស\u17b8\u17d2រ"),
 ("aa before coeng (Prak)",     "ប្រាក់", "ប\u17b6\u17d2រក់"),
 ("coeng RO order",             "ចន្ទ្រា", "ចន\u17d2រ\u17d2ទា"),
 ("coeng DA vs coeng TA",       "ចិន្តា", "ចិន\u17d2ដា"),
 ("shifter after u (Hun)",      "ហ៊ុន", "ហ\u17bb\u17caន"),
 ("Oum: 3 marks any order",     "អ៊ុំ", "អ\u17c6\u17bb\u17ca"),
 ("e+ii vs oe",                 "ពើន", "ព\u17c1\u17b8ន"),
 ("e+aa vs oo (Sophea var.)",   "សោភា", "ស\u17c1\u17b6ភា"),
 ("nikahit typed twice",        "សំណាង", "ស\u17c6\u17c6ណាង"),
 ("aa typed twice",             "ដារ៉ា", "ដា\u17b6រ៉ា"),
 ("U+17A3 for QA",              "អ៊ុំ", "\u17a3៊ុំ"),
 ("U+17A4 for QA+AA",           "អាន", "\u17a4ន"),
 ("-u + ii for triisap (strong)","ស៊ីម", "ស\u17bb\u17b8ម"),
 ("-u + ii for muusikatoan",    "ម៉ី", "ម\u17bb\u17b8"),
 ("coeng typed twice",          "សុវណ្ណ", "សុវណ\u17d2\u17d2ណ"),
 ("nikahit before aa (-am)",    "ចាំរ៉ុន", "ច\u17c6\u17b6រ៉ុន"),
 ("robat before coeng (Dharma)","ធម៌", "ធ\u17cc"[:1]+"ម៌"),
 ("BEYYAL U+17D8",              "សុខ ។ល។", "សុខ \u17d8"),
 ("shifter before coeng (Srun)","ស្រ៊ុន", "ស\u17ca\u17d2រ\u17bbន"),
 ("reahmuk before vowel",       "ពេះ", "ព\u17c7\u17c1"),
]
DIFF = [
 ("Chenda vs Chanthea",  "ចិន្តា", "ចន្ទា"), ("kha vs ka", "សុខ", "សុក"), ("Srey vs Serey", "ស្រី", "សេរី"),
 ("Dara da vs ta", "ដារ៉ា", "តារា"), ("Sophea u vs oo", "សុភា", "សោភា"), ("Heng vs Hang", "ហេង", "ហង់"),
 ("Bopha ph vs bh", "បុប្ផា", "បុប្ភា"), ("Chan vs Chant", "ចាន់", "ចន្ទ"), ("i vs ue", "ស៊ីម", "ស៊ឹម"),
 ("shifter vs none", "ម៉ី", "មី"), ("silent RO kept", "ពេជ្រ", "ពេជ"), ("two subscripts order", "ក្ស្ម", "ក្ម្ស"),
 ("QOO type 1 vs 2", "ឱ", "ឲ"), ("bantoc vs none", "ចាន់", "ចាន"),
]
ok = 0
print("== identical-looking pairs (must be equal)")
for lab, a, b in SAME:
    ka, kb = key(a), key(b); r = ka == kb; ok += r
    old = identity_name(a) == identity_name(b)
    sil = khnormal(visible(a)) == khnormal(visible(b))
    ph = pheasa.normalize(visible(a), fold_deprecated=True) == pheasa.normalize(visible(b), fold_deprecated=True)
    print(f"{'OK ' if r else 'BAD'} old={old!s:5} sil={sil!s:5} pheasa={ph!s:5} {lab}: {U(a)} | {U(b)} -> {U(ka)}")
print(f"equal: {ok}/{len(SAME)}")
bad = 0
print("== different pairs (must stay different)")
for lab, a, b in DIFF:
    r = key(a) != key(b); bad += not r
    print(f"{'OK ' if r else 'BAD'} {lab}: {a} / {b}")
print(f"kept apart: {len(DIFF)-bad}/{len(DIFF)}")

# property tests on random Khmer strings
random.seed(1)
pool = [chr(c) for c in range(0x1780, 0x17DE)] + [" "]
N = 200000; idem = nfc = 0; t = time.perf_counter()
for _ in range(N):
    s = "".join(random.choice(pool) for _ in range(random.randint(1, 8)))
    k = khmer_canonical(s)
    idem += khmer_canonical(k) != k
    nfc += unicodedata.normalize("NFC", k) != k
print(f"random strings: {N}, non-idempotent {idem}, non-NFC {nfc}, {1e6*(time.perf_counter()-t)/N:.1f} us/string")
# agreement with pheasa on well-formed random syllables
cons = [chr(c) for c in range(0x1780, 0x17A3)]
vows = [chr(c) for c in range(0x17B6, 0x17C6)]
marks = ["", "\u17c6", "\u17cb", "\u17c7"]
sh = ["", "\u17c9", "\u17ca"]
agree = tot = 0; dis = []
for _ in range(50000):
    parts = [random.choice(cons)] + random.sample(["\u17d2" + random.choice(cons), random.choice(sh), random.choice(vows), random.choice(marks)], 4)
    s = "".join(parts)
    a = key(s); b = pheasa.normalize(s, fold_deprecated=True)
    tot += 1; agree += a == b
    if a != b and len(dis) < 5: dis.append((U(s), U(a), U(b)))
print(f"agreement with pheasa 0.1.0 on shuffled syllables: {agree}/{tot}", dis)
