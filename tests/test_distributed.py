"""Two processes under torchrun (gloo, CPU) give the same SeVecs as one process."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch
from torch.utils.data import Subset

import sevec_helpers as sh
from sevec_helpers.sevecs.distributed import fit_shard, shard

SCRIPT = textwrap.dedent("""
    import sys, torch, torch.distributed as dist
    from torch.utils.data import Subset
    import sevec_helpers as sh
    from sevec_helpers.sevecs.distributed import fit_sevecs_distributed
    from sevec_helpers.sources.world import ObjectsDataset
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    model, spec = sh.load_model("vgg_mini")
    ds = ObjectsDataset(split="test", per_class=3, transform=spec.transform)
    both = fit_sevecs_distributed(model, ds, layers=["pool5", "fc1"], batch_size=8)
    one = fit_sevecs_distributed(model, ds, "fc1", batch_size=8)
    # one image for two processes: rank 1's shard is empty; both ranks get the image's SeVecs
    tiny = fit_sevecs_distributed(model, Subset(ds, [0]), "fc1", names=ds.classes, allow_empty=True)
    for name, sv in (("pool5", both["pool5"]), ("fc1", both["fc1"]), ("single", one), ("tiny", tiny)):
        sv.save(f"{sys.argv[1]}.{name}.rank{rank}.pt")
    dist.destroy_process_group()
""")

def test_shards_are_disjoint_and_cover_everything():
    parts = [shard(list(range(10)), r, 3).indices for r in range(3)]
    assert sorted(i for p in parts for i in p) == list(range(10))


@pytest.mark.slow
def test_torchrun_two_processes_equal_one(tmp_path):
    """Two processes: one layer, two layers in one pass, and one image (an empty shard on rank
    1, which used to fail with "rank 1 received no images") all equal one process, on both ranks."""
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    out = tmp_path / "sv"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533",
                        str(script), str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    from sevec_helpers.sources.world import ObjectsDataset

    model, spec = sh.load_model("vgg_mini")
    ds = ObjectsDataset(split="test", per_class=3, transform=spec.transform)
    ref = {layer: sh.fit_sevecs(model, ds, layer, batch_size=8, progress=False) for layer in ("pool5", "fc1")}
    ref["single"] = ref["fc1"]
    ref["tiny"] = sh.fit_sevecs(model, Subset(ds, [0]), "fc1", names=ds.classes, allow_empty=True, progress=False)
    assert int(ref["tiny"].counts.sum()) == 1
    for name, one in ref.items():
        for rank in (0, 1):
            sv = sh.SemanticVectors.load(f"{out}.{name}.rank{rank}.pt")
            assert torch.equal(sv.counts, one.counts), (name, rank)
            assert torch.allclose(sv.vectors, one.vectors, atol=1e-6) and torch.allclose(sv.rates, one.rates, atol=1e-6)
            assert sv.layer == one.layer and sv.input_size == one.input_size == (64, 64)


def test_fit_shard_refuses_empty_data_before_any_collective():
    model, _ = sh.load_model("vgg_mini")
    with pytest.raises(ValueError, match="the data is empty"):
        fit_shard(model, [], ["fc1"], num_concepts=3, rank=1, world_size=2)
    with pytest.raises(ValueError, match=r"rank 2 is not in 0\.\.1"):
        shard(list(range(4)), 2, 2)


def test_cli_and_library_share_one_sharded_fit():
    """One copy of the sharded pass and its all-reduce: the command calls distributed.fit_shard
    and does neither itself."""
    import ast
    import inspect

    from sevec_helpers import cli

    tree = ast.parse(inspect.getsource(cli._fit))
    calls = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
             for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert "fit_shard" in calls
    assert not calls & {"all_reduce", "Subset", "DataLoader", "fit_accumulator", "fit_accumulators", "shard"}
