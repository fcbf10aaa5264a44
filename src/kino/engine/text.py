"""Prompt → UMT5 context, as the official T5EncoderModel computes it."""

from __future__ import annotations

import html

import ftfy
import regex
import torch
from transformers import PreTrainedTokenizerBase, UMT5EncoderModel

TEXT_LEN = 512


def clean_prompt(text: str) -> str:
    """The official tokenizer's clean='whitespace': ftfy, double html unescape, collapse spaces."""
    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return regex.sub(r"\s+", " ", text).strip()


def tokenize(
    tokenizer: PreTrainedTokenizerBase, prompts: list[str], text_len: int = TEXT_LEN
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cleaned prompts → (input ids, attention mask), padded to text_len."""
    batch = tokenizer(
        [clean_prompt(p) for p in prompts],
        padding="max_length",
        truncation=True,
        max_length=text_len,
        add_special_tokens=True,
        return_tensors="pt",
    )
    return batch.input_ids, batch.attention_mask


@torch.no_grad()
def encode_prompts(
    tokenizer: PreTrainedTokenizerBase,
    text_encoder: UMT5EncoderModel,
    prompts: list[str],
    device: torch.device,
    text_len: int = TEXT_LEN,
) -> list[torch.Tensor]:
    """One [text_len, dim] context per prompt: the real tokens' states, then zeros.

    The official encoder returns only the real tokens and the DiT pads them with zeros to
    text_len; diffusers' WanTransformer3DModel takes the padded tensor directly.
    """
    ids, mask = tokenize(tokenizer, prompts, text_len)
    ids, mask = ids.to(device), mask.to(device)
    states = text_encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    lengths = mask.gt(0).sum(dim=1)
    contexts = []
    for state, length in zip(states, lengths.tolist(), strict=True):
        padded = torch.zeros_like(state)
        padded[:length] = state[:length]
        contexts.append(padded)
    return contexts
