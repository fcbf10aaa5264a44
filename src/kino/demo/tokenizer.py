"""The demo text encoder's tokenizer: a UMT5-style Unigram model trained on the world's captions,
so that it needs no download. Unknown words fall back to single characters."""

from __future__ import annotations

import string

from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    trainers,
)
from transformers import PreTrainedTokenizerFast

from kino.checkpoints.tiny import umt5_tokenizer
from kino.demo.architecture import TEXT_LEN

SPECIAL_TOKENS = ["<pad>", "</s>", "<unk>"]
VOCAB_SIZE = 1500


def train_tokenizer(corpus: list[str], vocab_size: int = VOCAB_SIZE) -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.Unigram())
    # Case and full-width forms carry no meaning in this world.
    backend.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        unk_token="<unk>",
        # Every character seen, and every ASCII letter and digit, stays in the vocabulary, so an
        # unseen word is spelled out rather than lost.
        initial_alphabet=sorted(
            {c for text in corpus for c in text.lower()}
            | set(string.ascii_lowercase + string.digits)
        ),
        max_piece_length=12,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    return umt5_tokenizer(backend, TEXT_LEN)
