"""Chapter 7, the generalized pointing game (paper Sec. 5.2, Fig. 7): accuracy against the kept
energy, the improvement of the semantic versions with scene-level intervals, the controls,
the classic game and the centre baseline. The game itself is :mod:`sevec_helpers.pointing`."""

from __future__ import annotations

import numpy as np

from .. import analysis as A
from .. import claims as C
from .. import scene_eval as E
from .. import viz
from ..profiles import Study
from ..saliency import METHOD_LABELS
from . import Record, toys  # noqa: F401  (toys: the chapter's worked examples)
from . import scenes as S


def _improvements(m: E.SceneMetrics, hits: dict) -> dict:
    """Per method: semantic minus plain, and each control minus plain (on its own pairs)."""
    out = {}
    for method in S.METHODS:
        plain = hits[E.map_name(method, E.PLAIN)]
        for v in (E.OWN, E.PERMUTED, E.OTHER):
            name = E.map_name(method, v)
            if name not in hits:
                continue
            rows = m.rows(name)
            out[name] = E.paired_improvement(hits[name], plain[rows], m.scene[rows], m.energies)
    return out


def accuracy_figure(m: E.SceneMetrics, q: float = 1.0):
    hits = m.hits if q == 1.0 else m.hits_half
    ys = {n: h.mean(0) for n, h in hits.items() if "(" not in n}
    return viz.curves(m.energies, ys, "kept energy m", "accuracy",
                      f"generalized pointing game ({'strict, q = 1' if q == 1.0 else 'q = 0.5'})")


def improvement_figure(m: E.SceneMetrics, q: float = 1.0):
    """Fig. 7: semantic minus plain per energy with 95% intervals over scenes; dashed: the controls."""
    imp = _improvements(m, m.hits if q == 1.0 else m.hits_half)
    main = {f"{n} - plain": d["improvement"] for n, d in imp.items() if "(" not in n}
    bands = {f"{n} - plain": (d["low"], d["high"]) for n, d in imp.items() if "(" not in n}
    fig = viz.curves(m.energies, main, "kept energy m", "accuracy improvement",
                     f"improved localization accuracy ({'q = 1' if q == 1.0 else 'q = 0.5'})", bands=bands,
                     zero_line=True)
    ax = fig.axes[0]
    for n, d in imp.items():
        if "(" in n:
            ax.plot(m.energies, d["improvement"], ls="--", lw=1, label=f"{n} - plain")
    ax.legend(fontsize=8)
    return fig


def slider(m: E.SceneMetrics):
    series = {n: list(h.mean(0)) for n, h in m.hits.items() if "(" not in n}
    return viz.show_interactive(viz.slider_lines(list(m.energies), series, "kept energy m",
                                                 "accuracy at each kept energy", "kept energy m", "accuracy"))


def classic_table(study: Study, m: E.SceneMetrics):
    rows = [[n, float(h.mean()), len(h)] for n, h in m.classic.items()]
    return viz.markdown_table(["map", f"classic pointing game (tolerance {S.tolerance(study):.1f} px)", "pairs"], rows)


def centre_note(study: Study, m: E.SceneMetrics):
    best = max(float(h.mean()) for n, h in m.classic.items() if n != "centre baseline")
    return viz.Markdown(f"The centre baseline scores {float(m.classic['centre baseline'].mean()):.2f} in the classic "
                        f"game and {float(m.hits['centre baseline'][:, 0].mean()):.2f} at m = 0, against {best:.2f} for "
                        f"the best saliency map. The boxes cover {m.area.mean():.0%} of the image on average "
                        f"(from {m.area.min():.0%} to {m.area.max():.0%}).")


def live(study: Study, pairs: E.ScenePairs, energies=S.ENERGIES):
    """Live slider (JupyterLab, Colab): the pixels one map keeps at each energy."""
    import matplotlib.pyplot as plt

    from .. import widgets

    def show(m_energy, pair=0, name="Semantic Gradient*Input"):
        mp = pairs.maps[name][pair].numpy()
        vals = np.sort(mp.ravel())[::-1]
        cut = vals[min(int(np.searchsorted(np.cumsum(vals), m_energy * vals.sum())), len(vals) - 1)]
        fig, ax = plt.subplots(1, 2, figsize=(5, 2.5))
        ax[0].imshow(study.image("scenes", int(pairs.scene[pair])))
        ax[1].imshow(mp >= cut, cmap="gray")
        for a in ax:
            for x0, y0, x1, y1 in pairs.boxes[pair]:
                a.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="yellow"))
            a.axis("off")
        ax[1].set_title(f"kept pixels, m = {m_energy:.2f}", fontsize=9)
    return widgets.slider(show, energies, "kept energy")


def record(study: Study, m: E.SceneMetrics | None = None) -> Record:
    m = m or S.metrics(study)
    imp1, imp2 = _improvements(m, m.hits), _improvements(m, m.hits_half)
    plain_hits = [m.hits[E.map_name(x, v)] for x in S.METHODS for v in (E.PLAIN, E.OWN)]
    best = np.max([h.mean(0) for h in plain_hits], axis=0)
    verdicts, checks = [], []
    for method in S.METHODS:
        d = imp1[E.map_name(method, E.OWN)]
        verdicts.append(C.pointing(E.map_name(method, E.PLAIN), m.energies, d["improvement"], d["low"], d["high"], best))
        h = imp2[E.map_name(method, E.OWN)]
        above = int(np.sum(np.asarray(h["low"]) > 0))
        below = int(np.sum(np.asarray(h["high"]) < 0))
        checks.append(C.Check(f"fig7_half_{method}", f"Fig. 7 with a lenient game: half of the kept pixels in the box "
                              f"({METHOD_LABELS[method]})", f"improvement {min(h['improvement']):+.3f} .. "
                              f"{max(h['improvement']):+.3f}; interval above 0 at {above}, below 0 at {below} of "
                              f"{len(m.energies)} energies", "a softer version of the paper's game",
                              {"above": above, "below": below}))
        plain, own = m.classic[E.map_name(method, E.PLAIN)], m.classic[E.map_name(method, E.OWN)]
        cm, clo, chi = A.bootstrap_mean(own.astype(float) - plain.astype(float), m.scene)
        checks.append(C.Check(f"classic_{method}", f"Classic pointing game, semantic minus plain ({METHOD_LABELS[method]})",
                              f"{plain.mean():.3f} -> {own.mean():.3f} ({cm:+.3f} [{clo:+.3f}, {chi:+.3f}])",
                              "the m -> 0 end of the game, with a 15 px (at 224 px) tolerance",
                              {"plain": float(plain.mean()), "semantic": float(own.mean()), "low": clo, "high": chi}))
    checks.append(C.Check("centre", "The centre baseline (the paper notes it is strong)",
                          f"classic game {m.classic['centre baseline'].mean():.3f}; strict game at m = 0 "
                          f"{m.hits['centre baseline'][:, 0].mean():.3f}",
                          "a map that knows nothing about the image", {"classic": float(m.classic["centre baseline"]
                                                                                       .mean())}))
    nums = {"energies": m.energies, "accuracy": {n: h.mean(0) for n, h in m.hits.items()},
            "accuracy_half": {n: h.mean(0) for n, h in m.hits_half.items()}, "improvement": imp1,
            "classic": {n: float(h.mean()) for n, h in m.classic.items()}, "pairs": len(m.scene)}
    return Record("07_pointing_game", study.profile, nums, verdicts, checks)
