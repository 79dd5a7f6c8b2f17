"""Dataset cards: round trip through `load_dataset`, a valid header, and numbers that match the run."""

from __future__ import annotations

import dataclasses
import re

import pytest
import yaml

from rlvr.cli import main
from rlvr.datasets_cards.card import CardError, CardOptions, build_dataset, choose_license, read_header
from rlvr.datasets_cards.hub_schema import validate_header
from rlvr.io.tasks import read_tasks
from rlvr.pipeline import Pipeline, run_pipeline
from rlvr.records import Decision, Difficulty, Document, Evidence, RolloutGroup, Task, Value
from rlvr.rundir import RunDir, StageResult
from rlvr.verify import gold_completion, verify

pytest.importorskip("reasoning_gym")


def _text_task(base: Task, doc: Document) -> Task:
    """A task quoting a CC-BY-SA document (as the fill-in-the-middle family makes them)."""
    prov = dataclasses.replace(base.provenance, doc_id=doc.doc_id, generator="test.text")
    return dataclasses.replace(base, provenance=prov, task_id="", kind="gym.text_like",
                               meta={**base.meta, "source": doc.source, "license": doc.license})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run with synth, a fake estimate, a curate step with decontamination, and a train report."""
    root = tmp_path_factory.mktemp("run")
    run_pipeline(Pipeline.from_mapping({"seed": 1, "stages": [
        {"name": "arith", "type": "synth.gym", "with": {"name": "basic_arithmetic", "n": 30}},
        {"name": "legs", "type": "synth.gym", "with": {"name": "leg_counting", "n": 12}},
    ]}), root)
    run = RunDir(root)
    tasks = Task.read_parquet(root / "arith" / "tasks.parquet") + Task.read_parquet(root / "legs" / "tasks.parquet")
    docs = [Document(f"book#{i}", "text", source="Open Book", license="CC-BY-SA-4.0",
                     meta={"attribution": "\"Open Book\" by A. Author, CC BY-SA 4.0."}) for i in range(2)]
    tasks += [_text_task(tasks[i], docs[i % 2]) for i in range(4)]

    def curate(out):
        decisions, kept = [], []
        for i, t in enumerate(tasks):
            if i in (3, 4, 5):
                decisions.append(Decision(t.task_id, "exact", False, "duplicate", Evidence(tasks[0].task_id, "exact", 1.0)))
                continue
            decisions.append(Decision(t.task_id, "exact", True, "kept"))
            flagged = i in (7, 8)
            bench = "gsm8k" if i == 7 else "math500"
            decisions.append(Decision(t.task_id, "decontam", not flagged, "contaminated" if flagged else "kept",
                                      Evidence("item-1", bench, 0.9) if flagged else Evidence()))
            if not flagged:
                kept.append(dataclasses.replace(t, difficulty=dataclasses.replace(
                    t.difficulty, pass_rate=(i % 5) / 4, evidence=4)))
        Document.write_parquet(out / "documents.parquet", docs)
        return StageResult(files={"tasks": Task.write_parquet(out / "tasks.parquet", kept),
                                  "decisions": Decision.write_parquet(out / "decisions.parquet", decisions)},
                           counts={"in": len(tasks), "kept": len(kept), "quarantined": 2}, tasks=out / "tasks.parquet")

    run.run_stage("curate", "curate", "fp", [], curate,
                  config={"benchmarks": ["gsm8k_test.jsonl", "math500_test.jsonl"], "ngram": 8, "threshold": 0.5})
    kept = Task.read_parquet(root / "curate" / "tasks.parquet")

    def train(out):
        probe = kept[:3]
        Task.write_parquet(out / "probe_tasks.parquet", probe)
        groups = [RolloutGroup(s, t.task_id, 2, [float(s > 0), 0.0], ["ok", "wrong"], [5, 6], phase="probe",
                               meta={"kind": t.kind}) for s in (0, 5) for t in probe]
        # Two training groups of one task: 3 of 4 rollouts solved.
        groups += [RolloutGroup(s, kept[3].task_id, 2, rewards, ["ok"] * 2, [5, 5])
                   for s, rewards in ((1, [1.0, 1.0]), (2, [1.0, 0.0]))]
        values = [Value("generator", "gym.basic_arithmetic", 20, 40, 12, 3.5, 0.1, 0.4, "learned", False, 0.12),
                  Value("generator", "gym.leg_counting", 8, 16, 0, 0.0, 0.0, 0.0, "stuck", True, -0.03),
                  Value("source", "Open Book", 2, 4, 1, 0.2, 0.5, 0.5, "stuck", False, 0.01)]
        # Like the real train stage: its task table holds the trained tasks only, not the probe set,
        # with the store's updated beliefs (here: one task's).
        believed = [kept[3], *kept[4:]]
        believed[0] = dataclasses.replace(kept[3], difficulty=dataclasses.replace(kept[3].difficulty, pass_rate=0.96,
                                                                                   evidence=12))
        trained = Task.write_parquet(out / "tasks.parquet", believed)
        return StageResult(files={"rollouts": RolloutGroup.write_parquet(out / "rollouts.parquet", groups),
                                  "value": Value.write_parquet(out / "value.parquet", values),
                                  "probe": out / "probe_tasks.parquet", "tasks": trained}, tasks=trained)

    run.run_stage("train", "train", "fp", [], train, config={"model": "smollm2-135m-instruct", "steps": 5})
    return root


def test_card_round_trip_validates_and_matches_records(run_dir, tmp_path):
    from datasets import load_dataset

    out = tmp_path / "ds"
    readme, facts = build_dataset(run_dir, out, CardOptions(name="me/rlvr-demo", pretty_name="Demo set"))
    header = read_header(out)
    assert validate_header(header, out) == []
    assert header["license"] == "cc-by-sa-4.0", "CC-BY-SA text forces share-alike"
    assert header["size_categories"] == ["n<1K"]
    # Pass rates of rolled-out tasks are what the training ledger observed (not the store's
    # posterior mean, 0.96 in the train stage's table): 3/4 for the trained task, 1/4 per probe task.
    kept = Task.read_parquet(run_dir / "curate" / "tasks.parquet")
    observed = {kept[3].task_id: (0.75, 4), **{t.task_id: (0.25, 4) for t in kept[:3]}}
    kept = [dataclasses.replace(t, difficulty=Difficulty(t.difficulty.nominal, *observed[t.task_id]))
            if t.task_id in observed else t for t in kept]
    assert facts.pass_rate_origin == "train+estimate"
    assert not any(t.difficulty.pass_rate == 0.96 for t in facts.tasks)

    # load_dataset sees every kept task, split into train and the held-out probe split.
    configs = [c["config_name"] for c in header["configs"]]
    assert configs[0] == "all" and header["configs"][0]["default"] is True
    assert sorted(configs[1:]) == ["gym_basic_arithmetic", "gym_leg_counting", "gym_text_like"]
    everything = load_dataset(str(out), "all")
    assert {s: len(everything[s]) for s in everything} == {"train": len(kept) - 3, "test": 3}
    total = {"train": 0, "test": 0}
    for name in configs[1:]:
        ds = load_dataset(str(out), name)
        for split in ds:
            total[split] += len(ds[split])
    assert total == {"train": len(kept) - 3, "test": 3}
    # One dataset_info entry (the features are the same for every config), so the header stays short.
    assert [i["config_name"] for i in header["dataset_info"]] == ["all"]

    # The folder reads back into identical tasks that still verify.
    back = {t.task_id: t for t in read_tasks(out)}
    assert back == {t.task_id: t for t in kept}
    assert all(verify(t, gold_completion(t)).reward == 1.0 for t in back.values())

    card = readme.read_text()
    body = card.split("\n---\n", 1)[1]
    # Numbers in the card equal the records'.
    assert f"of **{len(kept)}** tasks" in body
    assert "| exact | 46 | 43 | duplicate: 3 |" in body
    assert "| decontam | 43 | 41 | contaminated: 2 |" in body
    assert "| gsm8k | 1 |" in body and "| math500 | 1 |" in body
    assert "| ngram | 8 |" in body and "43 tasks were checked" in body
    assert "quarantined (unusable, with file, line and reason in the run): 2" in body
    rates = [t.difficulty.pass_rate for t in kept]
    assert (f"{len(kept)} tasks have a pass rate, observed while training where the run rolled the task out, else "
            f"estimated before it ({sum(t.difficulty.evidence for t in kept)} rollouts") in body
    assert f"mean {sum(rates) / len(rates):.3f}" in body
    assert f"always solved {sum(r >= 1 for r in rates)}, never solved {sum(r <= 0 for r in rates)}" in body
    assert "| generator | gym.basic_arithmetic | 20 | 40 | 12 | 0.100 → 0.400 | +1.20e-01 |" in body
    for g in facts.generators:
        assert f"| `{g.generator}` |" in body and f"| {g.n_tasks} |" in body
    assert "| Open Book | CC-BY-SA-4.0 | 2 | 4 |" in body
    assert "\"Open Book\" by A. Author, CC BY-SA 4.0." in body
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", body):
        assert (out / link).exists(), f"plot {link} linked but missing"
    assert {"plots/probe.png", "plots/pass_rate.png", "plots/value.png"} <= set(re.findall(r"\]\(([^)]+\.png)\)", body))
    assert (out / "LICENSE.md").exists()


def test_card_of_the_curated_table_takes_the_observed_pass_rates(run_dir, tmp_path):
    _, facts = build_dataset(run_dir, tmp_path / "ds", tasks_path=run_dir / "curate" / "tasks.parquet")
    by_id = {t.task_id: t.difficulty for t in facts.tasks}
    trained = Task.read_parquet(run_dir / "train" / "tasks.parquet")[0]
    assert (by_id[trained.task_id].pass_rate, by_id[trained.task_id].evidence) == (0.75, 4)
    assert len(facts.tasks) == len(Task.read_parquet(run_dir / "curate" / "tasks.parquet"))


def test_card_cli_and_offline_push(run_dir, tmp_path, capsys, monkeypatch):
    out = tmp_path / "ds"
    assert main(["card", "--run", str(run_dir), "--out", str(out), "--pretty-name", "CLI set"]) == 0
    assert main(["card", "validate", str(out)]) == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert main(["card", "push", str(out), "--repo-id", "me/x"]) == 2
    assert "nothing was uploaded" in capsys.readouterr().err
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_licence_rules():
    assert choose_license("", [])[0] == {"license": "apache-2.0"}
    assert choose_license("", ["CC-BY-SA-4.0"])[0] == {"license": "cc-by-sa-4.0"}
    mixed = choose_license("", ["CC-BY-SA-3.0", "CC-BY-SA-4.0"])[0]
    assert mixed["license"] == "other" and mixed["license_link"] == "LICENSE.md" and mixed["license_name"] == "mixed-cc-by-sa"
    with pytest.raises(CardError, match="same licence"):
        choose_license("mit", ["CC-BY-SA-4.0"])
    with pytest.raises(CardError, match="not a Hub licence id"):
        choose_license("my-own", [])


def test_validator_rejects_each_kind_of_bad_header(run_dir, tmp_path):
    out = tmp_path / "ds"
    build_dataset(run_dir, out)
    good = read_header(out)
    assert validate_header(good, out) == []

    def broken(**changes):
        h = yaml.safe_load(yaml.safe_dump(good))
        for k, v in changes.items():
            if v is None:
                h.pop(k)
            else:
                h[k] = v
        return validate_header(h, out)

    assert any("size_categories" in p for p in broken(size_categories=["small"]))
    assert any("task_categories" in p for p in broken(task_categories=["rl-tasks"]))
    assert any("license 'gpl-9'" in p for p in broken(license="gpl-9"))
    assert any("license_name" in p for p in broken(license="other"))
    assert any("missing key 'pretty_name'" in p for p in broken(pretty_name=None))
    assert any("language" in p for p in broken(language=["english language"]))
    cfgs = yaml.safe_load(yaml.safe_dump(good["configs"]))
    cfgs[0]["data_files"][0]["path"] = "data/nope/*.parquet"
    assert any("matches no file" in p for p in broken(configs=cfgs))
    info = yaml.safe_load(yaml.safe_dump(good["dataset_info"]))
    info[0]["splits"][0]["num_examples"] += 1
    assert any("examples but the Parquet has" in p for p in broken(dataset_info=info))
    info = yaml.safe_load(yaml.safe_dump(good["dataset_info"]))
    info[0]["features"] = info[0]["features"][:-1]
    assert any("features do not match" in p for p in broken(dataset_info=info))


def test_curation_table_counts_the_input_step_from_the_rows_it_passed_on(tmp_path):
    """The curate runner records only the second copies it drops at input; the card must still
    say how many tasks came in and how many went on (not 'in 3, kept 0')."""
    from rlvr.datasets_cards.collect import gather_curation

    run = RunDir(tmp_path)

    def curate(out):
        decisions = [Decision(f"t{i}", "input", False, "duplicate_id") for i in range(3)]
        decisions += [Decision(f"u{i}", "exact", i != 0, "kept" if i else "duplicate") for i in range(10)]
        return StageResult(files={"decisions": Decision.write_parquet(out / "decisions.parquet", decisions)},
                           counts={"in": 13, "kept": 9, "quarantined": 0})

    run.run_stage("curate", "curate", "fp", [], curate, config={})
    rows, decontam = gather_curation(run)
    assert [(r.step, r.n_in, r.n_kept, r.dropped) for r in rows] == [
        ("input", 13, 10, {"duplicate_id": 3}), ("exact", 10, 9, {"duplicate": 1})]
    assert decontam is None


def test_card_reads_like_a_published_card(run_dir, tmp_path):
    """Citation, an example instance with its decoded answer, motivation, curator and contact, bias and
    limitations, a licence for every config, rollouts split by phase, and a header that is not the card."""
    out = tmp_path / "ds"
    readme, facts = build_dataset(run_dir, out, CardOptions(name="me/rlvr-demo", pretty_name="Demo set",
                                                            curator="RLVR team", contact="rlvr@example.org"))
    card = readme.read_text()
    header_lines = card.split("\n---\n", 1)[0].count("\n")
    assert header_lines < card.count("\n") / 2, "the YAML header must not dominate the card"
    body = card.split("\n---\n", 1)[1]
    for section in ("## Motivation", "## Configs and splits", "## Example instance", "## Bias, risks and limitations",
                    "## Citation"):
        assert section in body
    assert "Curated by: RLVR team. Contact: rlvr@example.org." in body
    assert "@misc{me_rlvr_demo," in body and "author       = {RLVR team}" in body
    assert "json.loads" in body and "answer` as stored: `" in body
    # every config row names a licence: the generated kinds Apache-2.0, the text-derived one its source's
    rows = re.findall(r"^\| `([\w-]+)` \| (.*?) \| (.*?) \|$", body, re.M)
    licences = {name: lic for name, _splits, lic in rows}
    assert set(licences) == {"all", "gym_basic_arithmetic", "gym_leg_counting", "gym_text_like"}
    assert "apache-2.0 (procedurally generated)" in licences["gym_basic_arithmetic"]
    assert "CC-BY-SA-4.0" in licences["gym_text_like"] and all(licences.values())
    # the probe rollouts are counted with the training ones, and the card says so
    assert facts.rollouts == {"probe": 12, "train": 4}
    assert "of which 4 are training rollouts" in body and "12 probe rollouts" in body
    # kinds without a probe task have no test split: said, not silent
    no_test = [name for name, splits, _ in rows if name != "all" and "`test`" not in splits]
    for name in no_test:
        assert f"`{name}`" in body.split("have no `test` split:", 1)[1].split("\n", 1)[0]


def test_card_from_a_task_table_without_a_run(run_dir, tmp_path, capsys):
    table = run_dir / "curate" / "tasks.parquet"
    out = tmp_path / "ds"
    assert main(["card", "--tasks", str(table), "--out", str(out), "--curator", "me"]) == 0
    assert validate_header(read_header(out), out) == []
    assert f"of **{len(Task.read_parquet(table))}** tasks" in (out / "README.md").read_text()
    assert "wrote" in capsys.readouterr().out


def test_card_refuses_a_missing_run_folder_and_creates_nothing(tmp_path, capsys):
    missing = tmp_path / "runs" / "missing"
    assert main(["card", "--run", str(missing), "--out", str(tmp_path / "ds")]) == 2
    err = capsys.readouterr().err
    assert "--run" in err and "does not exist" in err and "--tasks" in err
    assert not missing.exists() and not (tmp_path / "runs").exists() and not (tmp_path / "ds").exists()
    assert main(["card", "--run", str(tmp_path)]) == 2
    assert "needs --out DATASET_DIR" in capsys.readouterr().err


def _rerun_values(tmp_path, name: str, arith: float, legs: float):
    """Another run's value.parquet for the same data (another seed): the same keys, other influences."""
    values = [Value("generator", "gym.basic_arithmetic", 20, 40, 12, 3.5, 0.1, 0.4, "learned", False, arith,
                    meta={"influence_vs_replacement": arith / 2}, influence_se=0.001),
              Value("generator", "gym.leg_counting", 8, 16, 0, 0.0, 0.0, 0.0, "stuck", True, legs)]
    return Value.write_parquet(tmp_path / name / "value.parquet", values)


def test_value_pooled_over_runs_in_the_cli_and_the_card(run_dir, tmp_path, capsys):
    a, b = _rerun_values(tmp_path, "a", 0.10, -0.05), _rerun_values(tmp_path, "b", 0.20, -0.07)
    # One run: its rows as value.parquet holds them, found through the run folder's manifest.
    assert main(["value", str(run_dir), "--level", "generator"]) == 0
    out = capsys.readouterr().out
    assert str(run_dir / "train" / "value.parquet") in out and "bootstrap se" in out
    assert re.search(r"gym\.basic_arithmetic\s+1\s+40\s+12\s+\+0\.12\s", out)
    assert main(["value", str(run_dir), "--level", "all", "--top", "1"]) == 0  # the most helpful and most harmful
    out = capsys.readouterr().out
    assert "gym.basic_arithmetic" in out and "gym.leg_counting" in out and "Open Book" not in out

    # Three runs: mean over them +- their spread / sqrt(3), which a single run's se cannot see.
    pooled_file = tmp_path / "pooled.parquet"
    assert main(["value", str(run_dir), str(a.parent), str(b), "--level", "generator", "--out", str(pooled_file)]) == 0
    out = capsys.readouterr().out
    mean, se = 0.14, (((0.12 - 0.14) ** 2 + (0.10 - 0.14) ** 2 + (0.20 - 0.14) ** 2) / 2 / 3) ** 0.5
    assert "3 runs pooled" in out and "se over runs" in out
    assert re.search(rf"gym\.basic_arithmetic\s+3\s+120\s+36\s+\+0\.14 \+- {se:.2g}\s+\+0\.075\s.*helped", out), out
    assert re.search(r"gym\.leg_counting\s+3\s+48\s+0\s+-0\.05 \+- 0\.012\s.*hurt", out), out
    pooled = {(v.level, v.key): v for v in Value.read_parquet(pooled_file)}
    arith = pooled["generator", "gym.basic_arithmetic"]
    assert arith.influence == pytest.approx(mean) and arith.influence_se == pytest.approx(se)
    assert arith.meta["influence_by_run"] == pytest.approx([0.12, 0.10, 0.20])
    # A key only one run holds is kept, with no spread to give it an se.
    assert pooled["source", "Open Book"].meta["runs"] == 1 and pooled["source", "Open Book"].influence_se is None

    # The card pools the same way and says so.
    readme, facts = build_dataset(run_dir, tmp_path / "ds", CardOptions(value_runs=(a, b.parent)))
    body = readme.read_text().split("\n---\n", 1)[1]
    assert facts.value_runs == 3
    assert f"| generator | gym.basic_arithmetic | 20 | 120 | 36 | 0.100 → 0.400 | +1.40e-01 ± {se:.1e} |" in body
    assert "3 short GRPO runs" in body and "the mean over the 3 runs" in body
    assert "Training value comes from 3 short runs" in body
    assert validate_header(read_header(tmp_path / "ds"), tmp_path / "ds") == []

    # Mistakes name what is wrong.
    assert main(["value", str(run_dir), str(run_dir / "train")]) == 2
    assert "given twice" in capsys.readouterr().err
    assert main(["value", str(tmp_path / "nope")]) == 2
    assert "nope: does not exist" in capsys.readouterr().err
    assert main(["value", str(run_dir), "--level", "shelf"]) == 2
    assert "no value rows at level 'shelf'" in capsys.readouterr().err
    assert main(["card", "--run", str(run_dir), "--out", str(tmp_path / "ds2"), "--value-runs", str(run_dir)]) == 2
    assert "given twice" in capsys.readouterr().err
    assert main(["card", "--tasks", str(run_dir / "curate" / "tasks.parquet"), "--out", str(tmp_path / "ds3"),
                 "--value-runs", str(a)]) == 2
    assert "give --run RUN_DIR too" in capsys.readouterr().err
