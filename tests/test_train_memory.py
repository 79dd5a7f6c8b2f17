"""The CPU memory planner: parameter and activation estimates, micro-batch sizing, and the refusal
of a run that cannot fit, before any model is loaded or step is taken."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rlvr.train.config import TrainConfig
from rlvr.train.memory import GB, activation_bytes_per_token, count_parameters, cpu_budget, plan_memory

# SmolLM2-135M's config (the bundled policy): 134,515,008 parameters.
SMOLLM2 = SimpleNamespace(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                          num_key_value_heads=3, head_dim=64, vocab_size=49152, tie_word_embeddings=True)


def test_parameter_count_matches_the_bundled_model_and_a_real_llama():
    assert count_parameters(SMOLLM2) == 134_515_008
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                         num_attention_heads=8, num_key_value_heads=2, tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    assert count_parameters(config) == sum(p.numel() for p in model.parameters())


def test_default_cpu_run_is_sized_to_four_gb():
    """The defaults (4 prompts x 8 completions, 256 completion tokens) used to ask for 8192-token
    micro-batches, ~15 GB resident; planned for 4 GB they get one row per slice."""
    row = 100 + 256
    per_token = activation_bytes_per_token(SMOLLM2)
    assert 1.5 * 2**20 < per_token < 2.5 * 2**20  # about 2 MB per token
    plan = plan_memory(SMOLLM2, row_tokens=row, generation_rows=32, budget=4 * GB)
    assert 3 * GB < plan.fixed < 3.5 * GB and plan.tokens_per_micro_batch == row
    assert plan.fixed + plan.per_token * plan.tokens_per_micro_batch <= 4 * GB
    assert plan.fixed + plan.generation <= 4 * GB
    config = TrainConfig(tokens_per_micro_batch=plan.tokens_per_micro_batch)
    assert config.auto_micro_batches(100) == 32  # 32 completions, 1 per slice
    # More memory: bigger slices. LoRA or Adafactor: less optimizer state, bigger slices.
    assert plan_memory(SMOLLM2, row_tokens=row, generation_rows=32, budget=8 * GB).tokens_per_micro_batch == 7 * row
    lora = plan_memory(SMOLLM2, row_tokens=row, generation_rows=32, budget=4 * GB, trainable=1_345_150)
    adafactor = plan_memory(SMOLLM2, row_tokens=row, generation_rows=32, budget=4 * GB, optimizer="adafactor")
    assert lora.fixed < adafactor.fixed < plan.fixed
    assert lora.tokens_per_micro_batch > adafactor.tokens_per_micro_batch > plan.tokens_per_micro_batch


def test_a_run_that_cannot_fit_is_refused_with_the_numbers():
    with pytest.raises(ValueError, match=r"does not fit in memory: it needs at least 3\.\d\d GB but may use 2\.00 GB"
                                         r".*Weights, gradients, optimizer state and runtime take 3\.10 GB.*"
                                         r"max_completion_length"):
        plan_memory(SMOLLM2, row_tokens=356, generation_rows=32, budget=2 * GB)
    with pytest.raises(ValueError, match="generating 512 completions"):
        plan_memory(SMOLLM2, row_tokens=4096, generation_rows=512, budget=16 * GB)


def test_budget_is_available_memory_capped():
    assert cpu_budget(0.5) == int(0.5 * GB)
    assert cpu_budget(0) <= 4 * GB


def test_train_refuses_before_it_starts(tmp_path):
    from rlvr.synth.toy import FirstCharConfig, first_char_tasks
    from rlvr.train.loop import train
    from rlvr.train.tiny import make_tiny_model

    tasks = first_char_tasks(24, seed=1, config=FirstCharConfig(1, 30))
    model, tok = make_tiny_model()
    config = TrainConfig(model="tiny", steps=2, prompts_per_step=4, num_generations=4, max_completion_length=6,
                         memory_gb=0.3)  # less than the runtime itself
    with pytest.raises(ValueError, match="does not fit in memory.*--memory-gb"):
        train(config, tasks, tmp_path / "run", model=model, tokenizer=tok)
    assert not (tmp_path / "run" / "checkpoints").exists()
    # the policy given as a path (train accepts one): planned from the config saved there
    model.save_pretrained(tmp_path / "policy")
    with pytest.raises(ValueError, match="does not fit in memory.*--memory-gb"):
        train(config, tasks, tmp_path / "run2", model=str(tmp_path / "policy"), tokenizer=tok)


def test_influence_memory_is_planned_and_auto_geometry_falls_back_to_the_scalar():
    """The stored probe gradients (units x tracked weights) and the step's kept activations are part of
    the plan; `auto` keeps AdamW's per-weight geometry when they fit and the scalar one otherwise, and
    an explicit `adamw` that cannot fit is refused."""
    from rlvr.train.influence import storage_bytes, storage_dtype
    from rlvr.train.loop import _fit_memory
    from rlvr.train.memory import block_linear_parameters, block_linear_widths

    assert block_linear_parameters(SMOLLM2) == 3_538_944 and block_linear_widths(SMOLLM2) == 10_176
    assert storage_dtype(12, 30 * 3_538_944) == "bfloat16" and storage_bytes(12, 30 * 3_538_944) == 2 * 12 * 30 * 3_538_944
    assert storage_dtype(4, 60_000) == "float32"
    model = SimpleNamespace(config=SMOLLM2)
    default = _fit_memory(TrainConfig(memory_gb=4.0), model, 100, influence_units=16)
    assert default.influence_geometry == "scalar"  # 4 x 8 rows of 356 tokens: 0.43 GB more does not fit 4 GB
    roomy = _fit_memory(TrainConfig(memory_gb=8.0), model, 100, influence_units=16)
    assert roomy.influence_geometry == "adamw"
    small = _fit_memory(TrainConfig(memory_gb=4.0, prompts_per_step=4, num_generations=4, max_completion_length=4),
                        model, 60, influence_units=12)
    assert small.influence_geometry == "adamw"
    assert _fit_memory(TrainConfig(memory_gb=4.0, influence=False), model, 100, influence_units=0).influence_geometry \
        == "auto"  # nothing to decide
    with pytest.raises(ValueError, match="influence's probe gradients"):
        _fit_memory(TrainConfig(memory_gb=4.0, influence_geometry="adamw"), model, 100, influence_units=16)
    with pytest.raises(ValueError, match="track fewer --influence-layers"):
        _fit_memory(TrainConfig(memory_gb=4.0, influence_layers=30), model, 100, influence_units=16)
