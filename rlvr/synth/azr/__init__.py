"""Absolute Zero (arXiv 2505.03335): code reasoning tasks the policy proposes and the sandbox checks.

- programs.py: validation (one function `f`, ban list, sandbox run, determinism) and safe
  comparison of outputs as literals;
- tasks.py: solver prompts and task records for deduction, abduction and induction;
- verifiers.py: the `azr.deduction`, `azr.abduction` and `azr.induction` verifiers;
- buffer.py: the persistent program buffer in the run directory;
- propose.py: one self-play proposer round with any Backend, with learnability rewards;
- generator.py: the registered `azr` generator over the bundled seed programs (seeds.json);
- stage.py and cli.py: the `synth.azr` pipeline stage and `rlvr synth azr`.

Code is only ever executed through `rlvr.synth.sandbox`.
"""
