"""select: beliefs about each task's pass rate and the selectors that choose what to train on."""
