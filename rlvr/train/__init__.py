"""train: the embedded GRPO loop on TRL, with a rollout ledger, a probe set and a report of which data helped.

Entry points (imported lazily; `rlvr train --help` loads none of torch, transformers or TRL):

- `rlvr.train.loop.train(config, tasks, out_dir)`: a whole run, resumable (see loop.py);
- `rlvr.train.config.TrainConfig`: every setting, and the TRL GRPOConfig it becomes;
- pieces for your own TRL script: `trainer.trainer_classes()` (the GRPOTrainer subclass and its
  callback), `ledger.Ledger`, `influence.Influence`, `probe.Probe`, `value.compute_values`.
"""
