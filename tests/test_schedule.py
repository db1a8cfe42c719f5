"""The paper's lr schedule: 1e-3 for the first 10 % of steps, then 5e-5 with cosine annealing."""

import math
from itertools import pairwise

import pytest
import torch

from umcl.errors import ConfigError
from umcl.training.config import TrainConfig
from umcl.training.schedule import PaperSchedule, build_optimizer, lr_at, warmup_steps


def test_shape_of_the_schedule():
    cfg = TrainConfig()
    n = 100
    lrs = [lr_at(s, n, cfg) for s in range(n)]
    assert warmup_steps(n, 0.1) == 10
    assert all(lr == 1e-3 for lr in lrs[:10])
    assert lrs[10] == pytest.approx(5e-5)
    assert all(a > b for a, b in pairwise(lrs[10:]))  # strictly decreasing cosine
    mid = 10 + 45
    assert lrs[mid] == pytest.approx(2.5e-5)
    assert lrs[-1] == pytest.approx(5e-5 * 0.5 * (1 + math.cos(math.pi * 89 / 90)))
    assert lr_at(n, n, cfg) == pytest.approx(0.0, abs=1e-15)


def test_warmup_rounds_up_and_leaves_a_cosine_step():
    assert warmup_steps(7, 0.1) == 1
    assert warmup_steps(1, 0.1) == 0
    assert warmup_steps(5, 0.0) == 0
    with pytest.raises(ConfigError):
        warmup_steps(0, 0.1)


def test_scheduler_follows_lr_at_and_resumes_from_state():
    cfg = TrainConfig(lr_min=1e-6)
    model = torch.nn.Linear(2, 2)
    opt = build_optimizer(model, cfg)
    sched = PaperSchedule(opt, 20, cfg)
    seen = []
    for _ in range(20):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([lr_at(s, 20, cfg) for s in range(20)])

    opt2 = build_optimizer(model, cfg)
    sched2 = PaperSchedule(opt2, 20, cfg)
    state = PaperSchedule(build_optimizer(model, cfg), 20, cfg)
    for _ in range(7):
        state.optimizer.step()
        state.step()
    sched2.load_state_dict(state.state_dict())
    assert sched2.last_epoch == 7
    sched2.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(lr_at(8, 20, cfg))


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError):
        TrainConfig(batch_size=7)
    with pytest.raises(ConfigError):
        TrainConfig(warmup_fraction=1.0)
    with pytest.raises(ConfigError):
        TrainConfig(lr_min=1.0)


def test_constant_schedule_and_adam_for_the_baselines_recipes():
    """LRNet / FF++ Xception / CPML as published: a fixed lr on every step; Adam or AdamW by name."""
    cfg = TrainConfig(optimizer="adam", schedule="constant", lr=2e-4, weight_decay=0.0)
    assert [lr_at(s, 50, cfg) for s in range(50)] == [2e-4] * 50
    model = torch.nn.Linear(2, 2)
    opt = build_optimizer(model, cfg)
    assert type(opt) is torch.optim.Adam and opt.param_groups[0]["lr"] == 2e-4
    sched = PaperSchedule(opt, 10, cfg)
    for _ in range(10):
        opt.step()
        sched.step()
        assert opt.param_groups[0]["lr"] == 2e-4
    assert type(build_optimizer(model, TrainConfig())) is torch.optim.AdamW
    with pytest.raises(ConfigError):
        lr_at(0, 0, cfg)


@pytest.mark.parametrize("optimizer", ["adamw", "adam"])
def test_cpu_optimizer_is_the_fused_kernel_and_updates_as_adam_does(optimizer):
    """On CPU the optimizer runs torch's fused kernel; three steps of it match a float64 NumPy Adam/AdamW
    (decoupled vs L2 weight decay) to float32 rounding."""
    import numpy as np

    cfg = TrainConfig(optimizer=optimizer, schedule="constant", lr=1e-2, weight_decay=0.1)
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 3)
    opt = build_optimizer(model, cfg)
    assert opt.defaults["fused"] is True
    params = [p.detach().double().numpy().copy() for p in model.parameters()]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    (b1, b2), eps, lr, wd = opt.defaults["betas"], opt.defaults["eps"], cfg.lr, cfg.weight_decay
    for step in range(1, 4):
        grads = [torch.randn_like(p) for p in model.parameters()]
        for p, g in zip(model.parameters(), grads, strict=True):
            p.grad = g.clone()
        opt.step()
        for i, g in enumerate(grads):
            g = g.double().numpy()
            if optimizer == "adam":
                g = g + wd * params[i]
            else:
                params[i] = params[i] * (1 - lr * wd)
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            mhat, vhat = m[i] / (1 - b1**step), v[i] / (1 - b2**step)
            params[i] = params[i] - lr * mhat / (np.sqrt(vhat) + eps)
    for p, want in zip(model.parameters(), params, strict=True):
        np.testing.assert_allclose(p.detach().double().numpy(), want, rtol=1e-5, atol=1e-6)
