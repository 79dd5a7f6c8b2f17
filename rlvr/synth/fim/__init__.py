"""Golden Goose fill-in-the-middle multiple choice from raw text (see rlvr/synth/fim/generator.py).

Modules: text (units and offsets), passages (cutting and reasoning filter), corpus (readers and
the built-in corpus), spans (which span to mask), perturb and mining (distractors), guards,
task (format and the `mcqa.fim` verifier), llm (LLM mode), generator, difficulty, cli.
"""
