"""The photo testbed: real photographs from Debian's packages, for judging the paper's claims
on real ImageNet networks.

- objects: Tux Paint's stamps (``tuxpaint-stamps-default``), photographs of single objects
  with alpha masks, each mapped to one ImageNet-1k class by a written table (``stamps.csv``);
- backgrounds: the 12 photographs of ``mate-backgrounds``' nature folder (6 for fitting, 6 for
  hold-out);
- textures and materials: GIMP's patterns and Gimpressionist paper textures (``gimp-data``)
  and scikit-image's brick, grass and gravel;
- the class hierarchy: WordNet 3.0 (``classes.csv``).

The files are fetched once (``bash scripts/fetch_photos.sh``, or :func:`fetch`) into a local
cache and checked against committed sha256s; nothing is downloaded when the datasets are made.
:func:`status` says whether they are ready (None) or why not.

>>> import sevec_helpers as sh
>>> from sevec_helpers.sources import photo_testbed as pt
>>> model, spec = sh.load_model("efficientnet_lite0")
>>> tb = pt.testbed(spec)                                 # doctest: +SKIP
>>> sub, sub_spec = sh.sources.models.restrict_outputs(model, spec, tb.imagenet_indices)  # doctest: +SKIP
"""

from sevec_helpers.sources.photo_testbed.build import DEFAULT_SIZES, Testbed, class_truth, credits, testbed
from sevec_helpers.sources.photo_testbed.datasets import ClassImages, Scenes, Swatches, default_classes
from sevec_helpers.sources.photo_testbed.fetch import (
    ChecksumMismatch,
    PhotoTestbedUnavailable,
    data_dir,
    default_dest,
    fetch,
    status,
)

__all__ = ["testbed", "Testbed", "DEFAULT_SIZES", "class_truth", "credits", "ClassImages", "Scenes", "Swatches",
           "default_classes", "fetch", "status", "data_dir", "default_dest", "PhotoTestbedUnavailable",
           "ChecksumMismatch"]
