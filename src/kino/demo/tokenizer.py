"""The demo text encoder's tokenizer: byte-pair encoding trained on the world's captions, so that
it needs no download, wrapped as a UMT5 tokenizer. Unknown words fall back to single characters.

Chinese has no spaces, so a subword model left to itself learns pieces that straddle words
(`一个红`, `色的圆`), and a colour never reaches the text encoder as a unit it can recombine with
a new shape. Each CJK character is therefore its own word (`▁红`), and the encoder composes words
from characters.
"""

from __future__ import annotations

import string

from tokenizers import (
    Regex,
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
# CJK ideographs and CJK punctuation (full-width forms are folded to ASCII by NFKC first).
CJK = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff]"


def train_tokenizer(corpus: list[str], vocab_size: int = VOCAB_SIZE) -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    # Case and full-width forms carry no meaning in this world.
    backend.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CJK), behavior="isolated"),
            pre_tokenizers.Metaspace(),
        ]
    )
    backend.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        # Every character seen, and every ASCII letter and digit, stays in the vocabulary, so an
        # unseen word is spelled out rather than lost.
        initial_alphabet=sorted(
            {c for text in corpus for c in text.lower()}
            | set(string.ascii_lowercase + string.digits)
        ),
        max_token_length=12,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    return umt5_tokenizer(backend, TEXT_LEN)
