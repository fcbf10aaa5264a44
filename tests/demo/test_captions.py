"""Captions name every attribute of their scene, and nothing else, in many phrasings."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pytest

from kino.demo.captions import (
    LANGUAGES,
    PHRASEBOOKS,
    canonical,
    caption,
    vocabulary_corpus,
)
from kino.demo.world import Scene, all_scenes

DRAWS = 10
# Scene field → Phrasebook table.
ATTRIBUTES = {"shape": "shapes", "colour": "colours", "motion": "motions", "lighting": "lightings"}
CJK = re.compile(r"[\u4e00-\u9fff]")
Captions = dict[tuple[Scene, str], list[str]]


@pytest.fixture(scope="module")
def captions() -> Captions:
    rng = np.random.default_rng(0)
    return {
        (scene, language): [caption(scene, rng, language).lower() for _ in range(DRAWS)]
        for scene in all_scenes()
        for language in LANGUAGES
    }


@cache
def matcher(phrases: tuple[str, ...], language: str) -> re.Pattern[str]:
    """Any of `phrases`; English phrases only as whole words."""
    alternation = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternation})\b" if language == "en" else alternation)


def table(language: str, field: str) -> dict[str, tuple[str, ...]]:
    """The phrases for each value of `field`; motions also as participles."""
    book = PHRASEBOOKS[language]
    values = getattr(book, ATTRIBUTES[field])
    if field == "motion":
        return {value: values[value] + book.participles.get(value, ()) for value in values}
    return values


def phrases(language: str, field: str, value: str) -> tuple[str, ...]:
    return table(language, field)[value]


def other_phrases(language: str, field: str, value: str) -> tuple[str, ...]:
    return tuple(p for other, ps in table(language, field).items() if other != value for p in ps)


@pytest.mark.parametrize(
    ("scene", "language", "expected"),
    [
        (Scene("circle", "red", "left_to_right", "sunset"), "en",
         "a red circle moves from left to right at sunset"),
        (Scene("square", "blue", "up", "daylight"), "en", "a blue square moves up in daylight"),
        (Scene("triangle", "white", "grows", "night"), "en", "a white triangle grows at night"),
        (Scene("circle", "green", "still", "sunrise"), "en",
         "a green circle stays still at sunrise"),
        (Scene("circle", "red", "left_to_right", "sunset"), "zh",
         "夕阳下，一个红色的圆从左向右移动"),
        (Scene("square", "yellow", "shrinks", "night"), "zh", "夜晚，一个黄色的正方形变小"),
    ],
)  # fmt: skip
def test_canonical_is_the_fixed_template(scene: Scene, language: str, expected: str) -> None:
    assert canonical(scene, language) == expected


def test_every_caption_names_every_attribute_of_its_scene(captions: Captions) -> None:
    for (scene, language), texts in captions.items():
        for field in ATTRIBUTES:
            pattern = matcher(phrases(language, field, getattr(scene, field)), language)
            for text in texts:
                assert pattern.search(text), (field, text)


def test_no_caption_names_another_value_outside_its_lighting_idiom(captions: Captions) -> None:
    # Lighting idioms may hold other values' words (白天 holds 白, "as the sun rises" holds
    # "rises"), so the scene's own lighting phrases are cut out first.
    for (scene, language), texts in captions.items():
        own_lighting = matcher(phrases(language, "lighting", scene.lighting), language)
        for text in texts:
            rest = own_lighting.sub("|", text)
            for field in ATTRIBUTES:
                others = other_phrases(language, field, getattr(scene, field))
                assert not matcher(others, language).search(rest), (field, text)


def test_vertical_motions_never_mention_the_opposite_direction(captions: Captions) -> None:
    forbidden = {
        ("up", "en"): re.compile(r"\b(down|downwards?|falls?|drops?|sinks?|descends?|sets)\b"),
        ("down", "en"): re.compile(r"\b(up|upwards?|rises?|rising|climbs?|ascends?)\b"),
        ("up", "zh"): re.compile("下降|落下|向下|往下|下沉|掉|落山|西下"),
        ("down", "zh"): re.compile("上升|升起|向上|往上|升高"),
    }
    checked = 0
    for (scene, language), texts in captions.items():
        if scene.motion in ("up", "down"):
            for text in texts:
                assert not forbidden[scene.motion, language].search(text), text
                checked += 1
    assert checked == 2 * 2 * 60 * DRAWS


def test_circle_captions_use_known_circle_words(captions: Captions) -> None:
    english = re.compile(r"\b(circle|ball|disc|disk|dot|round|sphere|orb|circular)\b")
    for (scene, language), texts in captions.items():
        if scene.shape == "circle":
            for text in texts:
                assert english.search(text) if language == "en" else ("圆" in text or "球" in text)


def test_every_phrase_is_used(captions: Captions) -> None:
    for language in LANGUAGES:
        texts = [t for (_, lang), ts in captions.items() if lang == language for t in ts]
        corpus = "\n".join(texts)
        book = PHRASEBOOKS[language]
        for table in (book.shapes, book.colours, book.motions, book.lightings):
            for phrase in (p for ps in table.values() for p in ps):
                assert matcher((phrase,), language).search(corpus), phrase


def test_english_motions_come_as_sentences_and_as_participles() -> None:
    # A participle caption names no finite verb: "a red ball rising at dawn".
    rng = np.random.default_rng(5)
    for motion, participles in PHRASEBOOKS["en"].participles.items():
        scene = Scene("circle", "red", motion, "night")
        texts = [caption(scene, rng, "en").lower() for _ in range(1500)]
        finite = matcher(PHRASEBOOKS["en"].motions[motion], "en")
        nominal = [t for t in texts if matcher(participles, "en").search(t)]
        assert 0.25 < len(nominal) / len(texts) < 0.45, motion
        assert not any(finite.search(t) for t in nominal), motion
        corpus = "\n".join(nominal)
        for phrase in participles:
            assert matcher((phrase,), "en").search(corpus), phrase


def test_captions_vary() -> None:
    rng = np.random.default_rng(1)
    scene = Scene("triangle", "yellow", "right_to_left", "night")
    for language in LANGUAGES:
        assert len({caption(scene, rng, language) for _ in range(200)}) >= 150


def test_no_language_picks_both_about_equally() -> None:
    rng = np.random.default_rng(2)
    scene = Scene("square", "green", "down", "sunrise")
    chinese = sum(bool(CJK.search(caption(scene, rng))) for _ in range(400))
    assert 150 < chinese < 250


def test_equal_seeds_give_equal_captions() -> None:
    scene = Scene("circle", "blue", "grows", "daylight")
    first = [caption(scene, np.random.default_rng(7)) for _ in range(5)]
    again = [caption(scene, np.random.default_rng(7)) for _ in range(5)]
    assert first == again
    run = np.random.default_rng(7)
    assert len({caption(scene, run) for _ in range(20)}) > 1


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="fr"):
        caption(Scene("circle", "red", "up", "night"), np.random.default_rng(0), "fr")
    with pytest.raises(ValueError, match="fr"):
        canonical(Scene("circle", "red", "up", "night"), "fr")


def test_vocabulary_corpus_is_deterministic_and_bilingual() -> None:
    corpus = vocabulary_corpus(np.random.default_rng(3), 300)
    assert corpus == vocabulary_corpus(np.random.default_rng(3), 300)
    assert len(corpus) == 300
    chinese = sum(bool(CJK.search(text)) for text in corpus)
    assert 100 < chinese < 200
    assert any("dusk" in t.lower() for t in corpus) and any("黄昏" in t for t in corpus)
