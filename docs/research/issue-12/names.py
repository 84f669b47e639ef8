# Common Cambodian given/family names: Khmer spelling -> Latin spellings seen in practice
# (passport/ID style first, then common variants: French-style gn/ou, doubled letters, -h).
NAMES = [
 ("សុខ", ["Sok", "Sokh"]), ("សុភា", ["Sophea", "Sophia", "Sopheа".replace("а","a")]),
 ("ដារ៉ា", ["Dara", "Darah"]), ("ចាន់", ["Chan", "Chann"]), ("វណ្ណ", ["Vann", "Van"]),
 ("រិទ្ធ", ["Rith", "Rit", "Ritth"]), ("ស្រី", ["Srey", "Srei", "Srei"]), ("ពេជ្រ", ["Pich", "Pech", "Petch"]),
 ("គីម", ["Kim"]), ("ហេង", ["Heng"]), ("ស្រីមុំ", ["Sreymom", "Sreymum", "Srey Mom"]),
 ("បុប្ផា", ["Bopha", "Bupha"]), ("វុទ្ធី", ["Vuthy", "Vuthi", "Vutthy"]), ("ចិន្តា", ["Chenda", "Chinda"]),
 ("សុខា", ["Sokha", "Sokhar"]), ("ចន្ថា", ["Chantha", "Chanta"]), ("ពិសិដ្ឋ", ["Piseth", "Piset", "Pisith"]),
 ("រដ្ឋា", ["Rotha", "Ratha"]), ("សុធា", ["Sothea", "Sotheara"[:6], "Sothia"]), ("កុសល", ["Kosal", "Kusal"]),
 ("នារី", ["Nary", "Neary", "Nari"]), ("មុន្នី", ["Mony", "Monny", "Moni"]), ("បញ្ញា", ["Panha", "Pagna", "Panhha"]),
 ("រតនា", ["Ratana", "Rattana", "Rathana"]), ("សីហា", ["Seyha", "Seiha", "Sayha"]), ("ធីតា", ["Thida", "Tida"]),
 ("វាសនា", ["Veasna", "Vasna", "Veassna"]), ("វិជ្ជា", ["Vichea", "Vichhea", "Vicheya"]), ("សុភាព", ["Sopheap", "Sophiep", "Sopheab"]),
 ("រចនា", ["Rachana", "Reachana"]), ("សុផល", ["Sophal", "Sophorn"[:0] or "Sophall"]), ("សុវណ្ណ", ["Sovann", "Sovan"]),
 ("សម្បត្តិ", ["Sambath", "Sambat", "Sombath"]), ("ចាន់នី", ["Channy", "Channy", "Chany"]), ("លក្ខិណា", ["Leakhena", "Lakhena"]),
 ("ស្រីនាង", ["Sreyneang", "Sreyneng"]), ("វណ្ណា", ["Vanna", "Vana"]), ("កញ្ញា", ["Kanha", "Kagna", "Kanya"]),
 ("ប៊ុនធឿន", ["Bunthoeun", "Bunthoen", "Bunthouen"]), ("ជា", ["Chea", "Jea"]), ("លីម", ["Lim"]), ("មាស", ["Meas", "Mias"]),
 ("លី", ["Ly", "Lee", "Li"]), ("កែវ", ["Keo", "Kaev"]), ("ឆាយ", ["Chhay", "Chay"]), ("ផល្លា", ["Phalla", "Phala"]),
 ("សំណាង", ["Samnang", "Somnang"]), ("វិបុល", ["Vibol", "Vibul"]), ("ស្រ៊ុន", ["Srun", "Sroun"]), ("ទូច", ["Touch", "Toch"]),
 ("ហ៊ុន", ["Hun", "Houn"]), ("សែន", ["Sen", "Saen"]), ("យឹម", ["Yim", "Yoeum"]), ("ម៉ៅ", ["Mao"]), ("អ៊ុំ", ["Oum", "Um"]),
 ("គង់", ["Kong"]), ("ឡុង", ["Long"]), ("អ៊ុក", ["Ouk", "Uk"]), ("ទេព", ["Tep"]), ("ញឹម", ["Nhem", "Nhim", "Nhoeum"]),
 ("ប្រាក់", ["Prak"]), ("ឈុន", ["Chhun", "Chun"]), ("សេង", ["Seng"]), ("ធី", ["Thy", "Thi"]), ("ឃីម", ["Khim"]),
 ("សុគន្ធ", ["Sokun", "Sokunth"]), ("ចាន់ធា", ["Chantha"][:0] or ["Chanthea", "Chantheа".replace("а","a")]),
 ("ម៉ម", ["Mom"]), ("ស៊ីម", ["Sim"]), ("ពៅ", ["Pov", "Peou"]), ("ណារិទ្ធ", ["Narith", "Nareth"]),
 ("សុជាតិ", ["Socheat", "Sochiet"]), ("ស្រីពៅ", ["Sreypov", "Srey Pov"]), ("រស្មី", ["Rasmey", "Reaksmey", "Raksmey"]),
 ("ម៉ាលី", ["Maly", "Mali"]), ("សុខហេង", ["Sokheng", "Sok Heng"]), ("បូរ៉ា", ["Bora"]), ("ឧត្តម", ["Oudom", "Udom"]),
]
# genuinely different names that a weak key may merge (used for precision, in addition to all cross pairs)
