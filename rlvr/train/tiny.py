"""A tiny, randomly initialised causal LM with a character-level tokenizer, for tests and benchmarks.

The real default policy (SmolLM2-135M) takes seconds per GRPO step on a laptop CPU; the training
loop's machinery (sampler, ledger, checkpoints, influence, report) does not care how good the
model is, so tests run it on this model instead, in well under a second per step.

The tokenizer maps every printable ASCII character to one token and adds the ChatML markers, so
chat prompts render and decode exactly like they do for SmolLM2. `init_std` sets how peaked the
random model's next-character distribution is: a larger value makes its preferences depend
strongly on the prompt, so some tasks are (randomly) easy for it and others hard, which gives a
selector something real to find.
"""

from __future__ import annotations

import string
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ("<pad>", "<unk>", "<|im_start|>", "<|im_end|>")


def make_tokenizer():
    """A character-level fast tokenizer with ChatML markers and a chat template."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = [c for c in string.printable if c not in "\x0b\x0c\r"]
    vocab = {tok: i for i, tok in enumerate([*SPECIALS, *chars])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", unk_token="<unk>", eos_token="<|im_end|>",
        bos_token="<|im_start|>", additional_special_tokens=["<|im_start|>", "<|im_end|>"],
        padding_side="left",
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def make_tiny_model(path: str | Path | None = None, *, hidden: int = 48, layers: int = 2, heads: int = 4,
                    init_std: float = 0.5, seed: int = 0):
    """(model, tokenizer): a Llama-architecture model of ~60k parameters; saved to `path` if given."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = make_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=512,
        initializer_range=init_std, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id, tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    if path is not None:
        path = Path(path)
        model.save_pretrained(path)
        tok.save_pretrained(path)
    return model, tok
