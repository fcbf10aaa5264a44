"""The demo tokenizer: trained on captions, case-blind, and never drops an unseen word."""

from __future__ import annotations

import numpy as np

from kino.demo.captions import vocabulary_corpus
from kino.demo.tokenizer import train_tokenizer


def test_tokenizer_learns_caption_words_and_spells_out_unseen_ones() -> None:
    tokenizer = train_tokenizer(vocabulary_corpus(np.random.default_rng(0), 3000), 600)
    ids = tokenizer("A RED circle").input_ids
    assert ids == tokenizer("a red circle").input_ids
    assert ids[-1] == tokenizer.eos_token_id == 1
    assert tokenizer.pad_token_id == 0
    assert "▁red" in tokenizer.convert_ids_to_tokens(ids)
    unseen = tokenizer("zxqv").input_ids
    assert tokenizer.unk_token_id not in unseen
    assert tokenizer.decode(unseen, skip_special_tokens=True) == "zxqv"
    chinese = tokenizer("夕阳下，一个红色的圆从左向右移动").input_ids
    assert tokenizer.unk_token_id not in chinese
    pieces = tokenizer.convert_ids_to_tokens(chinese)
    # One piece per character: colour and shape words reach the encoder as separable units.
    assert pieces[:-1] == [f"▁{c}" for c in "夕阳下,一个红色的圆从左向右移动"]
