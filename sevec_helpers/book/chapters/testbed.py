"""The page about the book's two testbeds (book/testbed.md): the photo testbed's counts, the
sizes of its scenes' objects, its classes by WordNet level, and the credits of every source
package. ConceptWorld's part of the page is drawn by :mod:`.world`."""

from __future__ import annotations

from collections import Counter

import numpy as np

from sevec_helpers.book import figures as viz
from sevec_helpers.book.profiles import Study


def photo_counts(study: Study) -> viz.Markdown:
    """The photo testbed in numbers: classes, photographs, concepts, scenes and their objects."""
    truth = study.truth
    photos = sum(int(t.get("photographs") or 1) for t in truth)
    several = sum(1 for t in truth if (t.get("photographs") or 1) > 1)
    sc = study.dataset("scenes").size_distribution()
    concepts = {k: len(study.dataset(f"{k}_fit").classes) for k in ("textures", "materials", "colors")
                if study.has(f"{k}_fit")}
    per = ", ".join(f"{n} with {k}" for k, n in sorted(sc["objects_per_scene"].items()))
    q = sc["quartiles"]
    rows = [["classes (ImageNet-1k)", len(study.classes)],
            ["photographs of objects (Tux Paint stamps)", photos],
            ["classes with two or more photographs (fit and hold-out differ)", several],
            ["background photographs (fitting / hold-out)", "6 / 6"],
            *[[f"{k} concept sets", n] for k, n in concepts.items()],
            [f"scenes (objects per scene: {per})", sum(sc["objects_per_scene"].values())],
            ["object box area, share of the image: mean [quartiles]",
             f"{sc['mean_area']:.3f} [{q[0]:.3f}, {q[1]:.3f}, {q[2]:.3f}]"],
            ["boxes covering more than half the image", f"{sc['over_half']:.0%}"]]
    return viz.markdown_table(["the photo testbed (default sizes)", "count"], rows)


def classes_table(study: Study) -> viz.Markdown:
    """The classes grouped by their WordNet superclass and group (the hierarchy of Fig. 3 here)."""
    by = {}
    for name, t in zip(study.classes, study.truth):
        by.setdefault((t["superclass"], t["group"]), []).append(name)
    rows = [[sup, grp, len(names), ", ".join(names)] for (sup, grp), names in
            sorted(by.items(), key=lambda kv: (kv[0][0], -len(kv[1])))]
    return viz.markdown_table(["superclass (WordNet)", "group (WordNet)", "classes", "names"], rows)


def truth_table(study: Study) -> viz.Markdown:
    """How much low-level truth the photos carry: classes with a texture, a material, colours."""
    c = Counter()
    for t in study.truth:
        c["texture"] += bool(t["textures"])
        c["material"] += bool(t["materials"])
        c["colours"] += bool(t["colors"])
    n = len(study.truth)
    return viz.markdown_table(["the class truth names", "classes"],
                              [["a texture of the texture sets", f"{c['texture']} of {n}"],
                               ["a material of the material sets", f"{c['material']} of {n}"],
                               ["colours (measured on the photographs' pixels)", f"{c['colours']} of {n}"]])


def credits(lines) -> viz.Markdown:
    """One bullet per source package: version, what is taken, licence."""
    return viz.Markdown("\n".join(f"- {line}" for line in lines))


def size_histogram(study: Study, n: int | None = None):
    """The objects' box areas in the scenes (share of the image), as a histogram."""
    import matplotlib.pyplot as plt

    scenes = study.dataset("scenes")
    n = len(scenes) if n is None else min(n, len(scenes))
    h, w = scenes[0][0].shape[-2:]
    areas = []
    for i in range(n):
        b = scenes[i][1]["boxes"].double()
        areas += (((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])) / (h * w)).tolist()
    fig, ax = plt.subplots(figsize=(viz.MAX_WIDTH * 0.6, 2.6))
    ax.hist(np.clip(areas, 0, 1), bins=np.linspace(0, 1, 11), color="#4c72b0", edgecolor="white")
    ax.set_xlabel("box area / image area")
    ax.set_ylabel("objects")
    ax.set_xlim(0, 1)
    fig.tight_layout()
    return fig


def unavailable_note() -> viz.Markdown:
    """What the page says when the photo testbed's files were not fetched where it was built
    (no path of that machine: the command that fetches them)."""
    return viz.Markdown("The photo testbed's files were not fetched on the machine that built this page, so its "
                        "numbers are missing here: `bash scripts/fetch_photos.sh` (or `python -m "
                        "sevec_helpers.sources.photo_testbed`) fetches them from Debian's archive.")
