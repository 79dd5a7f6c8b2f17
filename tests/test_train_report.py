"""The training report answers "which data helped": verdicts, left-out tasks, explained columns, and it
renders in a real headless browser (Debian's chromium through Selenium) with its plots and tables."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from rlvr.records import Message, Provenance, RolloutGroup, Task, VerifierSpec
from rlvr.train.config import TrainConfig
from rlvr.train.data import Keys
from rlvr.train.report import effective_settings, write_report
from rlvr.train.value import binomial_se, compute_values, top, verdicts

SOURCES = ("helps", "hurts", "hard", "noisy")


def _task(i: int, source: str) -> Task:
    return Task(kind=f"kind.{source}", prompt=[Message("user", f"{source} question {i}")], answer=str(i),
                verifier=VerifierSpec("exact"), provenance=Provenance(f"gen.{source}", "1", "fp", 0, i),
                meta={"source": source})


def _group(step: int, task: Task, rewards: list[float], influence: float, phase: str = "train") -> RolloutGroup:
    meta = {"influence": influence} if phase == "train" else {"kind": task.kind, "source": task.meta["source"]}
    return RolloutGroup(step=step, task_id=task.task_id, k=len(rewards), rewards=rewards,
                        statuses=["ok" if r else "wrong" for r in rewards], completion_lengths=[4] * len(rewards),
                        phase=phase, meta=meta)


@pytest.fixture(scope="module")
def run():
    """A synthetic run of four trained sources (one helps, one hurts, one never solved, one noise) plus
    one ("long") whose tasks were all left out, and one "helps" task that was never picked."""
    rng = random.Random(0)
    tasks = {s: [_task(i, s) for i in range(4)] for s in SOURCES}
    probe = [_task(100 + i, s) for s in SOURCES for i in range(2)]
    groups = []
    for step in range(12):
        for s in SOURCES:
            t = tasks[s][step % 3]  # task 3 of every source is never trained on
            if s == "helps":
                rewards, infl = ([0.0, 1.0, 1.0, 1.0] if step > 5 else [0.0, 0.0, 1.0, 1.0]), 0.02 + rng.gauss(0, 0.004)
            elif s == "hurts":
                rewards, infl = [0.0, 1.0, 0.0, 0.0], -0.03 + rng.gauss(0, 0.004)
            elif s == "hard":
                rewards, infl = [0.0, 0.0, 0.0, 0.0], 0.0
            else:
                rewards, infl = [1.0, 0.0, 1.0, 0.0], 0.02 * (-1) ** step + 0.001  # mean ~0, large spread
            groups.append(_group(step, t, rewards, infl))
    for step in (0, 6, 12):
        for t in probe:
            good = t.meta["source"] == "helps" and step > 0
            groups.append(_group(step, t, [1.0, 1.0] if good else [0.0, 1.0], 0.0, phase="probe"))
    train = [t for s in SOURCES for t in tasks[s]]
    keys = {t.task_id: Keys(t.provenance.generator, "", t.meta["source"], t.kind) for t in [*train, *probe]}
    values, weak = compute_values(train, groups, keys, influence_on=True)
    left_out = {"reason": "prompt longer than max_prompt_tokens=384", "by_source": {"long": 5},
                "given_by_source": {"long": 5, **{s: 6 for s in SOURCES}}}
    return {"tasks": tasks, "probe": probe, "groups": groups, "keys": keys, "values": values, "weak": weak,
            "train": train, "left_out": left_out}


def test_source_trajectory_reflects_the_trained_tasks_not_the_unpicked_ones(run):
    helps = next(v for v in run["values"] if v.level == "source" and v.key == "helps")
    assert helps.n_groups == 12 and helps.meta["seen_tasks"] == 3
    assert helps.trajectory != "unseen"  # one of its four tasks never trained; most of it did


def test_most_helpful_tasks_were_all_trained_on(run):
    best = top(run["values"], "task", 10)
    never = {run["tasks"][s][3].task_id for s in SOURCES}
    assert best and not {v.key for v in best} & never
    assert all(v.n_groups > 0 for v in best)
    assert best[0].key in {t.task_id for t in run["tasks"]["helps"]}


def test_verdicts_say_helped_hurt_too_hard_unclear_and_not_trained(run):
    vs = {v.key: v for v in verdicts(run["groups"], run["keys"], "source", True,
                                      available={"long": 5, **{s: 4 for s in SOURCES}},
                                      train_ids={t.task_id for t in run["train"]})}
    assert vs["helps"].verdict == "helped" and vs["helps"].z > 2 and "more of helps" in vs["helps"].advice
    assert vs["hurts"].verdict == "hurt" and vs["hurts"].z < -2 and "drop hurts" in vs["hurts"].advice
    assert vs["hard"].verdict == "too hard" and "lower its difficulty" in vs["hard"].advice
    assert vs["noisy"].verdict == "unclear" and "within noise" in vs["noisy"].certainty
    assert vs["long"].verdict == "not trained" and vs["long"].tasks_total == 5
    assert "max_prompt_tokens" in vs["long"].advice  # every task of it was left out for length
    assert vs["helps"].tasks_trained == 3 and vs["helps"].tasks_total == 4
    # the probe of "helps" went from 1/2 to 2/2 per rollout pair: a change with its binomial SE
    assert vs["helps"].probe_first == 0.5 and vs["helps"].probe_last == 1.0 and vs["helps"].probe_se > 0
    # vs replacement: a source with no gradient is worth minus what its slots gave the rest (whose
    # groups hurt on balance here, so dropping it would have cost), and agrees with value.parquet
    trained = [v for v in vs.values() if v.groups]
    total, n = sum(v.influence for v in trained), sum(v.groups for v in trained)
    for v in trained:
        assert v.replacement == pytest.approx(v.influence - v.groups / (n - v.groups) * (total - v.influence))
    assert total < 0 and vs["hard"].influence == 0 and vs["hard"].replacement > 0
    rows = {v.key: v for v in run["values"] if v.level == "source"}
    assert rows["hard"].meta["influence_vs_replacement"] == pytest.approx(vs["hard"].replacement)


def test_advice_separates_never_drawn_from_left_out_and_weak_from_strong_evidence(run):
    from rlvr.train.value import FEW_ROLLOUTS

    undrawn = [t for t in run["tasks"]["hard"]]
    keys = {**run["keys"], **{t.task_id: Keys("g", "", "undrawn", t.kind) for t in undrawn}}
    few = [g for g in run["groups"] if g.task_id in {t.task_id for t in run["tasks"]["hard"]}][:1]
    assert sum(g.k for g in few) < FEW_ROLLOUTS
    vs = {v.key: v for v in verdicts(few, keys, "source", True)}
    assert vs["undrawn"].verdict == "too hard" and "too few to call it too hard" in vs["undrawn"].advice
    vs = {v.key: v for v in verdicts([], keys, "source", True)}
    assert vs["undrawn"].verdict == "not trained" and "never drawn" in vs["undrawn"].advice
    assert "max_prompt_tokens" not in vs["undrawn"].advice  # its tasks fit: nothing to shorten


def test_binomial_se_never_claims_certainty():
    assert binomial_se(0.0, 4) > 0 and binomial_se(1.0, 4) > 0
    assert binomial_se(0.5, 400) < binomial_se(0.5, 4)


def test_effective_settings_on_cpu_do_not_claim_vllm():
    shown = effective_settings({"device": "cpu", "use_vllm": True, "vllm_mode": "auto", "steps": 3})
    assert shown["use_vllm"] is False and shown["vllm_mode"].startswith("n/a") and shown["steps"] == 3
    assert effective_settings({"device": "cuda", "use_vllm": True})["use_vllm"] is True


def _write(run, path: Path) -> Path:
    from rlvr.config import to_mapping

    summary = {"model": "tiny", "selector": "insight", "steps": 12, "groups": 48, "rollouts": 192,
               "zero_variance_fraction": 0.25, "weaknesses": len(run["weak"]), "seconds_per_step": 1.5,
               "probe_seconds": 3.0, "influence_seconds": 2.0, "policy": "ckpt/checkpoint-12"}
    return write_report(path, title="rlvr train: test", groups=run["groups"], values=run["values"],
                        tasks=[*run["train"], *run["probe"]], weaknesses=run["weak"],
                        settings=to_mapping(TrainConfig()), summary=summary, keys=run["keys"],
                        left_out=run["left_out"], train_task_ids=[t.task_id for t in run["train"]])


def test_report_page_reads_as_answers(run, tmp_path):
    page = _write(run, tmp_path / "report.html").read_text()
    at = {h: page.index(h) for h in ("At a glance", "Left out of training (5 task(s))", "Verdict: which data helped",
                                     "What to do next", "Training reward", "Probe pass rate", "Settings in effect")}
    assert list(at) == sorted(at, key=at.get)  # in the order a reader asks
    assert "prompt longer than max_prompt_tokens=384" in page
    for word in ("helped", "hurt", "too hard", "not trained", "more of helps", "drop hurts"):
        assert word in page
    for column in ("adv. mass", "failure ratio", "influence", "AdamW", "bootstrap standard error"):
        assert column in page
    assert "<td>use_vllm</td><td>False</td>" in page and "<td>use_vllm</td><td>True</td>" not in page
    assert "± 1 binomial SE" in page and "rollouts, not counted" in page
    assert "{'model'" not in page  # no raw dict dump in the header


CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)


@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1200,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def check_rendered(driver, page: Path, sources: list[str], screenshot: Path | None = None) -> dict:
    """Open the report in the browser and check what a reader sees: every plot decoded and drawn with a
    size, every table with rows, each source named in the verdict table. Returns what was found."""
    from selenium.webdriver.common.by import By

    driver.get(page.resolve().as_uri())
    assert driver.title.startswith("rlvr train")
    images = driver.find_elements(By.CSS_SELECTOR, "img, svg")
    assert len(images) >= 5
    for img in images:
        w, h = driver.execute_script(
            "const e = arguments[0]; return e.tagName.toLowerCase() == 'img' ? [e.naturalWidth, e.naturalHeight]"
            " : [e.getBoundingClientRect().width, e.getBoundingClientRect().height];", img)
        assert w > 100 and h > 50, img.get_attribute("alt")
        assert img.is_displayed() and img.size["width"] > 100
    tables = driver.find_elements(By.TAG_NAME, "table")
    assert len(tables) >= 6
    for table in tables:
        rows = table.find_elements(By.TAG_NAME, "tr")
        assert len(rows) >= 2 and table.size["height"] > 20, table.text[:200]
    headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
    verdict = driver.find_element(By.XPATH, "//h2[starts-with(., 'Verdict')]/following::table[1]")
    first_column = [r.find_elements(By.TAG_NAME, "td")[0].text for r in verdict.find_elements(By.TAG_NAME, "tr")[1:]]
    assert sorted(first_column) == sorted(sources)
    if screenshot is not None:
        driver.set_window_size(1200, int(driver.execute_script("return document.body.scrollHeight")) + 100)
        driver.save_screenshot(str(screenshot))
    return {"images": len(images), "tables": len(tables), "headings": headings, "sources": first_column}


def test_report_renders_in_headless_chromium(run, tmp_path, browser):
    page = _write(run, tmp_path / "report.html")
    found = check_rendered(browser, page, [*SOURCES, "long"], screenshot=tmp_path / "report.png")
    assert found["headings"][:3] == ["At a glance", "Left out of training (5 task(s))", "Verdict: which data helped"]
    assert (tmp_path / "report.png").stat().st_size > 10_000
