"""The paper's claims, its numbers, and the rules that judge ours against them.

Two kinds of rows come out of this package:

- :class:`Verdict`: one of the paper's claims, tested the way the paper tested it, printed
  beside the paper's number. Its verdict is one of ``reproduced``, ``partly``,
  ``not reproduced`` or ``not testable`` (with the reason); a claim judged on several
  networks (:func:`across_networks`) is ``mixed`` when they disagree, never counted as
  reproduced.
- :class:`Check`: a check of our own (a sanity check, an easier variant, an extension).
  It reports a result and never counts as a reproduction.

Every rule is a function with its boundaries in its docstring, written before the numbers
it judges were seen, and tested at those boundaries in ``tests/test_claims.py``. The rules
take plain numbers (means, intervals, p-values); the measurements that produce them live
in :mod:`sevec_helpers.evaluation.stats`. Never loosen a rule to fit a result: change the
measurement or report the failure.

Rules v3 (issue 19) were written and committed before the extra networks they are judged
on were trained: negative claims need power and a positive control
(:func:`negative_retrieval`, :func:`color_ablation`), Fig. 6's permuted control asks whether
the class's units beat as many random units (:func:`discriminative`, :func:`example_scene`),
Table 2 is judged on the Fisher-z interval of r and D_c's reading as multifacetedness is
its own row (:func:`table2`, :func:`multifacetedness`), Table 1's row names its label
dependence and the other masks (:func:`table1`), and a claim over several networks gets the
verdict they agree on, else ``mixed`` (:func:`agreement`, :func:`across_networks`).

Rules v4 (issue 30) were written and committed before the photo testbed existed, so the
real photographs are a test the rules were not fitted to. A positive claim needs an
effect-size floor, not only an interval that excludes zero (Table 1: :data:`TABLE1_MIN_RISE`;
Fig. 3: :data:`HIERARCHY_MIN_NN`; Fig. 6: :data:`FIG6_MIN_GAIN` and the maps of two targets
must differ more with the mask, :data:`FIG6_MIN_SEPARATION`; Fig. 7: :data:`FIG7_MIN_GAIN`);
a claim whose positive control fails is "not testable" (D_c as multifacetedness needs a
facet probe that sees the facets, :func:`multifacetedness`); every "why" is written from
the numbers beside it; a hierarchy row says what its levels are on its testbed; and every
row, and every headline, names its testbed (:data:`TESTBEDS`). What each verdict word means
is :data:`DEFINITIONS`; what changed from version to version is :data:`CHANGELOG`.

One module per part of the paper (:mod:`.validation`: Sec. 3.1; :mod:`.hierarchy`: Sec. 4.1;
:mod:`.diversity`: Sec. 3 and 4.2; :mod:`.relations`: Sec. 4.3; :mod:`.saliency`: Sec. 5),
what they share in :mod:`.base`, and the summary over claims and networks in :mod:`.across`.
To change a verdict rule, change its function there (and its boundary test in
``tests/test_claims.py``), never after seeing the number it judges.
"""

from sevec_helpers.book.claims.across import (  # noqa: F401  (the rules, in one namespace)
    HEADLINE,
    across_networks,
    agreement,
    counts,
    deciding,
    headline,
)
from sevec_helpers.book.claims.base import (  # noqa: F401  (the rules, in one namespace)
    ALPHA,
    CEILING_ACC,
    CEILING_SHARE,
    CHANGELOG,
    DEFINITIONS,
    FACET_PROBE_SHARE,
    FIG6_MIN_GAIN,
    FIG6_MIN_SEPARATION,
    FIG7_MIN_GAIN,
    FIG7_MIN_HIT,
    FIG7_SHARE,
    GRAY_BAR,
    HIERARCHY_MIN_NN,
    MIXED,
    MODERATE_R,
    NEG_RATIO,
    NEGLIGIBLE_R,
    NOT,
    PAPER,
    PARTLY,
    REPRODUCED,
    RULES_VERSION,
    TABLE1_MIN_RISE,
    TABLE1_SEMS,
    TESTBEDS,
    TOL,
    UNTESTABLE,
    VERDICTS,
    Z95,
    Check,
    Verdict,
    fisher_interval,
    holm,
    testbed_of,
    untestable,
)
from sevec_helpers.book.claims.diversity import (  # noqa: F401  (the rules, in one namespace)
    dominant_cluster,
    facet_probe_ok,
    multifacetedness,
    table2,
)
from sevec_helpers.book.claims.hierarchy import (  # noqa: F401  (the rules, in one namespace)
    hierarchy,
)
from sevec_helpers.book.claims.relations import (  # noqa: F401  (the rules, in one namespace)
    explanations,
    relations,
)
from sevec_helpers.book.claims.saliency import (  # noqa: F401  (the rules, in one namespace)
    EXAMPLE_SCENE_RULE,
    discriminative,
    example_scene,
    pointing,
)
from sevec_helpers.book.claims.validation import (  # noqa: F401  (the rules, in one namespace)
    color_ablation,
    gray_recovery,
    negative_retrieval,
    retrieval,
    table1,
)
