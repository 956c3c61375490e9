"""Predictions and accuracy of a classifier on labelled data, where the model lives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from sevec_helpers.core.classes import label_outputs
from sevec_helpers.core.features import as_loader, n_batches
from sevec_helpers.core.fingerprint import cached_result
from sevec_helpers.core.inputs import call_model, check_images, check_input_scale, eval_mode, model_dtype


def sem(values) -> float:
    """The standard error of the mean, std(values, ddof=1) / sqrt(n): the one implementation in
    the package (:func:`sevec_helpers.evaluation.stats.sem` and the perturbation study's errors call it).

    Parameters
    ----------
    values : array-like
        n numbers (flattened); NaN propagates.

    Returns
    -------
    float
        NaN when n < 2 (one value has no spread to estimate).
    """
    v = np.asarray(values, dtype=float).reshape(-1)
    return float(np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")


@dataclass
class Predictions:
    """Per image: the top-5 classes (N, 5), the label (N,) or None, the label's probability (N,)
    or None, and the model output the label names (N,) (None when label c is output c); and the
    model's number of outputs."""

    top5: torch.Tensor
    labels: torch.Tensor | None
    prob_true: torch.Tensor | None
    targets: torch.Tensor | None = None
    n_outputs: int | None = None

    @property
    def true_outputs(self) -> torch.Tensor | None:
        """(N,) the model output of each image's class."""
        return self.targets if self.targets is not None else self.labels


@torch.no_grad()
def predict(model: nn.Module, data, *, batch_size: int = 128, progress: bool = False, cache=None) -> Predictions:
    """Top-5 predictions (and, with labels, each label's softmax probability) for ``data``.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier (it is not moved).
    data : Dataset, DataLoader, tensor or (images, labels) tuple
        The images, with labels if any.
    batch_size, progress
        Batch size; show a progress bar.
    cache : DiskCache, optional
        Return the predictions stored for this model's weights and data, or compute and store them.

    Returns
    -------
    Predictions
        ``top5`` (N, 5), ``labels`` (N,) or None, ``prob_true`` (N,) or None, ``targets``: the
        model output of each label where they differ (a data set of some of the model's
        classes, matched by name: see :func:`accuracy`).
    """
    if cache is not None:
        def compute():
            p = predict(model, data, batch_size=batch_size, progress=progress)
            return {"top5": p.top5, "labels": p.labels, "prob_true": p.prob_true, "targets": p.targets,
                    "n_outputs": torch.tensor(p.n_outputs)}
        v = cached_result(cache, "tensors", "predictions", model, data, compute)
        n = v.get("n_outputs")
        return Predictions(v["top5"], v["labels"], v["prob_true"], v.get("targets"), None if n is None else int(n))
    tops, ys, probs, outs = [], [], [], []
    out_of, resolved, n_outputs = None, False, None
    dtype = model_dtype(model)
    with eval_mode(model) as dev, torch.inference_mode():
        for x, y in tqdm(as_loader(data, batch_size), total=n_batches(data, batch_size), disable=not progress,
                         desc="predict"):
            x = check_images(x, dtype=dtype).to(dev)
            if not tops:
                check_input_scale(model, x)
            out = call_model(model, x).float()
            n_outputs = out.shape[1]
            tops.append(out.topk(min(5, out.shape[1]), dim=1).indices.cpu())
            if y is not None and not isinstance(y, dict):
                if not resolved:   # which output each label names (by the data's class names)
                    out_of, resolved = label_outputs(model, data, out.shape[1]), True
                y = y.cpu()
                t = y if out_of is None else out_of[y]
                if int(t.max()) >= out.shape[1]:
                    raise ValueError(f"label {int(t.max())} is out of range for a model with {out.shape[1]} outputs")
                ys.append(y)
                outs.append(t)
                probs.append(torch.softmax(out, 1).gather(1, t.to(dev)[:, None])[:, 0].cpu())
    if not tops:
        raise ValueError("data is empty: nothing to predict")
    return Predictions(torch.cat(tops), torch.cat(ys) if ys else None, torch.cat(probs) if probs else None,
                       torch.cat(outs) if outs and out_of is not None else None, n_outputs)


@dataclass
class Accuracy:
    """Top-1 / top-5 accuracy overall, per class, and per image."""

    top1: float
    top5: float
    per_class_top1: np.ndarray
    per_class_top5: np.ndarray
    predictions: torch.Tensor      # (N,) top-1 class
    labels: torch.Tensor           # (N,)
    correct1: np.ndarray           # (N,) bool
    correct5: np.ndarray           # (N,) bool
    prob_true: np.ndarray          # (N,) the label's probability

    def mean_prob_per_class(self, num_classes: int) -> np.ndarray:
        y = self.labels.numpy()
        return np.array([self.prob_true[y == c].mean() if np.any(y == c) else np.nan for c in range(num_classes)])

    def as_dict(self) -> dict:
        return {"top1": self.top1, "top5": self.top5, "per_class_top1": self.per_class_top1.tolist(),
                "per_class_top5": self.per_class_top5.tolist()}


def accuracy(model: nn.Module, data, num_classes: int, *, batch_size: int = 128, progress: bool = False,
             cache=None) -> Accuracy:
    """Top-1 / top-5 accuracy overall and per class on labelled ``data``.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier (it is not moved).
    data : Dataset, DataLoader or (images, labels) tuple
        Labelled images.
    num_classes : int
        Number of classes of the data, for the per-class accuracies. Data of some of the
        model's classes (an ImageFolder of five ImageNet classes) is scored against the model
        outputs its class names name (matched by name, as :func:`perturbation_study` does); a
        class the model does not have is refused.
    batch_size, progress, cache
        As in :func:`predict`.

    Returns
    -------
    Accuracy
        ``top1``, ``top5`` (floats), ``per_class_top1`` / ``per_class_top5`` (num_classes,),
        and per image ``predicted``, ``labels``, ``correct1``, ``correct5``, ``prob_true``.

    Raises
    ------
    ValueError
        When ``data`` has no labels.
    """
    return accuracy_of(predict(model, data, batch_size=batch_size, progress=progress, cache=cache), num_classes)


def accuracy_of(p: Predictions, num_classes: int) -> Accuracy:
    """Top-1 / top-5 accuracy overall and per class from predictions of labelled data."""
    if p.labels is None:
        raise ValueError("accuracy needs labelled data: yield (image, class_index) pairs")
    y = p.labels
    true = p.true_outputs
    t1 = (p.top5[:, 0] == true).numpy()
    t5 = (p.top5 == true[:, None]).any(1).numpy()
    yn = y.numpy()
    per = lambda ok: np.array([ok[yn == c].mean() if np.any(yn == c) else np.nan for c in range(num_classes)])
    return Accuracy(float(t1.mean()), float(t5.mean()), per(t1), per(t5), p.top5[:, 0], y, t1, t5,
                    p.prob_true.double().numpy())
