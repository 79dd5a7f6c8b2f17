"""`rlvr synth sws --run RUN_DIR [--train NAME] [--backend SPEC] [--policy-backend SPEC] ...`.

SwS questions aimed at the weaknesses of a finished train stage of RUN_DIR (the last one, or
--train NAME); outputs go to RUN_DIR/<--name>/ (default sws/) and into the manifest, so an
identical second call is a no-op.
"""

from __future__ import annotations

import argparse

from rlvr.config import add_config_args, config_from_args


def configure(parser: argparse.ArgumentParser) -> None:
    from rlvr.synth.svs.cli import add_run_args
    from rlvr.synth.sws.stage import SwSConfig

    add_run_args(parser, "sws")
    add_config_args(parser, SwSConfig)
    parser.epilog = ("Defaults: the bundled SmolLM2-135M for every role. For real use give a strong instruct model "
                     "(--backend openai:MODEL@http://HOST:PORT/v1), a reasoning model for --answer-backend and the "
                     "trained policy for --policy-backend (e.g. transformers:RUN_DIR/train/checkpoints/checkpoint-N).")


def run(args: argparse.Namespace) -> int:
    from rlvr.synth.svs.cli import run_after_train
    from rlvr.synth.sws.stage import SwSConfig
    from rlvr.synth.sws.stage import run as run_sws

    return run_after_train(args, config_from_args(SwSConfig, args), "synth.sws", run_sws)
