"""The classes' WordNet levels (superclass, group), derived from WordNet 3.0's dictionary files.

ImageNet's classes are WordNet 3.0 noun synsets (a wnid ``n########`` is the synset's offset in
``data.noun``). The class table (``classes.csv``) was written by :func:`derive` from Debian's
``wordnet-base`` package (``/usr/share/wordnet``), offline:

1. each class's synset is looked up by its name in ``index.noun``; where the name has several
   noun senses, :data:`SENSES` names the one by hand (chosen by its gloss, and checked against
   ImageNet's list of wnids);
2. its hypernym closure (``@`` and ``@i`` pointers, every path) is walked, and the superclass is
   the first of :data:`SUPERCLASSES` in it, the group the first of :data:`GROUPS`.

``tests/test_photo_testbed.py`` re-derives the table where the dictionary files are installed
(``apt-get install wordnet-base``) and skips otherwise. Nothing here runs when the testbed is
built: the table is committed.
"""

from __future__ import annotations

from pathlib import Path

DICT_DIR = Path("/usr/share/wordnet")

SENSES: dict[str, tuple[str, int]] = {
    # name -> (WordNet lemma, noun sense number) where the name has several noun senses or is
    # not itself a lemma; the sense is ImageNet's (its gloss given for the reader)
    "cock": ("cock", 5),              # adult male bird
    "hen": ("hen", 2),                # adult female bird
    "ostrich": ("ostrich", 2),        # fast-running African flightless bird
    "vulture": ("vulture", 1),        # any of various large diurnal birds of prey
    "peacock": ("peacock", 2),        # male peafowl
    "drake": ("drake", 2),            # adult male of a wild or domestic duck
    "goose": ("goose", 1),            # web-footed long-necked migratory aquatic bird
    "slug": ("slug", 7),              # terrestrial gastropod
    "spiny lobster": ("spiny_lobster", 2),   # large edible marine crustacean with a spiny carapace
    "crane bird": ("crane", 5),       # large long-necked wading bird
    "red fox": ("red_fox", 3),        # the common Old World fox
    "lion": ("lion", 1),              # large gregarious predatory feline
    "tiger": ("tiger", 2),            # large feline of forests in most of Asia
    "fly": ("fly", 1),                # two-winged insects
    "beaver": ("beaver", 7),          # large semiaquatic rodent
    "hog": ("hog", 3),                # domestic swine
    "ox": ("ox", 1),                  # adult castrated bull of the genus Bos
    "ram": ("ram", 5),                # uncastrated adult male sheep
    "otter": ("otter", 2),            # freshwater carnivorous mammal
    "badger": ("badger", 2),          # sturdy carnivorous burrowing mammal
    "balloon": ("balloon", 1),        # large nonrigid bag filled with gas or heated air
    "Band Aid": ("band_aid", 1),      # trade name for an adhesive bandage
    "basketball": ("basketball", 2),  # an inflated ball used in playing basketball
    "drum": ("drum", 1),              # a musical percussion instrument
    "hammer": ("hammer", 2),          # a hand tool with a heavy rigid head and a handle
    "mailbox": ("mailbox", 1),        # ImageNet's sense (a private box for delivery of mail)
    "pickup": ("pickup", 1),          # a light truck with an open body
    "racket": ("racket", 4),          # a sports implement
    "shovel": ("shovel", 1),          # a hand tool for lifting loose material
    "tank": ("tank", 1),              # an enclosed armored military vehicle
    "teddy": ("teddy", 1),            # a child's toy bear
    "broccoli": ("broccoli", 2),      # branched green undeveloped flower heads
    "bell pepper": ("bell_pepper", 2),   # large bell-shaped sweet pepper
    "strawberry": ("strawberry", 1),  # sweet fleshy red fruit
    "orange": ("orange", 1),          # round yellow to orange fruit of citrus trees
    "lemon": ("lemon", 1),            # yellow oval fruit with juicy acidic flesh
    "pineapple": ("pineapple", 2),    # large sweet fleshy tropical fruit
    "banana": ("banana", 2),          # elongated crescent-shaped yellow fruit
    "custard apple": ("custard_apple", 2),   # the fruit of trees of the genus Annona
    "pomegranate": ("pomegranate", 2),       # large globular fruit with many seeds
}

SUPERCLASSES: tuple[tuple[str, str], ...] = (
    # (label, WordNet lemma.sense) in the order they are tried
    ("animal", "animal.1"), ("food", "food.2"), ("artifact", "artifact.1"), ("fungus", "fungus.1"),
    ("plant", "plant.2"),
)
GROUPS: tuple[tuple[str, str], ...] = (
    ("mammal", "mammal.1"), ("bird", "bird.1"), ("fish", "fish.1"), ("insect", "insect.1"),
    ("crustacean", "crustacean.1"), ("mollusk", "mollusk.1"),
    ("musical instrument", "musical_instrument.1"), ("vehicle", "vehicle.1"), ("container", "container.1"),
    ("implement", "implement.1"), ("instrument", "instrument.1"), ("equipment", "equipment.1"),
    ("covering", "covering.2"), ("furniture", "furniture.1"), ("plaything", "plaything.1"),
    ("vegetable", "vegetable.1"), ("fruit", "edible_fruit.1"), ("fungus", "fungus.1"),
)


class WordNet:
    """The noun part of WordNet 3.0's dictionary files (``index.noun``, ``data.noun``)."""

    def __init__(self, dict_dir: str | Path = DICT_DIR):
        d = Path(dict_dir)
        if not (d / "index.noun").is_file() or not (d / "data.noun").is_file():
            raise FileNotFoundError(f"no WordNet dictionary in {d}: install Debian's wordnet-base "
                                    f"(apt-get install wordnet-base) or pass its dict folder")
        self.index: dict[str, list[str]] = {}
        for line in open(d / "index.noun", encoding="latin-1"):
            if line.startswith(" "):
                continue
            f = line.split()
            n_ptr = int(f[3])
            rest = f[4 + n_ptr:]
            self.index[f[0]] = rest[2:2 + int(rest[0])]
        self.synsets: dict[str, tuple[list[str], list[str], str]] = {}
        for line in open(d / "data.noun", encoding="latin-1"):
            if line.startswith(" "):
                continue
            head, _, gloss = line.partition("|")
            f = head.split()
            n_words = int(f[3], 16)
            words = [f[4 + 2 * i] for i in range(n_words)]
            k = 4 + 2 * n_words
            ptrs = f[k + 1:k + 1 + 4 * int(f[k])]
            hypernyms = [ptrs[i + 1] for i in range(0, len(ptrs), 4)
                         if ptrs[i] in ("@", "@i") and ptrs[i + 2] == "n"]
            self.synsets[f[0]] = (words, hypernyms, gloss.strip())

    def synset(self, lemma: str, sense: int = 1) -> str:
        """The offset of a lemma's noun sense (1-based, WordNet's order)."""
        senses = self.index.get(lemma.lower())
        if not senses:
            raise KeyError(f"{lemma!r} is not a WordNet noun")
        if not 1 <= sense <= len(senses):
            raise KeyError(f"{lemma!r} has {len(senses)} noun senses, not {sense}")
        return senses[sense - 1]

    def named(self, key: str) -> str:
        """``"lemma.sense"`` -> offset."""
        lemma, sense = key.rsplit(".", 1)
        return self.synset(lemma, int(sense))

    def closure(self, offset: str) -> set[str]:
        """The synset and all its hypernyms (every path)."""
        seen, todo = set(), [offset]
        while todo:
            o = todo.pop()
            if o not in seen:
                seen.add(o)
                todo.extend(self.synsets[o][1])
        return seen

    def class_synset(self, name: str) -> str:
        """An ImageNet class name -> its synset offset (see :data:`SENSES`)."""
        if name in SENSES:
            return self.synset(*SENSES[name])
        lemma = name.replace(" ", "_").replace("-", "_")
        senses = self.index.get(lemma.lower(), [])
        if len(senses) != 1:
            raise KeyError(f"{name!r} has {len(senses)} WordNet noun senses: add it to SENSES")
        return senses[0]

    def levels(self, offset: str) -> tuple[str, str]:
        """(superclass, group) of a synset."""
        up = self.closure(offset)
        sup = next((label for label, key in SUPERCLASSES if self.named(key) in up), "")
        grp = next((label for label, key in GROUPS if self.named(key) in up), "")
        return sup, grp


def derive(names: list[str], dict_dir: str | Path = DICT_DIR) -> list[dict]:
    """Per class name: wnid, the synset's key (``lemma.n.NN``), superclass and group."""
    wn = WordNet(dict_dir)
    rows = []
    for name in names:
        off = wn.class_synset(name)
        lemma, sense = SENSES.get(name, (name.replace(" ", "_"), 1))
        sup, grp = wn.levels(off)
        rows.append({"name": name, "wnid": f"n{off}", "synset": f"{lemma.lower()}.n.{sense:02d}",
                     "superclass": sup, "group": grp})
    return rows
