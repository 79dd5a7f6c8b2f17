"""Embedded models, generation backends, and the lazy CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from stubserver import ChatStub, serving

from rlvr.models import ModelNotAvailable, resolve_model
from rlvr.models.backends import Completion, OpenAIBackend, make_backend


class _Stub(ChatStub):
    """A tiny OpenAI-compatible server: echoes the last user message; can ignore n or fail once."""

    calls: list[dict] = []
    ignore_n = False
    fail_first = 0

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.body()
        type(self).calls.append(body)
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"busy")
            return
        if self.path != "/v1/chat/completions":
            self.send_response(404)
            self.end_headers()
            return
        n = 1 if type(self).ignore_n else body.get("n", 1)
        text = body["messages"][-1]["content"].upper()
        self.send_choices([f"{text} #{body['seed']}:{i}" for i in range(n)],
                          ["length" if body["max_tokens"] < 5 else "stop"] * n, usage={"completion_tokens": 7 * n})


@pytest.fixture
def stub_server():
    _Stub.calls, _Stub.ignore_n, _Stub.fail_first = [], False, 0
    with serving(_Stub) as url:
        yield url


def test_openai_backend_n_retries_and_chat_messages(stub_server):
    backend = make_backend(f"openai:tiny@{stub_server}/v1")
    assert isinstance(backend, OpenAIBackend)
    out = backend.generate(["hello", [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]],
                           n=3, max_new_tokens=16, seed=1)
    assert [len(o) for o in out] == [3, 3]
    assert all(isinstance(c, Completion) for o in out for c in o)
    assert out[0][0].startswith("HELLO") and out[1][2].startswith("HI")
    assert _Stub.calls[0]["model"] == "tiny" and _Stub.calls[0]["n"] == 3

    _Stub.calls, _Stub.ignore_n = [], True  # llama.cpp-style server: one choice per request
    out = backend.generate(["x"], n=3, max_new_tokens=2, seed=5)
    assert len(out[0]) == 3 and len(_Stub.calls) == 3
    assert len({c for c in out[0]}) == 3, "top-up requests must use different seeds"
    assert all(c.truncated for c in out[0])

    _Stub.calls, _Stub.ignore_n, _Stub.fail_first = [], False, 2  # transient 503s are retried
    assert backend.generate(["y"], n=1)[0][0].startswith("Y")


def test_openai_backend_errors_are_clear(stub_server):
    backend = OpenAIBackend(stub_server + "/wrong", retries=0)
    with pytest.raises(RuntimeError, match="HTTP 404"):
        backend.generate(["x"])
    dead = OpenAIBackend("http://127.0.0.1:9", retries=1, timeout_s=2)
    with pytest.raises(RuntimeError, match="request failed after 2 attempts"):
        dead.generate(["x"])
    with pytest.raises(ValueError, match="unknown backend"):
        make_backend("nope:thing")


def test_unknown_hub_model_offline_names_the_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotAvailable, match="not in the local Hugging Face cache.*huggingface-cli download"):
        resolve_model("someone/not-a-cached-model")
    with pytest.raises(ModelNotAvailable, match="neither an embedded model"):
        resolve_model("no-such-model")


def test_cli_help_is_lazy():
    code = (
        "import sys, contextlib, io\n"
        "from rlvr.cli import main\n"
        "for argv in (['--help'], ['synth', '--help'], ['select', '--help'], ['verify', '--help'],"
        " ['models', '--help'], ['run', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "        try: main(argv)\n"
        "        except SystemExit: pass\n"
        "    assert 'usage' in out.getvalue(), argv\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'sentence_transformers', 'datasets', 'sklearn')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.fixture(scope="module")
def smollm2():
    return resolve_model("smollm2-135m-instruct")


@pytest.mark.slow
def test_bundled_smollm2_prepares_and_generates(smollm2):
    from rlvr.models.backends import TransformersBackend

    assert (smollm2 / "model.safetensors").exists() and (smollm2 / "config.json").exists()
    cfg = json.loads((smollm2 / "config.json").read_text())
    assert "quantization_config" not in cfg, "TRL refuses checkpoints flagged as quantized"
    backend = TransformersBackend("smollm2-135m-instruct", batch_size=3)
    out = backend.generate(["What is the capital of France?", "Count to three."], n=2, max_new_tokens=12,
                           temperature=0.0)
    assert [len(o) for o in out] == [2, 2]
    assert out[0][0] == out[0][1], "greedy decoding must be deterministic"
    assert all(0 < c.n_tokens <= 12 for o in out for c in o)
    assert "paris" in out[0][0].lower()


@pytest.mark.slow
def test_prepare_is_safe_when_two_processes_race(tmp_path):
    env = {**os.environ, "RLVR_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    code = "from rlvr.models import prepare_smollm2; print(prepare_smollm2())"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    assert outs[0][0].strip() == outs[1][0].strip()
    models_dir = tmp_path / "cache" / "models"
    assert [p.name for p in models_dir.iterdir()] == ["smollm2-135m-instruct"], "no temp folders may remain"
