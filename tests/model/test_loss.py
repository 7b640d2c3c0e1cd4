import math

import pytest
import torch
import torch.nn.functional as F

from ttmrpp.model.loss import MAX_LOGIT_SCALE, infonce_loss


def naive_infonce(a, t, logit_scale):
    a, t = F.normalize(a, dim=-1), F.normalize(t, dim=-1)
    scale = min(math.exp(float(logit_scale)), MAX_LOGIT_SCALE)
    n = len(a)
    total = 0.0
    for i in range(n):
        row = [scale * float(a[i] @ t[j]) for j in range(n)]
        col = [scale * float(t[i] @ a[j]) for j in range(n)]
        total += -row[i] + math.log(sum(math.exp(x) for x in row))
        total += -col[i] + math.log(sum(math.exp(x) for x in col))
    return total / (2 * n)


def test_matches_naive_reference():
    g = torch.Generator().manual_seed(0)
    a, t = torch.randn(6, 16, generator=g), torch.randn(6, 16, generator=g)
    for s in (math.log(10), math.log(1000)):  # the second is clamped at 100
        got = infonce_loss(a, t, torch.tensor([s], dtype=torch.float64))
        assert float(got) == pytest.approx(naive_infonce(a, t, s), rel=1e-5)


def test_symmetric_and_near_zero_for_aligned_pairs():
    g = torch.Generator().manual_seed(1)
    a, t = torch.randn(8, 32, generator=g), torch.randn(8, 32, generator=g)
    s = torch.tensor([math.log(20.0)])
    assert float(infonce_loss(a, t, s)) == pytest.approx(float(infonce_loss(t, a, s)), rel=1e-6)
    aligned = torch.eye(8, 32)
    assert float(infonce_loss(aligned, aligned, torch.tensor([math.log(100.0)]))) < 1e-6
    assert float(infonce_loss(aligned, aligned.roll(1, 0), torch.tensor([math.log(100.0)]))) > 10


def test_gradient_reaches_temperature():
    a = torch.randn(4, 8, requires_grad=True)
    s = torch.tensor([math.log(10.0)], dtype=torch.float64, requires_grad=True)
    infonce_loss(a, torch.randn(4, 8), s).backward()
    assert s.grad is not None and a.grad is not None


def _gather_worker(rank, world, port, a, t, s, out):
    import torch.distributed as dist

    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    n = len(a) // world
    a_local = a[rank * n : (rank + 1) * n].clone().requires_grad_(True)
    loss = infonce_loss(a_local, t[rank * n : (rank + 1) * n], s)
    loss.backward()
    out[rank] = (float(loss), a_local.grad.clone())
    dist.destroy_process_group()


def test_gathered_negatives_match_single_process():
    import socket

    import torch.multiprocessing as mp

    g = torch.Generator().manual_seed(2)
    a, t = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
    s = torch.tensor([math.log(10.0)])
    full = a.clone().requires_grad_(True)
    loss = infonce_loss(full, t, s)
    loss.backward()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_gather_worker, args=(2, port, a, t, s, out), nprocs=2, join=True)
    for rank in range(2):
        rank_loss, grad = out[rank]
        assert rank_loss == pytest.approx(
            float(loss.detach()), rel=1e-5
        )  # every rank sees all 8 pairs
        # DDP averages gradients over ranks; the gathered backward sums, so scale by world size.
        torch.testing.assert_close(
            grad / 2, full.grad[rank * 4 : (rank + 1) * 4], rtol=1e-4, atol=1e-6
        )
