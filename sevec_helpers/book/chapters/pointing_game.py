"""Chapter 7, the generalized pointing game (paper Sec. 5.2, Fig. 7): presentation only. The
game is :mod:`sevec_helpers.evaluation.pointing`, the loop over scenes
:func:`sevec_helpers.evaluation.localization.scene_metrics`, both called in the notebook's visible
cells; :func:`record` is its headless twin (the same public calls, in the same order)."""

from __future__ import annotations

import numpy as np

from sevec_helpers.attribution.saliency import METHOD_LABELS
from sevec_helpers.book import claims as C
from sevec_helpers.book import figures as viz
from sevec_helpers.book.chapters import scenes as S
from sevec_helpers.book.profiles import Study
from sevec_helpers.book.records import Record, network_of
from sevec_helpers.evaluation import localization as L
from sevec_helpers.evaluation import scene_stats as E
from sevec_helpers.evaluation import stats as A
from sevec_helpers.evaluation.pointing import kept_pixels

# one colour per map, the same in every figure of the chapter (static and interactive)
COLOURS = {"GuidedBP": "#1f77b4", "Semantic GuidedBP": "#ff7f0e", "Gradient*Input": "#2ca02c",
           "Semantic Gradient*Input": "#d62728", L.CENTRE: "#7f7f7f",
           "Semantic GuidedBP (permuted mask)": "#9467bd", "Semantic GuidedBP (other object's mask)": "#8c564b",
           "Semantic Gradient*Input (permuted mask)": "#e377c2",
           "Semantic Gradient*Input (other object's mask)": "#17becf"}


def _improvements(m: L.SceneMetrics, hits: dict) -> dict:
    """Per method: semantic minus plain, and each control minus plain (on its own pairs)."""
    out = {}
    for method in S.METHODS:
        plain = hits[L.map_name(method, L.PLAIN)]
        for v in (L.OWN, L.PERMUTED, L.OTHER):
            name = L.map_name(method, v)
            if name not in hits:
                continue
            rows = m.rows(name)
            out[name] = E.paired_improvement(hits[name], plain[rows], m.scene[rows], m.energies)
    return out


def one_scene_table(classes, pairs: L.ScenePairs, energies, games: dict, classic: dict, loop: dict | None = None):
    """Per target and map: the generalized game's hits (how many of the energies, and up to
    which m) and the classic game's hit; with ``loop`` (name -> (hits, classic) of the same
    pairs in the scene pass), whether the scene pass gave exactly the same."""
    rows = []
    e = np.asarray(energies, float)
    for name, g in games.items():
        for r in range(len(pairs)):
            hit = g.per_image[r]
            row = [classes[int(pairs.target[r])], name, f"{int(hit.sum())} of {len(e)}",
                   f"{e[hit].max():.2f}" if hit.any() else "none", "hit" if classic[name].per_image[r, 0] else "miss"]
            if loop is not None:
                same = np.array_equal(loop[name][0][r], hit) and bool(loop[name][1][r]) == bool(classic[name].per_image[r, 0])
                row.append("yes" if same else "NO")
            rows.append(row)
    head = ["target", "map", "strict game: hits", "largest m hit", "classic game"] + \
        (["same in the scene pass"] if loop is not None else [])
    return viz.markdown_table(head, rows)


def accuracy_figure(m: L.SceneMetrics, q: float = 1.0):
    hits = m.hits if q == 1.0 else m.hits_half
    ys = {n: h.mean(0) for n, h in hits.items() if "(" not in n}
    return viz.curves(m.energies, ys, "kept energy m", "accuracy",
                      f"generalized pointing game ({'strict, q = 1' if q == 1.0 else 'q = 0.5'})", colors=COLOURS)


def improvement_figure(m: L.SceneMetrics, q: float = 1.0):
    """Fig. 7: semantic minus plain per energy with 95% intervals over scenes; dashed: the
    controls, each in its own colour; the legend sits below the axes."""
    imp = _improvements(m, m.hits if q == 1.0 else m.hits_half)
    label = {n: _label(n) for n in imp}
    ys = {label[n]: d["improvement"] for n, d in imp.items()}
    bands = {label[n]: (d["low"], d["high"]) for n, d in imp.items() if "(" not in n}
    colours = {label[n]: COLOURS[n] for n in imp}
    styles = {label[n]: ("--" if "permuted" in n else ":") for n in imp if "(" in n}
    return viz.curves(m.energies, ys, "kept energy m", "accuracy improvement",
                      f"improved localization accuracy ({'q = 1' if q == 1.0 else 'q = 0.5'})", bands=bands,
                      zero_line=True, colors=colours, styles=styles)


def _label(name: str) -> str:
    """"Semantic GuidedBP (permuted mask)" -> "GuidedBP: permuted mask - plain" (short legends)."""
    base = name.replace("Semantic ", "").split(" (")[0]
    what = name.split(" (")[1].rstrip(")").replace("other object's mask", "other's mask") if "(" in name else "semantic"
    return f"{base}: {what} - plain"


def slider(m: L.SceneMetrics):
    series = {n: list(h.mean(0)) for n, h in m.hits.items() if "(" not in n}
    return viz.show_interactive(viz.slider_lines(list(m.energies), series, "kept energy m",
                                                 "accuracy at each kept energy", "kept energy m", "accuracy",
                                                 colors=COLOURS))


def classic_table(study: Study, m: L.SceneMetrics):
    rows = [[n, float(h.mean()), len(h)] for n, h in m.classic.items()]
    return viz.markdown_table(["map", f"classic pointing game (tolerance {S.tolerance(study):.1f} px)", "pairs"], rows)


def centre_note(m: L.SceneMetrics):
    best = max(float(h.mean()) for n, h in m.classic.items() if n != L.CENTRE)
    return viz.Markdown(f"The centre baseline scores {float(m.classic[L.CENTRE].mean()):.2f} in the classic "
                        f"game and {float(m.hits[L.CENTRE][:, 0].mean()):.2f} at m = 0, against {best:.2f} for "
                        f"the best saliency map. The boxes cover {m.area.mean():.0%} of the image on average "
                        f"(from {m.area.min():.0%} to {m.area.max():.0%}).")


def live(study: Study, pairs: L.ScenePairs, energies=S.ENERGIES):
    """Live slider (JupyterLab, Colab): the pixels one map keeps at each energy
    (:func:`sevec_helpers.evaluation.pointing.kept_pixels`, the game's own cut-off)."""
    import matplotlib.pyplot as plt

    from sevec_helpers.book import widgets

    def show(m_energy, pair=0, name="Semantic Gradient*Input"):
        kept = kept_pixels(pairs.maps[name][pair], float(m_energy)).numpy()
        _, ax = plt.subplots(1, 2, figsize=(5, 2.5))
        ax[0].imshow(study.image("scenes", int(pairs.scene[pair])))
        ax[1].imshow(kept, cmap="gray", vmin=0, vmax=1)
        for a in ax:
            for x0, y0, x1, y1 in pairs.boxes[pair]:
                a.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="yellow"))
            a.axis("off")
        ax[1].set_title(f"kept pixels, m = {m_energy:.2f}", fontsize=9)
    return widgets.slider(show, energies, "kept energy")


def checks(m: L.SceneMetrics) -> list:
    """Our own checks (never counted as reproductions): the lenient game, the classic game,
    the centre baseline."""
    imp2 = _improvements(m, m.hits_half)
    out = []
    for method in S.METHODS:
        h = imp2[L.map_name(method, L.OWN)]
        above = int(np.sum(np.asarray(h["low"]) > 0))
        below = int(np.sum(np.asarray(h["high"]) < 0))
        out.append(C.Check(f"fig7_half_{method}", f"Fig. 7 with a lenient game: half of the kept pixels in the box "
                           f"({METHOD_LABELS[method]})", f"improvement {min(h['improvement']):+.3f} .. "
                           f"{max(h['improvement']):+.3f}; interval above 0 at {above}, below 0 at {below} of "
                           f"{len(m.energies)} energies", "a softer version of the paper's game",
                           {"above": above, "below": below}))
        plain, own = m.classic[L.map_name(method, L.PLAIN)], m.classic[L.map_name(method, L.OWN)]
        cm, clo, chi = A.bootstrap_mean(own.astype(float) - plain.astype(float), m.scene)
        out.append(C.Check(f"classic_{method}", f"Classic pointing game, semantic minus plain ({METHOD_LABELS[method]})",
                           f"{plain.mean():.3f} -> {own.mean():.3f} ({cm:+.3f} [{clo:+.3f}, {chi:+.3f}])",
                           "the m -> 0 end of the game, with a 15 px (at 224 px) tolerance",
                           {"plain": float(plain.mean()), "semantic": float(own.mean()), "low": clo, "high": chi}))
    out.append(C.Check("centre", "The centre baseline (the paper notes it is strong)",
                       f"classic game {m.classic[L.CENTRE].mean():.3f}; strict game at m = 0 "
                       f"{m.hits[L.CENTRE][:, 0].mean():.3f}",
                       "a map that knows nothing about the image", {"classic": float(m.classic[L.CENTRE].mean())}))
    return out


def record(study: Study, m: L.SceneMetrics, rows: list) -> Record:
    """The chapter's record: the verdict rows its notebook computed from the scene pass ``m``,
    our checks, and the numbers behind them (to judge another network, run the notebook
    itself: :func:`sevec_helpers.book.runner.judge`)."""
    rows = list(rows)
    imp1 = _improvements(m, m.hits)
    nums = {"energies": m.energies, "accuracy": {n: h.mean(0) for n, h in m.hits.items()},
            "accuracy_half": {n: h.mean(0) for n, h in m.hits_half.items()}, "improvement": imp1,
            "classic": {n: float(h.mean()) for n, h in m.classic.items()}, "pairs": len(m.scene)}
    return Record("07_pointing_game", study.profile, nums, rows, checks(m), network=network_of(study))
