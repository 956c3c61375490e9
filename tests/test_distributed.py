"""Two processes under torchrun (gloo, CPU) give the same SeVecs as one process."""

import os
import subprocess
import sys
import textwrap

import torch

import sevec_helpers as sh
from sevec_helpers.distributed import shard

SCRIPT = textwrap.dedent("""
    import sys, torch, torch.distributed as dist
    import sevec_helpers as sh
    from sevec_helpers.distributed import fit_sevecs_distributed
    from sevec_helpers.world import ObjectsDataset
    dist.init_process_group("gloo")
    model, spec = sh.load_model("vgg_mini")
    ds = ObjectsDataset(split="test", per_class=3, transform=spec.transform)
    sv = fit_sevecs_distributed(model, ds, "fc1", batch_size=8)
    if dist.get_rank() == 0:
        sv.save(sys.argv[1])
    dist.destroy_process_group()
""")


def test_shards_are_disjoint_and_cover_everything():
    parts = [shard(list(range(10)), r, 3).indices for r in range(3)]
    assert sorted(i for p in parts for i in p) == list(range(10))


def test_torchrun_two_processes_equal_one(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    out = tmp_path / "sv.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533",
                        str(script), str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    dist_sv = sh.SemanticVectors.load(out)
    from sevec_helpers.world import ObjectsDataset

    model, spec = sh.load_model("vgg_mini")
    ds = ObjectsDataset(split="test", per_class=3, transform=spec.transform)
    one = sh.fit_sevecs(model, ds, "fc1", batch_size=8, progress=False)
    assert torch.equal(dist_sv.counts, one.counts)
    assert torch.allclose(dist_sv.vectors, one.vectors, atol=1e-6)
    assert torch.allclose(dist_sv.rates, one.rates, atol=1e-6)
