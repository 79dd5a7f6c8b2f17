"""SwS, self-aware weakness-driven problem synthesis (arXiv 2506.08989), from a training run.

- weak.py: weak tasks per domain (the SwS failure rule, or "failing"), failure rates, budget;
- concepts.py: concepts per weak task from an LLM, with robust parsing of a Python-list answer;
- sampler.py: concept-set sampling (frequency, co-occurrence, embedding similarity, temperature);
- synthesize.py: the generation prompt, rule filters and the majority-vote reference answer;
- stage.py and cli.py: the `synth.sws` stage and `rlvr synth sws --run RUN_DIR`.

The tasks (kind `sws.synth`) are scored by the `final_answer` verifier of rlvr.synth.svs.answer.
"""
