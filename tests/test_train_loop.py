"""End-to-end training runs on CPU with a tiny randomly initialised model (seconds each).

Covers the data path (selector sampler, verifier rewards, store), the ledger (every group of every
step, advantages attached), the probe, the influence hooks (checked against explicit per-row
gradients), the value outputs and report, determinism, the CLI / pipeline stage, and resuming
after SIGKILL without duplicated or lost rollout rows.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pyarrow.parquet as pq
import pytest

from rlvr.records import RolloutGroup, Task, Value
from rlvr.synth.toy import FirstCharConfig, first_char_tasks
from rlvr.train.config import TrainConfig
from rlvr.train.loop import train
from rlvr.train.tiny import make_tiny_model

POOL = FirstCharConfig(1, 30)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def small_config(**kw) -> TrainConfig:
    base = dict(model="tiny", steps=6, prompts_per_step=4, num_generations=4, max_completion_length=6,
                learning_rate=1e-3, probe_every=3, probe_k=4, save_every=3, selector="insight", seed=0)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    return first_char_tasks(48, seed=1, config=POOL)


@pytest.fixture(scope="module")
def run(tmp_path_factory, tasks):
    out = tmp_path_factory.mktemp("run")
    model, tok = make_tiny_model()
    result = train(small_config(), tasks, out, model=model, tokenizer=tok)
    return out, result


def test_outputs_and_counts(run, tasks):
    out, result = run
    for name in ("rollouts", "value", "weaknesses", "tasks", "pass_rates", "probe_tasks", "report"):
        assert result.files[name].exists(), name
    c = result.counts
    assert c["tasks_in"] == c["train_tasks"] + c["probe_tasks"] + c["duplicates"] + c["probe_overlap"]
    assert c["steps"] == 6 and c["groups"] == 24 and c["rollouts"] == 96
    assert c["influence_params"] > 0 and c["influence_refreshes"] == 6 and c["probe_evaluations"] == 3
    # probes after steps 0, 3 and 6: the refreshes at steps 1, 2, 4 and 5 reweight rollouts 1-2 steps old
    assert c["influence_stale_refreshes"] == 4 and c["influence_probe_max_age"] == 2
    assert 0 < c["influence_probe_min_ess"] <= 1
    probe_ids = set(pq.read_table(out / "probe_tasks.parquet").column("task_id").to_pylist())
    assert len(probe_ids) == c["probe_tasks"] > 0


def test_ledger_has_every_group_with_advantages(run):
    out, _ = run
    groups = RolloutGroup.read_parquet(out / "rollouts.parquet")
    train_groups = [g for g in groups if g.phase == "train"]
    assert Counter(g.step for g in train_groups) == {s: 4 for s in range(6)}  # nothing lost across batches
    assert len({(g.step, g.task_id) for g in train_groups}) == 24
    probe_ids = set(pq.read_table(out / "probe_tasks.parquet").column("task_id").to_pylist())
    for g in train_groups:
        assert g.task_id not in probe_ids, "a probe task was trained on"
        assert g.k == 4 and len(g.meta["advantages"]) == 4 and len(g.meta["completions"]) == 4
        assert g.selector == "insight" and g.meta["kind"] == "toy.first_char"
        assert all(s in ("ok", "wrong", "format_error") for s in g.statuses)
        if not g.mixed:  # all-equal rewards: no advantage, so no gradient and exactly zero influence
            assert g.meta["advantages"] == [0.0] * 4 and g.meta["influence"] == 0.0
    assert any(g.mixed and g.meta["influence"] != 0.0 for g in train_groups)
    n_probe = len(probe_ids)
    for g in train_groups:  # per-probe-task contributions sum to the group's influence
        assert g.meta["influence_geometry"] == "adamw"
        if "influence_by_probe" in g.meta:
            assert len(g.meta["influence_by_probe"]) == n_probe
            assert sum(g.meta["influence_by_probe"]) == pytest.approx(g.meta["influence"], rel=1e-6, abs=1e-15)
    probe_steps = Counter(g.step for g in groups if g.phase == "probe")
    assert set(probe_steps) == {0, 3, 6} and len(set(probe_steps.values())) == 1


def test_values_store_and_priors_agree_with_ledger(run):
    out, _ = run
    groups = [g for g in RolloutGroup.read_parquet(out / "rollouts.parquet") if g.phase == "train"]
    values = Value.read_parquet(out / "value.parquet")
    task_rows = {v.key: v for v in values if v.level == "task"}
    per_task = Counter(g.task_id for g in groups)
    assert {k for k, v in task_rows.items() if v.n_groups} == set(per_task)
    assert all(task_rows[k].n_groups == n for k, n in per_task.items())
    total = sum(v.influence for v in task_rows.values())
    assert sum(g.meta["influence"] for g in groups) == pytest.approx(total)
    for level in ("generator", "source", "kind"):
        agg = [v for v in values if v.level == level]
        assert len(agg) == 1 and agg[0].n_groups == 24 and agg[0].influence == pytest.approx(total)
        # its standard error: the bootstrap over probe tasks of the summed per-probe contributions
        # and the bootstrap over its 24 groups, added in quadrature
        from rlvr.train.influence import bootstrap_se

        infl = [g.meta["influence"] for g in groups]
        over_groups = math.sqrt(sum(x * x for x in infl) - sum(infl) ** 2 / len(infl))
        assert agg[0].meta["influence_se_groups"] == pytest.approx(over_groups)
        assert agg[0].influence_se == pytest.approx(math.hypot(bootstrap_se(agg[0].meta["influence_by_probe"]),
                                                               over_groups))
        assert agg[0].meta["influence_sure"] == (abs(agg[0].influence) > 2 * agg[0].influence_se)
    from rlvr.select.store import PassRateStore

    store = PassRateStore.load(out / "pass_rates.parquet")
    assert int(store.n_groups.sum()) == 24
    priors = {t.task_id: t for t in Task.read_parquet(out / "tasks.parquet")}
    seen = next(iter(per_task))
    assert priors[seen].difficulty.evidence > 0 and priors[seen].difficulty.pass_rate is not None


def test_report_is_self_contained(run):
    out, _ = run
    html = (out / "report.html").read_text()
    for section in ("Training reward", "Selector behaviour", "Probe pass rate", "Value", "Most helpful tasks",
                    "Persistent weaknesses", "Settings"):
        assert section in html
    assert html.count("data:image/png;base64,") >= 4 and "http://" not in html and "https://" not in html
    assert "4 probe gradient(s) reused rollouts up to 2 step(s) old, importance weighted" in html


def test_same_seed_same_bytes(tmp_path, tasks):
    outs = []
    for name in ("a", "b"):
        model, tok = make_tiny_model()
        train(small_config(steps=3, report=False), tasks, tmp_path / name, model=model, tokenizer=tok)
        outs.append(tmp_path / name)
    for f in ("rollouts.parquet", "value.parquet", "tasks.parquet", "pass_rates.parquet"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f


def test_influence_hooks_match_explicit_per_row_gradients(tasks):
    """The hook arithmetic sum_t delta_t^T G_u a_t equals <grad of that row's loss, G_u> from autograd,
    for every probe unit u (one per probe task)."""
    import torch

    from rlvr.train.influence import Influence

    model, tok = make_tiny_model()
    inf = Influence(model, tok, tasks[:5], layers=1, objective="gold")
    inf.refresh(model, step=0)
    params = [m.weight for _, m in inf.modules]
    g_probe = [inf.grads[id(m)][0] for _, m in inf.modules]  # (units, out, in) each
    assert all(g.shape[0] == 5 for g in g_probe)
    torch.manual_seed(0)
    ids = torch.randint(4, 90, (3, 12))
    weights = torch.tensor([1.0, -2.0, 0.5])

    def row_losses():
        logits = model(input_ids=ids).logits
        return -(torch.log_softmax(logits, -1)[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1)).mean(1) * weights

    model.train()
    inf.begin(3, ids.device)
    row_losses().sum().backward()
    inf.end(["r0", "r1", "r2"])
    settled = inf.settle(None)  # no optimiser: plain gradients ("sgd" geometry)
    assert inf.geometry == "sgd"
    hooked = [settled[k] for k in ("r0", "r1", "r2")]
    model.zero_grad()
    expected = []
    for r in range(3):
        grads = torch.autograd.grad(row_losses()[r], params)
        expected.append([sum(float((g * gp[u]).sum()) for g, gp in zip(grads, g_probe)) for u in range(5)])
    for got, want in zip(hooked, expected):
        assert got == pytest.approx(want, rel=1e-4, abs=1e-7)
    assert inf.n_params == sum(p.numel() for p in params) and inf.seconds > 0
    inf.close()


def _completion_logp(model, tok, task, text, finished):
    import torch

    prompt = tok.apply_chat_template(task.chat(), tokenize=False, add_generation_prompt=True)
    p = tok(prompt, add_special_tokens=False).input_ids
    c = tok(text, add_special_tokens=False).input_ids + ([tok.eos_token_id] if finished else [])
    ids = torch.tensor([p + c])
    logp = torch.log_softmax(model(input_ids=ids).logits[0, len(p) - 1:-1], -1)
    return logp.gather(-1, torch.tensor(c)[:, None]).mean()


def test_probe_objectives_are_the_documented_losses(tasks):
    """gold: mean NLL of reference answers; reward: -(1/N) sum (r - group mean) mean log pi(o)."""
    import torch

    from rlvr.train.influence import Influence
    from rlvr.verify import gold_completion

    model, tok = make_tiny_model()
    probe = tasks[:3]
    gold = Influence(model, tok, probe, layers=1, objective="gold")
    loss, grads = gold.probe_loss_and_grads(model)
    expected = -sum(_completion_logp(model, tok, t, gold_completion(t), False) for t in probe) / 3
    assert loss == pytest.approx(expected.item(), rel=1e-5)
    params = [m.weight for _, m in gold.modules]
    for g, e in zip(grads, torch.autograd.grad(expected, params)):
        assert torch.allclose(g.sum(0), e, rtol=1e-3, atol=1e-5)  # padded batch vs one sequence
    for u, t in enumerate(probe):  # each unit holds its own probe task's share
        own = -_completion_logp(model, tok, t, gold_completion(t), False) / 3
        for g, e in zip(grads, torch.autograd.grad(own, params)):
            assert torch.allclose(g[u], e, rtol=1e-3, atol=1e-5)
    gold.close()
    samples = [(probe[0], ["ab", "c", "dd"], [1.0, 0.0, 0.0], [True, False, True]),
               (probe[1], ["x", "y"], [1.0, 1.0], [True, True])]  # all-equal: contributes nothing
    reward = Influence(model, tok, probe, layers=1, objective="reward", samples=lambda: samples)
    loss, grads = reward.probe_loss_and_grads(model)
    mean, n = 1 / 3, 5
    expected = -sum((r - mean) * _completion_logp(model, tok, probe[0], c, f)
                    for c, r, f in zip(*samples[0][1:])) / n
    assert loss == pytest.approx(expected.item(), rel=1e-5)
    for g, e in zip(grads, torch.autograd.grad(expected, [m.weight for _, m in reward.modules])):
        assert torch.allclose(g.sum(0), e, rtol=1e-3, atol=1e-5)  # padded batch vs one sequence
        assert not g[1].any()  # the all-equal probe task contributes nothing
    empty = Influence(model, tok, probe, layers=1, objective="reward", samples=lambda: samples[1:])
    assert empty.probe_loss_and_grads(model)[0] == 0.0 and empty.empty_refreshes == 1
    for inf in (reward, empty):
        inf.close()


def test_stale_probe_rollouts_are_reweighted_to_the_current_policy(tasks):
    """The reward objective reuses the probe's rollouts for probe_every steps while training moves the
    policy; each later refresh weights them by q_now / q_drawn (self-normalised per probe group).
    One-token completions make the expected probe reward J exactly computable, so the estimate is
    checked against the true gradient of J at the moved weights."""
    import torch

    from rlvr.train.influence import Influence

    model, tok = make_tiny_model()
    probe = tasks[:1]
    prompt = tok(tok.apply_chat_template(probe[0].chat(), tokenize=False, add_generation_prompt=True),
                 add_special_tokens=False).input_ids
    rewarded = torch.zeros(len(tok))
    rewarded[4::3] = 1.0  # every third character earns reward 1

    def policy() -> torch.Tensor:
        return torch.softmax(model(input_ids=torch.tensor([prompt])).logits[0, -1].float(), -1)

    with torch.no_grad():
        drawn = policy()
    k = 1000
    ys = torch.multinomial(drawn, k, replacement=True, generator=torch.Generator().manual_seed(0)).tolist()
    samples = [(probe[0], [tok.convert_ids_to_tokens(y) for y in ys], [float(rewarded[y]) for y in ys], [False] * k)]

    def influence() -> Influence:
        return Influence(model, tok, probe, layers=99, every=10, objective="reward", samples=lambda: samples,
                         batch_size=256)

    scored = influence()  # a refresh is not due at the probe step: the probe's rollouts are scored at once
    scored.refreshed_at = 0
    scored.on_probe(model, 0)
    captured = influence()  # a refresh is due at the probe step: its own forward pass scores them
    captured.on_probe(model, 0)
    _, fresh = captured.probe_loss_and_grads(model, 0)
    assert captured.stale_refreshes == 0
    assert scored._drawn_logp.keys() == captured._drawn_logp.keys()
    for key, x in scored._drawn_logp.items():
        assert captured._drawn_logp[key] == pytest.approx(x, abs=1e-4)
        assert x == pytest.approx(math.log(drawn[ys[key[1]]]), abs=1e-4)

    # Training moves the policy towards the rewarded characters: J rises from about 1/3.
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    for _ in range(2):
        opt.zero_grad()
        (-(policy() * rewarded).sum().log()).backward()
        opt.step()
    opt.zero_grad()
    now = policy()
    params = [m.weight for _, m in scored.modules]
    true = torch.autograd.grad((now * rewarded).sum(), params)  # grad J at the moved weights, exactly
    assert (now * rewarded).sum() > (drawn * rewarded).sum() + 0.15  # 0.20 -> 0.43

    _, weighted = scored.probe_loss_and_grads(model, 3)
    _, weighted_too = captured.probe_loss_and_grads(model, 3)
    plain = influence()  # no record of the drawing policy: the rollouts are used as if fresh
    _, unweighted = plain.probe_loss_and_grads(model, 3)
    assert scored.stale_refreshes == 1 and scored.max_age == 3 and 0 < scored.min_ess < 0.95

    # The estimator is the documented one: w_i = q_now / q_drawn, self-normalised, weighted baseline.
    with torch.no_grad():
        w = torch.tensor([float(now[y] / drawn[y]) for y in ys])
    r = torch.tensor(samples[0][2])
    coef = w / w.mean() * (r - (w * r).sum() / w.sum()) / k
    logp = torch.log(policy())[torch.tensor(ys)]
    expected = torch.autograd.grad(-(coef * logp).sum(), params)

    def flat(gs, units=True):
        return torch.cat([(g.sum(0) if units else g).flatten().float() for g in gs])

    def error(estimate):
        return float((-estimate - flat(true, False)).norm() / flat(true, False).norm())

    assert torch.allclose(flat(weighted), flat(expected, False), rtol=1e-3, atol=1e-6)
    # A probe group that fits one batch takes its weights and its gradient from one forward pass; a
    # larger one is scored first and then reweighted (as the 1000 above): the same numbers either way.
    sub = [(probe[0], samples[0][1][:20], samples[0][2][:20], [False] * 20)]
    assert 0 < sum(sub[0][2]) < 20
    small = []
    for batch_size in (32, 8):  # one pass; scored first (20 > max(8, 16))
        inf = Influence(model, tok, probe, layers=99, objective="reward", samples=lambda: sub, batch_size=batch_size)
        inf.probe_step, inf._drawn_logp = 0, {key: x for key, x in scored._drawn_logp.items() if key[1] < 20}
        small.append(flat(inf.probe_loss_and_grads(model, 3)[1]))
        assert inf.stale_refreshes == 1
        inf.close()
    w20, r20 = w[:20], r[:20]
    coef20 = w20 / w20.mean() * (r20 - (w20 * r20).sum() / w20.sum()) / 20
    expected20 = torch.autograd.grad(-(coef20 * torch.log(policy())[torch.tensor(ys[:20])]).sum(), params)
    for got in small:
        assert torch.allclose(got, flat(expected20, False), rtol=1e-3, atol=1e-6)
    assert torch.allclose(flat(weighted_too), flat(weighted), rtol=1e-3, atol=1e-6)
    assert not torch.allclose(flat(fresh), flat(weighted), rtol=1e-2, atol=1e-4)
    # Against the true gradient of J at the moved weights (J 0.20 -> 0.43), the reweighted rollouts
    # are far closer than the same rollouts taken as fresh, and near as many rollouts drawn afresh.
    with torch.no_grad():
        ys_now = torch.multinomial(now, k, replacement=True, generator=torch.Generator().manual_seed(1)).tolist()
    samples_now = [(probe[0], [tok.convert_ids_to_tokens(y) for y in ys_now], [float(rewarded[y]) for y in ys_now],
                    [False] * k)]
    on = Influence(model, tok, probe, layers=99, objective="reward", samples=lambda: samples_now, batch_size=256)
    _, on_policy = on.probe_loss_and_grads(model, 3)
    errors = {name: error(flat(g)) for name, g in
              (("weighted", weighted), ("unweighted", unweighted), ("on_policy", on_policy))}
    assert errors["weighted"] < 0.3 * errors["unweighted"], errors
    assert errors["weighted"] < 2.5 * errors["on_policy"] and errors["weighted"] < 0.15, errors
    for inf in (scored, captured, plain, on):
        inf.close()

def test_influence_is_taken_in_the_geometry_of_the_update_it_made(tasks):
    """Rows are scored after the optimiser's step, against P G with P = 1 / (sqrt(v_hat) + eps) from
    AdamW's state after that step (v including the step's own gradient), the first step included;
    rows of two micro-batches with the same key add up."""
    import torch

    from rlvr.train.influence import Influence

    model, tok = make_tiny_model()
    inf = Influence(model, tok, tasks[:3], layers=2, objective="gold")
    params = [p for _, m in inf.modules for p in (m.weight, m.bias) if p is not None]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    torch.manual_seed(0)
    for step in range(3):
        inf.refresh(model, step=step)
        g_probe = [inf.grads[id(m)][0].clone() for _, m in inf.modules]
        ids = torch.randint(4, 90, (2, 10))

        def row_losses(ids=ids):
            logits = model(input_ids=ids).logits
            return -torch.log_softmax(logits, -1)[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1).mean(1)

        per_row = [torch.autograd.grad(row_losses()[r], params) for r in range(2)]
        opt.zero_grad()
        model.train()
        for r in range(2):  # two micro-batches, the second row named like the first
            inf.begin(2, ids.device)
            (row_losses()[r]).backward()
            inf.end(["a", "b"] if r == 0 else ["b", "a"])
        opt.step()
        settled = inf.settle(opt)
        assert inf.geometry == "adamw"
        p_g = []
        for p, g in zip(params, g_probe):
            st = opt.state[p]
            v_hat = st["exp_avg_sq"] / (1 - 0.999 ** float(st["step"]))
            p_g.append(g / (v_hat.sqrt() + 1e-8))
        # key "a": row 0 of the first micro-batch (row 0's loss) + row 1 of the second (row 1's loss);
        # "b" names the rows whose loss was not backpropagated: no gradient, zero
        both = [g0 + g1 for g0, g1 in zip(*per_row)]
        want = [sum(float((gr * pg[u]).sum()) for gr, pg in zip(both, p_g)) for u in range(3)]
        assert settled["a"] == pytest.approx(want, rel=1e-3, abs=1e-6)
        assert settled["b"] == [0.0, 0.0, 0.0]
        unscaled = [sum(float((gr * g[u]).sum()) for gr, g in zip(both, g_probe)) for u in range(3)]
        assert settled["a"] != pytest.approx(unscaled, rel=1e-2)
    assert inf.settle(opt) == {}  # nothing pending
    assert inf.preconditioners(torch.optim.SGD(model.parameters(), lr=0.1)) == ("sgd", {})
    # the low-memory mode keeps nothing: rows are dotted with the plain G in the hooks, then scaled by
    # one number after the step, 1 / rms(sqrt(v_hat) + eps) over the tracked weights
    low = Influence(model, tok, tasks[:3], layers=2, objective="gold", exact=False)
    low.refresh(model, step=3)
    g_probe = [low.grads[id(m)][0].clone() for _, m in low.modules]
    grads = torch.autograd.grad(row_losses()[0], params)
    opt.zero_grad()
    low.begin(2, ids.device)
    row_losses()[0].backward()
    low.end(["a", "b"])
    assert low._pending and isinstance(low._pending[0][1], list)  # scores, no tensors kept
    opt.step()
    settled = low.settle(opt)
    assert low.geometry == "adamw-scalar"
    denom = [1 / pw for pw in (inf.preconditioners(opt)[1][id(m)][0] for _, m in low.modules)]
    rms = (sum(float((d ** 2).sum()) for d in denom) / sum(d.numel() for d in denom)) ** 0.5
    want = [sum(float((gr * g[u]).sum()) for gr, g in zip(grads, g_probe)) / rms for u in range(3)]
    assert settled["a"] == pytest.approx(want, rel=1e-3, abs=1e-6) and settled["b"] == [0.0, 0.0, 0.0]
    for i in (inf, low):
        i.close()


def test_many_probe_tasks_share_at_most_sixteen_bootstrap_units():
    from rlvr.train.influence import MAX_UNITS, Influence

    model, tok = make_tiny_model()
    probe = first_char_tasks(20, seed=5, config=POOL)
    inf = Influence(model, tok, probe, layers=1, objective="gold")
    assert inf.units == MAX_UNITS == 16
    assert inf.unit_of[probe[0].task_id] == inf.unit_of[probe[16].task_id] == 0
    _, grads = inf.probe_loss_and_grads(model)
    assert all(g.shape[0] == 16 for g in grads) and all(g[4].any() for g in grads[:1])
    inf.close()


def test_update_weight_is_what_adamw_applies_over_the_schedule():
    """A gradient at step s reaches the weights through AdamW's momentum at every later step, at
    that step's learning rate: with v pinned (eps >> sqrt(v), so the update is lr * m_hat / eps) a
    single gradient impulse at step s moves a weight by exactly update_weight * g / eps, under
    transformers' linear schedule read back through lr_schedule."""
    import types

    import torch
    from transformers import get_linear_schedule_with_warmup

    from rlvr.train.influence import update_weight
    from rlvr.train.trainer import lr_schedule

    steps, eps = 8, 1e7
    for s in (0, 3, 7):
        w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = torch.optim.AdamW([w], lr=1e-2, betas=(0.9, 0.999), eps=eps, weight_decay=0.0)
        sched = get_linear_schedule_with_warmup(opt, 0, steps)
        trainer = types.SimpleNamespace(state=types.SimpleNamespace(max_steps=steps), optimizer=opt, lr_scheduler=sched)
        lr_at, horizon, beta1 = lr_schedule(trainer, 1e-2)
        assert horizon == steps and beta1 == 0.9
        for t in range(steps):
            assert lr_at(t) == pytest.approx(sched.get_last_lr()[0])
            w.grad = torch.tensor([1.0 if t == s else 0.0], dtype=torch.float64)
            opt.step()
            sched.step()
        assert -float(w.detach()) * eps == pytest.approx(update_weight(s, steps, lr_at, beta1), rel=1e-5)
    lr = lambda t: 0.1  # noqa: E731 - constant schedule, no momentum: the step's own rate
    assert update_weight(5, 8, lr, None) == 0.1
    assert update_weight(0, 1, lr, 0.9) == pytest.approx(0.1)  # the first bias-corrected step applies it fully
    # mid-run, far from the end: momentum spreads the gradient but applies it once in total
    assert update_weight(100, 400, lr, 0.9) == pytest.approx(0.1, rel=1e-4)
    assert update_weight(399, 400, lr, 0.9) == pytest.approx(0.1 * 0.1)  # the last step: only its own share


def test_whole_model_influence_predicts_the_change_it_causes(tmp_path, tasks):
    """Calibration: tracking every block (embeddings and norms frozen, so nothing else trains), the
    influence summed over a whole AdamW run predicts the actual change of the probe objective (gold:
    minus the reference answers' NLL) to within 15% (first order; measured 0.98-0.99 of it). The
    previous estimate (G preconditioned with the step-before's v, the first step rescaled by a scalar,
    lr at the step only) was 5.9x off on this run."""
    from rlvr.train.influence import Influence

    model, tok = make_tiny_model()
    for name, p in model.named_parameters():
        if "layers" not in name or "norm" in name:
            p.requires_grad_(False)
    probe, train_tasks = tasks[:8], tasks[8:]

    def gold_nll() -> float:
        inf = Influence(model, tok, probe, layers=99, objective="gold")
        loss, _ = inf.probe_loss_and_grads(model)
        inf.close()
        return loss

    before = gold_nll()
    config = small_config(steps=6, learning_rate=1e-4, probe_every=1, selector="uniform", save_every=6,
                          influence_layers=99, influence_objective="gold", report=False)
    result = train(config, train_tasks, tmp_path / "run", probe_tasks=probe, model=model, tokenizer=tok)
    actual = before - gold_nll()
    groups = [g for g in RolloutGroup.read_parquet(tmp_path / "run" / "rollouts.parquet") if g.phase == "train"]
    predicted = sum(g.meta.get("influence", 0.0) for g in groups)
    assert result.counts["influence_params"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert actual > 0.02 and predicted == pytest.approx(actual, rel=0.15)


def test_bootstrap_se_is_the_exact_resampling_variance():
    import numpy as np

    from rlvr.train.influence import bootstrap_se

    c = np.array([0.3, -0.1, 0.05, 0.2, -0.4])
    rng = np.random.default_rng(0)
    draws = [c[rng.integers(0, len(c), len(c))].sum() for _ in range(40000)]
    assert bootstrap_se(c) == pytest.approx(float(np.std(draws)), rel=0.02)
    assert bootstrap_se([1.0]) is None and bootstrap_se([2.0, 2.0]) == 0.0



def _cli(out, model_dir, task_file, steps, extra=()):
    return [sys.executable, "-m", "rlvr", "train", "--tasks", str(task_file), "--out", str(out),
            "--model", str(model_dir), "--steps", str(steps), "--prompts-per-step", "4", "--num-generations", "4",
            "--max-completion-length", "6", "--learning-rate", "1e-3", "--probe-every", "4", "--probe-k", "2",
            "--save-every", "2", "--selector", "variance", *extra]


class _Killed(Exception):
    """Stands in for SIGKILL right after a checkpoint is complete."""


@pytest.mark.parametrize("micro_batches", [1, 2])
def test_resume_repeats_the_uninterrupted_run_exactly(tmp_path, tasks, monkeypatch, micro_batches):
    """Interrupted after checkpoint 3 and resumed (with every global RNG scrambled in between), the
    run trains the same tasks with the same completions, rewards, advantages and influence as the
    uninterrupted one: sampler read-ahead, selector pending set, store, RNG states all restored."""
    import random

    import numpy as np
    import torch

    import rlvr.train.grpo as grpo_module  # the fenced TRL trainer calls write_rlvr_state from here

    config = small_config(influence=True, report=False, micro_batches=micro_batches)
    model, tok = make_tiny_model()
    train(config, tasks, tmp_path / "straight", model=model, tokenizer=tok)

    write_state = grpo_module.write_rlvr_state

    def killed_after_3(run, folder, step):
        write_state(run, folder, step)
        if step == 3:
            raise _Killed

    monkeypatch.setattr(grpo_module, "write_rlvr_state", killed_after_3)
    model, tok = make_tiny_model()
    with pytest.raises(_Killed):
        train(config, tasks, tmp_path / "resumed", model=model, tokenizer=tok)
    monkeypatch.setattr(grpo_module, "write_rlvr_state", write_state)
    assert not (tmp_path / "resumed" / "rollouts.parquet").exists()
    torch.manual_seed(12345), random.seed(12345), np.random.seed(12345)
    model, tok = make_tiny_model()
    train(config, tasks, tmp_path / "resumed", model=model, tokenizer=tok)

    straight = pq.read_table(tmp_path / "straight" / "rollouts.parquet").to_pylist()
    resumed = pq.read_table(tmp_path / "resumed" / "rollouts.parquet").to_pylist()
    assert {r["step"] for r in straight} == set(range(7))
    assert resumed == straight  # the ledger has no timing columns: every column must match


@pytest.fixture(scope="module")
def cli_inputs(tmp_path_factory, tasks):
    base = tmp_path_factory.mktemp("cli")
    make_tiny_model(base / "tiny")
    task_file = Task.write_parquet(base / "tasks.parquet", tasks)
    return base / "tiny", task_file


@pytest.mark.slow
def test_resume_after_sigkill_keeps_ledger_store_and_sampler_consistent(tmp_path, cli_inputs):
    model_dir, task_file = cli_inputs
    out = tmp_path / "run"
    cmd = _cli(out, model_dir, task_file, steps=14)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = out / "train" / "checkpoints"
    deadline = time.monotonic() + 240
    while not (ckpt / "checkpoint-4" / "rlvr_state.json").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "train" / "rollouts.parquet").exists()  # killed before the end
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trained" in done.stdout

    groups = RolloutGroup.read_parquet(out / "train" / "rollouts.parquet")
    train_groups = [g for g in groups if g.phase == "train"]
    assert Counter(g.step for g in train_groups) == {s: 4 for s in range(14)}, "duplicated or lost steps"
    assert len({(g.step, g.task_id) for g in train_groups}) == len(train_groups)
    assert Counter(g.step for g in groups if g.phase == "probe").keys() == {0, 4, 8, 12, 14}
    assert len({(g.step, g.task_id) for g in groups if g.phase == "probe"}) == sum(g.phase == "probe" for g in groups)
    from rlvr.select.store import PassRateStore

    store = PassRateStore.load(out / "train" / "pass_rates.parquet")
    assert int(store.n_groups.sum()) == len(train_groups)  # the store saw exactly the ledger's groups
    per_task = Counter(g.task_id for g in train_groups)
    assert all(int(store.n_groups[store.index_of(t)]) == n for t, n in per_task.items())
    # the same command once more is a no-op
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "already done" in again.stdout
    # and the killed-and-resumed run trained exactly what an uninterrupted one trains
    straight = tmp_path / "straight"
    done = subprocess.run(_cli(straight, model_dir, task_file, steps=14), env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (pq.read_table(out / "train" / "rollouts.parquet").to_pylist()
            == pq.read_table(straight / "train" / "rollouts.parquet").to_pylist())


def test_pipeline_stage_trains_on_upstream_tasks(tmp_path, cli_inputs):
    from rlvr.pipeline import Pipeline, run_pipeline

    model_dir, _ = cli_inputs
    pipe = Pipeline.from_mapping({"seed": 0, "stages": [
        {"name": "gym", "type": "synth.gym", "with": {"name": "basic_arithmetic", "n": 12}},
        {"name": "train", "type": "train", "with": {
            "model": str(model_dir), "steps": 2, "prompts_per_step": 2, "num_generations": 2,
            "max_completion_length": 4, "probe_every": 2, "probe_k": 2, "save_every": 2, "influence": False}},
    ]})
    results = run_pipeline(pipe, tmp_path)
    rec, ran = results[-1]
    assert ran and rec.counts["groups"] == 4 and rec.tasks == "train/tasks.parquet"
    assert (tmp_path / "train" / "value.parquet").exists()
    assert run_pipeline(pipe, tmp_path)[-1][1] is False  # done: skipped on a re-run


def test_lora_run_measures_influence_on_the_adapters(tmp_path, tasks):
    model, tok = make_tiny_model()
    cfg = small_config(steps=3, lora=True, lora_r=4, lora_alpha=8, lora_target_modules="q_proj,v_proj,down_proj",
                       save_every=3, report=False)
    result = train(cfg, tasks, tmp_path, model=model, tokenizer=tok)
    modules = result.counts["influence_modules"]
    assert modules and all(".lora_A." in m or ".lora_B." in m for m in modules)
    # last block only: r x (in + out) per adapted layer, q/v 48 -> 48 and down 96 -> 48
    assert len(modules) == 6 and result.counts["influence_params"] == 4 * (96 + 96 + 144)
    assert (tmp_path / "checkpoints" / "checkpoint-3" / "adapter_model.safetensors").exists()
    groups = [g for g in RolloutGroup.read_parquet(tmp_path / "rollouts.parquet") if g.phase == "train"]
    assert len(groups) == 12 and all("influence" in g.meta for g in groups)
