"""Which class is which: the model's category names (its description, see
:func:`sevec_helpers.sources.models.describe_model`), the class names of a data set and the
names of fitted SeVecs, matched by name, never by position alone.

A SeVec row masks a target class, and a data set's label is compared with a model output,
only when the two are known to be the same class:

- by name, when the model carries its category names (``load_model`` and ``describe_model``
  give them) and the SeVecs / the data name their classes;
- by index, when the names ARE output indices (``"0"``, ``"7"``: what SeVecs fitted without
  names are called), or are the 1000 ImageNet synsets (``n01440764`` ...) in their standard
  sorted order, which is the output order of every ImageNet classifier.

Anything else is refused with what to change; nothing is matched by row number by default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
import torch.nn as nn

from sevec_helpers.core.inputs import INFO_ATTR

_WNID = re.compile(r"^n\d{8}$")


def model_categories(model: nn.Module) -> list[str] | None:
    """The model's category names, one per output (None when it carries none)."""
    cats = (getattr(model, INFO_ATTR, None) or {}).get("categories")
    return [str(c) for c in cats] if cats else None


def model_label(model: nn.Module) -> str:
    """How messages name the model: its described name, else its class name."""
    return (getattr(model, INFO_ATTR, None) or {}).get("name") or type(model).__name__


def data_class_names(data) -> list[str] | None:
    """The class names of a data set (its ``classes``; a DataLoader's or a Subset's data set's),
    or None for tensors and data sets without them."""
    if isinstance(data, torch.Tensor) or isinstance(data, (tuple, list)):
        return None
    ds = data
    for _ in range(4):  # DataLoader -> Subset -> Dataset
        classes = getattr(ds, "classes", None)
        if classes is not None:
            return [str(c) for c in classes]
        nxt = getattr(ds, "dataset", None)
        if nxt is None or nxt is ds:
            break
        ds = nxt
    return None


def labels_are_outputs(data) -> bool:
    """Whether a data set's labels are model outputs already, whatever its class names (an
    :class:`sevec_helpers.sources.datasets.ImageFolderCapped` with a ``label_map``)."""
    ds = data
    for _ in range(4):
        if getattr(ds, "label_map", None) is not None:
            return True
        nxt = getattr(ds, "dataset", None)
        if nxt is None or nxt is ds:
            break
        ds = nxt
    return False


def index_names(names: Sequence[str]) -> list[int] | None:
    """The output indices that names like ``"0"``, ``"7"`` stand for (every name must be one);
    None otherwise."""
    names = [str(n) for n in names]
    if names and all(n.isdigit() for n in names):
        return [int(n) for n in names]
    return None


def _imagenet_synsets(names: Sequence[str], num_outputs: int) -> bool:
    """The 1000 ImageNet synsets in their standard (sorted) order: output i is synset i."""
    names = list(names)
    return num_outputs == 1000 and len(names) == 1000 and all(_WNID.match(n) for n in names) and names == sorted(names)


def _synset_hint(names: Sequence[str]) -> str:
    """What to do with ImageNet synset names that are not all 1000 in order."""
    if not any(_WNID.match(str(n)) for n in names):
        return ""
    return (" These look like ImageNet synsets: only all 1000 of them in their standard order are matched by index; "
            "name the classes by the model's category names instead (e.g. sevec_helpers.sources.datasets."
            "ImageFolderCapped(..., names=[the category name of each synset folder]), the names from "
            "read_synset_mapping), or give labels that are output indices (label_map=).")


def _shown(names: Sequence[str], n: int = 12) -> str:
    names = [repr(str(v)) for v in names]
    return ", ".join(names[:n]) + (f", ... ({len(names) - n} more)" if len(names) > n else "")


def outputs_of(names: Sequence[str], model: nn.Module, num_outputs: int | None = None) -> list[list[int]]:
    """For each name, the model outputs it names: ``[o]`` when one, ``[]`` when none, several
    when the model's category names repeat (ImageNet has two "crane" and two "maillot").

    Parameters
    ----------
    names : sequence of str
        Class names (of SeVecs or of a data set).
    model : torch.nn.Module
        The classifier; its category names come from its description.
    num_outputs : int, optional
        Its number of outputs, when known (checked against its category names).

    Returns
    -------
    list of list of int

    Raises
    ------
    ValueError
        The model carries no category names and the names are not output indices or
        ImageNet's synsets; or its category names do not fit its outputs.
    """
    names = [str(n) for n in names]
    idx = index_names(names)
    if idx is not None:
        return [[i] for i in idx]
    cats = model_categories(model)
    n_out = num_outputs if num_outputs is not None else (len(cats) if cats else None)
    if n_out is not None and _imagenet_synsets(names, n_out):
        return [[i] for i in range(1000)]
    if cats is None:
        raise ValueError(f"{model_label(model)} carries no category names, so its outputs cannot be matched with "
                         f"the classes {_shown(names, 6)} by name. Describe the model's classes "
                         f"(sevec_helpers.describe_model(model, categories=[one name per output, in output order])), "
                         f"or name the classes by output index ('0', '1', ...)")
    if num_outputs is not None and len(cats) != num_outputs:
        raise ValueError(f"{model_label(model)} carries {len(cats)} category names but returns {num_outputs} "
                         f"outputs: its description does not fit it; describe it again with one name per output "
                         f"(sevec_helpers.describe_model(model, categories=...))")
    where: dict[str, list[int]] = {}
    for i, c in enumerate(cats):
        where.setdefault(c, []).append(i)
    return [list(where.get(n, [])) for n in names]


def rows_for_targets(model: nn.Module, names: Sequence[str], targets: torch.Tensor, num_outputs: int,
                     what: str = "these SeVecs") -> torch.Tensor:
    """The SeVec row of each target class, matched by name (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        The classifier.
    names : sequence of str
        The SeVecs' names, one per row.
    targets : torch.Tensor
        (N,) target output indices.
    num_outputs : int
        The model's number of outputs.
    what : str
        How messages name the SeVecs.

    Returns
    -------
    torch.Tensor
        (N,) int64 rows on the CPU.

    Raises
    ------
    ValueError
        A target without a SeVec of its class (the message lists the fitted names), a class
        name that names several outputs, or a model whose outputs cannot be named.
    """
    names = [str(n) for n in names]
    t = torch.as_tensor(targets).reshape(-1).long().cpu()
    try:
        outs = outputs_of(names, model, num_outputs)
    except ValueError as e:
        first = int(t[0]) if len(t) else 0
        raise ValueError(f"the SeVec of target class {first} cannot be chosen: {e}; or pass concepts= (each "
                         f"sample's SeVec row or name)") from None
    row_of: dict[int, int] = {}
    ambiguous: dict[int, str] = {}
    for r, o in enumerate(outs):
        if len(o) > 1:
            for j in o:
                ambiguous[j] = names[r]
        elif o:
            row_of.setdefault(o[0], r)
    cats = model_categories(model)
    rows = []
    for v in t.tolist():
        if v in row_of:
            rows.append(row_of[v])
            continue
        label = f"{v} ({cats[v]!r})" if cats and 0 <= v < len(cats) else f"{v}"
        if v in ambiguous:
            others = [j for j, c in enumerate(cats or []) if c == ambiguous[v]]
            raise ValueError(f"target class {label}: the model has several classes named {ambiguous[v]!r} (outputs "
                             f"{', '.join(map(str, others))}), so the SeVec named {ambiguous[v]!r} could be any of "
                             f"them; pass concepts= with the SeVec row of each sample")
        hint = ""
        if cats and not any(outs):
            hint = (f" None of their names is one of the model's category names ({_shown(names, 3)} vs "
                    f"{_shown(cats, 3)}): fit them with names= the model's category names of those classes.")
        raise ValueError(f"target class {label} has no SeVec: {what} were fitted for {len(names)} classes: "
                         f"{_shown(names)}.{hint}{_synset_hint(names) if not any(outs) else ''} Pick a target among "
                         f"them, fit a SeVec of this class too, or pass concepts= to choose each sample's SeVec row "
                         f"or name")
    return torch.tensor(rows, dtype=torch.long)


def label_outputs(model: nn.Module, data, num_outputs: int) -> torch.Tensor | None:
    """The model output of each label of ``data`` (None when label i is output i).

    Labels are output indices when the data names no classes (tensors), when its labels were
    mapped to outputs already (``label_map``), or when its class names are the model's own
    in output order. Otherwise the data's class names are matched with the model's category
    names (or output indices, or ImageNet's synsets).

    Parameters
    ----------
    model : torch.nn.Module
        The classifier.
    data
        The labelled data (a Dataset with ``classes``, a DataLoader of one, tensors).
    num_outputs : int
        The model's number of outputs.

    Returns
    -------
    torch.Tensor or None
        (C,) int64: label c is output ``result[c]``; None for the identity.

    Raises
    ------
    ValueError
        A data class that is not one of the model's classes (named), or data of a different
        number of classes for a model without category names.
    """
    names = data_class_names(data)
    if names is None or labels_are_outputs(data):
        return None
    cats = model_categories(model)
    if cats is None and index_names(names) is None and not _imagenet_synsets(names, num_outputs):
        if len(names) == num_outputs:
            return None  # the model's own classes (it carries no names to say otherwise), as torchvision reads them
        raise ValueError(f"the data has {len(names)} classes ({_shown(names, 5)}) and {model_label(model)} has "
                         f"{num_outputs} outputs, but the model carries no category names to say which output each "
                         f"class is: describe it (sevec_helpers.describe_model(model, categories=[one name per "
                         f"output]))")
    outs = outputs_of(names, model, num_outputs)
    missing = [n for n, o in zip(names, outs) if len(o) != 1]
    if missing:
        several = [n for n, o in zip(names, outs) if len(o) > 1]
        if several:
            raise ValueError(f"the data's class {several[0]!r} names several outputs of {model_label(model)}; give "
                             f"the data labels that are output indices (e.g. a label_map)")
        raise ValueError(f"the data's classes {_shown(missing, 6)} are not classes of {model_label(model)} (its "
                         f"categories: {_shown(cats or [], 6)}); name the data's class folders by the model's "
                         f"category names, or give labels that are output indices.{_synset_hint(missing)}")
    out = torch.tensor([o[0] for o in outs], dtype=torch.long)
    if len(out) <= num_outputs and torch.equal(out, torch.arange(len(out))):
        return None
    if int(out.max()) >= num_outputs:
        raise ValueError(f"the data's classes name outputs up to {int(out.max())}, but the model has {num_outputs}")
    return out
