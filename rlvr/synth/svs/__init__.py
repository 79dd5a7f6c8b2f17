"""SvS, self-play with variational problem synthesis (arXiv 2508.14029), from a training run's ledger.

- answer.py: final-answer extraction and normalisation, and the `final_answer` verifier shared
  with SwS (a problem plus one short reference answer);
- parents.py: under-performing tasks (solve rate in [1/8, 4/8]) and their correct completions,
  and which task kinds are eligible (and why);
- variants.py: the synthesis prompt (the solution only, never the question), extraction, and the
  `svs.variant` tasks that keep the parent's reference answer;
- problems.py: what SvS and SwS share: problem extraction, the solve-rate band, the books;
- stage.py and cli.py: the `synth.svs` stage and `rlvr synth svs --run RUN_DIR`;
- generator.py: the registered, model-free `svs` generator (rule-based variants).
"""
