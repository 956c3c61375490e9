"""Streaming sums for SeVecs: O(K * D) memory, mergeable across shards and processes.

Per concept c: A_c = sum of the normalised patterns a_i / |a_i| of its live samples, the sum
of the binary patterns a_i, M_c live samples (at least one active unit) and the dead ones.
The activation rate is r_c = sum_i a_i / (M_c + dead_c): the share of ALL the concept's
samples on which a unit fires. A dead sample is an image of the concept on which no unit
fires, so it lowers every rate (a unit active on 1 of 3 samples, the other two dead: r = 1/3), while v_c
and D_c are over the live samples only (a zero pattern has no direction).
"""

from __future__ import annotations

import warnings
from typing import Sequence

import torch

from sevec_helpers.core.inputs import check_labels


class SeVecAccumulator:
    """Streaming sums for SeVecs: O(K * D) memory whatever the number of images.

    ``update`` takes raw (or already binary) activations (B, D) and concept labels (B,);
    ``merge`` adds another accumulator (e.g. a shard from another process), so fitting
    shards and merging equals one pass over all the data; ``finalize`` gives the fitted
    tensors (:meth:`sevec_helpers.SemanticVectors.from_accumulator`).

    ``num_concepts=None`` takes concepts as their labels arrive; rows are allocated only for
    labels actually seen, so one stray label (say 40000 among 24 classes) costs nothing
    before ``finalize`` refuses the gap it leaves.
    """

    def __init__(self, num_concepts: int | None, dim: int, *, device=None, dtype: torch.dtype | None = None):
        if num_concepts is not None and (not isinstance(num_concepts, int) or num_concepts < 1):
            raise ValueError(f"num_concepts must be a positive int or None, got {num_concepts!r}")
        if not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        dev = torch.device(device) if device is not None else torch.device("cpu")
        if dtype is None:  # exact sums on the CPU; on accelerators float32 (mps has no float64; cuda is faster)
            dtype = torch.float64 if dev.type == "cpu" else torch.float32
        self.dim = dim
        self.fixed = num_concepts is not None
        k = num_concepts or 0
        self.sums = torch.zeros(k, dim, dtype=dtype, device=dev)        # A_c
        self.active = torch.zeros(k, dim, dtype=dtype, device=dev)      # sum_i a_i
        self.counts = torch.zeros(k, dtype=torch.long, device=dev)      # M_c (live samples)
        self.dead = torch.zeros(k, dtype=torch.long, device=dev)        # samples with |a| = 0
        # label -> row (only when num_concepts is None): -1 for labels never seen
        self.row_of = torch.arange(k) if self.fixed else torch.zeros(0, dtype=torch.long)

    @property
    def num_concepts(self) -> int:
        """The number of concepts so far: num_concepts, or the largest label seen + 1."""
        return len(self.row_of)

    def _rows(self, labels: torch.Tensor) -> torch.Tensor:
        """Rows for CPU ``labels``, allocating rows for labels seen for the first time."""
        if self.fixed:
            hi = int(labels.max())
            if hi >= self.num_concepts:
                raise ValueError(f"label {hi} is out of range for {self.num_concepts} concepts "
                                 f"(valid: 0..{self.num_concepts - 1}); pass num_concepts= or names= that cover it")
            return labels
        hi = int(labels.max())
        if hi >= len(self.row_of):
            self.row_of = torch.cat([self.row_of, torch.full((hi + 1 - len(self.row_of),), -1, dtype=torch.long)])
        new = torch.unique(labels[self.row_of[labels] < 0])
        if len(new):
            start = self.sums.shape[0]
            self.row_of[new] = torch.arange(start, start + len(new))
            z = lambda t: torch.cat([t, torch.zeros((len(new),) + t.shape[1:], dtype=t.dtype, device=t.device)])
            self.sums, self.active, self.counts, self.dead = z(self.sums), z(self.active), z(self.counts), z(self.dead)
        return self.row_of[labels]

    @torch.no_grad()
    def update(self, activations: torch.Tensor, labels, *, check_finite: bool = True) -> None:
        """Add a batch: activations (B, D) (any shape (B, ...) is flattened), labels (B,).

        ``check_finite=False`` skips the NaN/Inf check (a host sync on GPUs) for callers that
        check lazily themselves, as :func:`fit_sevecs` does.
        """
        h = activations.reshape(activations.shape[0], -1)
        if h.shape[1] != self.dim:
            raise ValueError(f"activations have {h.shape[1]} units per sample, this accumulator expects {self.dim}")
        labels = check_labels(labels.cpu() if isinstance(labels, torch.Tensor) else labels, h.shape[0])
        if labels.numel() == 0:
            return
        if check_finite and not torch.isfinite(h).all():
            raise ValueError("activations contain NaN or Inf; check the model and its input scaling")
        rows = self._rows(labels)
        dev = self.sums.device
        a = (h > 0).to(device=dev, dtype=self.sums.dtype)
        rows = rows.to(dev)
        n = a.sum(1)
        live = n > 0
        a_hat = a * n.clamp(min=1).rsqrt().unsqueeze(1)
        self.sums.index_add_(0, rows, a_hat)
        self.active.index_add_(0, rows, a)
        self.counts.index_add_(0, rows, live.long())
        self.dead.index_add_(0, rows, (~live).long())

    def _dense(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` indexed by label (rows of labels never seen are zeros)."""
        if self.fixed:
            return t
        out = torch.zeros((self.num_concepts,) + t.shape[1:], dtype=t.dtype, device=t.device)
        seen = self.row_of >= 0
        out[seen.to(t.device)] = t[self.row_of[seen].to(t.device)]
        return out

    def merge(self, other: "SeVecAccumulator") -> "SeVecAccumulator":
        """Add ``other``'s sums into this accumulator (in place) and return self."""
        if other.dim != self.dim:
            raise ValueError(f"cannot merge accumulators of {other.dim} and {self.dim} units")
        if self.fixed and other.num_concepts > self.num_concepts:
            raise ValueError(f"cannot merge {other.num_concepts} concepts into a fixed set of {self.num_concepts}")
        labels = torch.arange(other.num_concepts)[other.row_of >= 0] if not other.fixed else torch.arange(other.num_concepts)
        if len(labels) == 0:
            return self
        src = other.row_of[labels] if not other.fixed else labels
        rows = self._rows(labels)
        dev = self.sums.device
        rows, src_d = rows.to(dev), src.to(other.sums.device)
        self.sums.index_add_(0, rows, other.sums[src_d].to(dev, self.sums.dtype))
        self.active.index_add_(0, rows, other.active[src_d].to(dev, self.active.dtype))
        self.counts.index_add_(0, rows, other.counts[src_d].to(dev))
        self.dead.index_add_(0, rows, other.dead[src_d].to(dev))
        return self

    def all_reduce(self, group=None) -> "SeVecAccumulator":
        """Sum this accumulator across a ``torch.distributed`` process group (e.g. under torchrun).
        Every rank must hold the same fixed number of concepts."""
        import torch.distributed as dist

        if not self.fixed:
            raise ValueError("all_reduce needs the same concepts on every rank: create the accumulator with "
                             "num_concepts= (fit with names= or num_concepts=)")
        for t in (self.sums, self.active, self.counts, self.dead):
            dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)
        return self

    def state(self) -> dict:
        """The sums as CPU tensors (for a checkpoint); :meth:`from_state` restores them."""
        return {"sums": self.sums.cpu(), "active": self.active.cpu(), "counts": self.counts.cpu(),
                "dead": self.dead.cpu(), "row_of": self.row_of.clone(), "fixed": torch.tensor(self.fixed)}

    @classmethod
    def from_state(cls, state: dict, device=None) -> "SeVecAccumulator":
        sums = state["sums"]
        fixed = bool(state["fixed"])
        acc = cls(len(state["row_of"]) if fixed else None, sums.shape[1], device=device, dtype=sums.dtype)
        dev = acc.sums.device
        acc.sums, acc.active = sums.to(dev), state["active"].to(dev)
        acc.counts, acc.dead = state["counts"].to(dev), state["dead"].to(dev)
        acc.row_of = state["row_of"].clone()
        return acc

    def finalize(self, names: Sequence[str] | None = None, *, allow_empty: bool = False) -> dict:
        """The fitted quantities as plain CPU tensors: ``vectors``, ``rates``, ``counts``, ``dead``,
        ``diversity`` and ``names`` (see :meth:`SemanticVectors.from_accumulator`). Raises if a
        concept has no live sample, before any dense (K, D) result is allocated."""
        k = self.num_concepts
        if k == 0:
            raise ValueError("no samples were seen: the data is empty")
        if names is None:
            names = [str(i) for i in range(k)]
        names = [str(n) for n in names]
        if len(names) != k:
            raise ValueError(f"got {len(names)} names for {k} concepts; pass one name per concept index")
        counts, dead = self._dense(self.counts).cpu(), self._dense(self.dead).cpu()
        dead_total = int(dead.sum())
        if dead_total:
            warnings.warn(
                f"{dead_total} sample(s) had no active unit at this layer and were excluded "
                f"(see SemanticVectors.dead per concept)", stacklevel=3)
        empty = (counts == 0).nonzero().flatten().tolist()
        if empty and not allow_empty:
            detail = [f"{names[i]!r} ({int(dead[i])} dead sample(s))" if int(dead[i]) else f"{names[i]!r} (no samples)"
                      for i in empty[:20]]
            raise ValueError(
                f"{len(empty)} concept(s) have no sample with any active unit: {', '.join(detail)}"
                f"{' ...' if len(empty) > 20 else ''}. Give each concept images, drop it from names/labels, "
                f"fix a stray label, or pass allow_empty=True to keep it as a zero vector."
            )
        sums = self._dense(self.sums).double().cpu()
        norms = sums.norm(dim=1)
        m = counts.double()
        vectors = torch.where(norms[:, None] > 0, sums / norms.clamp(min=1e-300)[:, None], torch.zeros_like(sums))
        # r_c: over all the concept's samples, dead ones (a_i = 0) included (see the module docstring)
        rates = self._dense(self.active).double().cpu() / (m + dead.double()).clamp(min=1)[:, None]
        diversity = torch.where(m > 0, 1.0 - norms / m.clamp(min=1), torch.full_like(m, float("nan")))
        return {"vectors": vectors.float(), "rates": rates.float(), "counts": counts.clone(), "dead": dead.clone(),
                "diversity": diversity.float(), "names": names}
