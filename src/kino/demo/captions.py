"""Captions for the synthetic world, in English and Chinese.

The demo model's text encoder learns only the words it sees in training captions, and the
evaluation prompts it in someone else's words. So every value of every attribute comes with the
synonyms people actually use, under varied sentence structures. The first phrase of each table
entry is the canonical one.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kino.demo.world import Scene, all_scenes

LANGUAGES = ("en", "zh")

Table = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Phrasebook:
    """One language's phrases for every value of every scene attribute."""

    shapes: Table
    colours: Table
    motions: Table
    lightings: Table
    # The motion phrases as participles, for captions that are noun phrases ("a red ball rising
    # at dawn"); empty for a language whose verbs do not inflect.
    participles: Table
    # Lighting idioms that mention rising or setting; left out when the object moves up or down,
    # so that a caption never names two vertical directions.
    vertical_idioms: frozenset[str]

    def lighting_options(self, scene: Scene) -> tuple[str, ...]:
        options = self.lightings[scene.lighting]
        if scene.motion in ("up", "down"):
            return tuple(p for p in options if p not in self.vertical_idioms)
        return options


def _sideways(verbs: Sequence[str], directions: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"{v} {d}" for v in verbs for d in directions)


# fmt: off
# The tables are packed several phrases to a line; one per line would bury them.
_EN_SIDEWAYS_VERBS = ("moves", "goes", "slides", "travels", "drifts", "glides", "rolls", "flies")
_EN_RIGHTWARDS = (
    "from left to right", "to the right", "rightward", "rightwards", "across to the right",
    "towards the right side", "toward the right",
)
_EN_LEFTWARDS = (
    "from right to left", "to the left", "leftward", "leftwards", "across to the left",
    "towards the left side", "toward the left",
)

# Video captions are as often noun phrases ("a red ball rising at dawn") as sentences, and the
# text encoder follows only the verb forms it has seen: trained on sentences alone, the demo model
# read the held-out prompts' motion right 55% of the time with "moving", "growing", "shrinking"
# and "staying" where its 81% had "moves", "grows", "shrinks" and "stays".
_EN_SIDEWAYS_PARTICIPLES = (
    "moving", "going", "sliding", "travelling", "drifting", "gliding", "rolling", "flying",
    "heading",
)
_EN_PARTICIPLES: Table = {
    "left_to_right": _sideways(_EN_SIDEWAYS_PARTICIPLES, _EN_RIGHTWARDS),
    "right_to_left": _sideways(_EN_SIDEWAYS_PARTICIPLES, _EN_LEFTWARDS),
    "up": (
        "moving up", "rising", "climbing", "floating up", "going up", "moving upward",
        "moving upwards", "ascending", "lifting upward", "rising up", "drifting upward",
        "flying up", "heading up",
    ),
    "down": (
        "moving down", "falling", "dropping", "sinking", "descending", "going down",
        "moving downward", "moving downwards", "coming down", "falling down", "drifting downward",
        "dropping down", "heading down",
    ),
    "grows": (
        "growing", "getting bigger", "expanding", "getting larger", "swelling", "enlarging",
        "increasing in size", "scaling up", "becoming bigger", "growing larger", "growing bigger",
        "becoming larger",
    ),
    "shrinks": (
        "shrinking", "getting smaller", "contracting", "getting tinier", "decreasing in size",
        "scaling down", "becoming smaller", "dwindling", "reducing in size", "becoming tiny",
    ),
    "still": (
        "staying still", "not moving", "remaining still", "staying in place", "sitting still",
        "standing still", "remaining motionless", "holding still", "staying put",
        "not moving at all", "staying perfectly still", "keeping still",
    ),
}

EN = Phrasebook(
    shapes={
        "circle": (
            "circle", "ball", "disc", "disk", "dot", "round shape", "sphere", "orb",
            "circular shape",
        ),
        "square": ("square", "box", "block", "cube", "square shape", "tile", "square block"),
        "triangle": ("triangle", "triangular shape", "pyramid", "wedge", "triangle shape"),
    },
    colours={
        "red": ("red", "crimson", "scarlet", "cherry-red"),
        "green": ("green", "emerald", "lime", "grass-green"),
        "blue": ("blue", "navy", "cobalt", "royal blue"),
        "yellow": ("yellow", "golden", "gold", "lemon-yellow"),
        "white": ("white", "snow-white", "pale", "ivory"),
    },
    motions={
        "left_to_right": _sideways(_EN_SIDEWAYS_VERBS, _EN_RIGHTWARDS),
        "right_to_left": _sideways(_EN_SIDEWAYS_VERBS, _EN_LEFTWARDS),
        "up": (
            "moves up", "rises", "climbs", "floats up", "goes up", "moves upward",
            "moves upwards", "ascends", "lifts upward", "rises up", "drifts upward", "flies up",
        ),
        "down": (
            "moves down", "falls", "drops", "sinks", "descends", "goes down", "moves downward",
            "moves downwards", "comes down", "falls down", "drifts downward", "drops down",
        ),
        "grows": (
            "grows", "gets bigger", "expands", "gets larger", "swells", "enlarges",
            "increases in size", "scales up", "becomes bigger", "grows larger", "grows bigger",
            "becomes larger",
        ),
        "shrinks": (
            "shrinks", "gets smaller", "contracts", "gets tinier", "decreases in size",
            "scales down", "becomes smaller", "dwindles", "reduces in size", "becomes tiny",
        ),
        "still": (
            "stays still", "does not move", "doesn't move", "remains still", "stays in place",
            "sits still", "is stationary", "is motionless", "stands still", "remains motionless",
            "holds still", "stays put", "does not move at all", "stays perfectly still",
        ),
    },
    lightings={
        "daylight": (
            "in daylight", "during the day", "in the daytime", "in bright daylight", "at noon",
            "on a sunny day", "in broad daylight", "by day", "at midday",
        ),
        "night": (
            "at night", "at nighttime", "in the dark", "in darkness", "at midnight",
            "after dark", "during the night", "in the night", "at night time",
        ),
        "sunset": (
            "at sunset", "at dusk", "as the sun goes down", "as the sun sets", "in the evening",
            "at twilight", "while the sun is setting", "as it gets dark", "as night falls",
            "at sundown", "during sunset",
        ),
        "sunrise": (
            "at sunrise", "at dawn", "at daybreak", "as the sun comes up", "as the sun rises",
            "in the early morning", "as it gets light", "at first light", "in the morning",
            "during sunrise",
        ),
    },
    participles=_EN_PARTICIPLES,
    vertical_idioms=frozenset({
        "as the sun goes down", "as the sun sets", "while the sun is setting", "as night falls",
        "as the sun comes up", "as the sun rises",
    }),
)

ZH = Phrasebook(
    shapes={
        "circle": ("圆", "圆形", "圆圈", "球", "圆球", "圆盘", "小球", "圆点"),
        "square": ("正方形", "方形", "方块", "方框", "正方块", "立方块"),
        "triangle": ("三角形", "三角", "三角块", "锥形", "三角锥"),
    },
    colours={
        "red": ("红色", "红", "赤红色", "大红色"),
        "green": ("绿色", "绿", "翠绿色", "草绿色"),
        "blue": ("蓝色", "蓝", "宝蓝色"),
        "yellow": ("黄色", "黄", "金黄色", "金色"),
        "white": ("白色", "白", "雪白", "雪白色", "纯白色"),
    },
    motions={
        "left_to_right": (
            "从左向右移动", "从左往右移动", "向右移动", "往右走", "向右滑动", "从左边移到右边",
            "往右移动", "从左边滑到右边", "朝右移动", "向右飘",
        ),
        "right_to_left": (
            "从右向左移动", "从右往左移动", "向左移动", "往左走", "向左滑动", "从右边移到左边",
            "往左移动", "从右边滑到左边", "朝左移动", "向左飘",
        ),
        "up": (
            "向上移动", "往上走", "往上移动", "上升", "升起", "往上飘", "升高", "向上飘", "向上升",
        ),
        "down": (
            "向下移动", "往下走", "往下移动", "下降", "落下", "下沉", "掉下来", "往下掉", "向下落",
        ),
        "grows": ("变大", "逐渐变大", "长大", "放大", "膨胀", "越来越大", "变得越来越大", "扩大"),
        "shrinks": ("变小", "逐渐变小", "缩小", "收缩", "越来越小", "变得越来越小", "变得更小"),
        "still": (
            "静止不动", "保持不动", "一动不动", "停在原地", "待着不动", "静止", "停着不动",
            "原地不动", "纹丝不动",
        ),
    },
    lightings={
        "daylight": ("白天", "在白天", "阳光下", "在阳光下", "白昼里", "大白天", "日间", "白天里"),
        "night": ("夜晚", "在夜里", "夜间", "晚上", "黑夜里", "深夜", "夜里", "在晚上"),
        # No bare 傍晚: before 上升 it would spell 晚上 (night).
        "sunset": (
            "夕阳下", "日落时", "日落", "夕阳西下时", "黄昏时", "黄昏", "傍晚时", "日暮时分",
            "太阳落山时", "在夕阳下",
        ),
        "sunrise": (
            "日出时", "日出", "清晨", "黎明时", "拂晓时", "太阳升起时", "朝阳下", "在清晨",
            "破晓时", "黎明",
        ),
    },
    participles={},
    vertical_idioms=frozenset({"夕阳西下时", "太阳落山时", "太阳升起时"}),
)

PHRASEBOOKS = {"en": EN, "zh": ZH}

_EN_DETERMINERS = ("a", "a", "a", "the", "one", "")
_EN_NOUNS = ("{c} {s}", "{c} {s}", "{c} {s}", "{c} {s}", "{c}-coloured {s}", "{c}-colored {s}")
_EN_PLACES = ("in the scene", "on the screen", "in the frame", "in the picture")
_EN_ADVERBS = ("slowly", "steadily", "smoothly", "gently")
# Noun phrases around a participle: "{s} {v}" with v from EN.participles.
_EN_PARTICIPLE_PHRASES = (
    "{s} {v}", "{s} {v}", "{s} {v}", "video of {s} {v}", "a video of {s} {v}",
    "a clip of {s} {v}", "footage of {s} {v}", "we see {s} {v}", "there is {s} {v}",
    "an animation of {s} {v}", "watch {s} {v}",
)
# Sentences may open with the lighting ("At dusk, ..."); headings keep it at the end.
_EN_SENTENCES = (
    "{s} {v}", "{s} {v}", "{s} {v}", "there is {s} that {v}", "there's {s} which {v}",
    "we see {s} that {v}", "we watch as {s} {v}", "you can see {s} that {v}",
)
_EN_HEADINGS = (
    "video of {s} that {v}", "a video of {s} that {v}", "a clip of {s} that {v}",
    "footage: {s} {v}", "video: {s} {v}", "in this video, {s} {v}", "a clip where {s} {v}",
    "a scene in which {s} {v}", "watch as {s} {v}", "{s} that {v}", "an animation of {s} which {v}",
)

_ZH_MEASURES = ("一个", "一个", "一只", "有个", "有一个", "")
_ZH_ADVERBS = ("慢慢地", "缓缓地", "慢慢", "缓缓", "平稳地")
_ZH_FRAMES = (
    "{}", "{}", "{}", "画面中，{}", "画面里，{}", "视频里，{}", "视频中，{}", "镜头里，{}",
    "一段视频：{}", "这是{}的视频",
)
# fmt: on


def canonical(scene: Scene, language: str = "en") -> str:
    """The one fixed phrasing of `scene`, built from each table's first phrase."""
    book = _phrasebook(language)
    shape, colour = book.shapes[scene.shape][0], book.colours[scene.colour][0]
    motion, lighting = book.motions[scene.motion][0], book.lightings[scene.lighting][0]
    if language == "en":
        return f"a {colour} {shape} {motion} {lighting}"
    return f"{lighting}，一个{colour}的{shape}{motion}"


def caption(scene: Scene, rng: np.random.Generator, language: str | None = None) -> str:
    """A random natural phrasing of `scene`; `language` None picks one at random."""
    if language is None:
        language = _pick(rng, LANGUAGES)
    _phrasebook(language)
    return _english(scene, rng) if language == "en" else _chinese(scene, rng)


def vocabulary_corpus(rng: np.random.Generator, count: int) -> list[str]:
    """`count` captions of random scenes in both languages, to train the tokenizer on."""
    scenes = all_scenes()
    return [caption(scenes[int(rng.integers(len(scenes)))], rng) for _ in range(count)]


def _english(scene: Scene, rng: np.random.Generator) -> str:
    colour = _pick(rng, EN.colours[scene.colour])
    # "snow-white-coloured" reads badly; compound colours go bare.
    forms = _EN_NOUNS if colour.isalpha() else _EN_NOUNS[:1]
    noun = _pick(rng, forms).format(c=colour, s=_pick(rng, EN.shapes[scene.shape]))
    determiner = _pick(rng, _EN_DETERMINERS)
    if determiner == "a" and noun[0] in "aeiou":
        determiner = "an"
    subject = f"{determiner} {noun}".strip()
    if rng.random() < 0.2:
        subject += " " + _pick(rng, _EN_PLACES)
    participle = rng.random() < 0.35
    verb = _pick(rng, (EN.participles if participle else EN.motions)[scene.motion])
    if scene.motion != "still" and rng.random() < 0.35:
        adverb = _pick(rng, _EN_ADVERBS)
        verb = f"{adverb} {verb}" if rng.random() < 0.5 else f"{verb} {adverb}"
    lighting = _pick(rng, EN.lighting_options(scene))
    if participle or rng.random() < 0.6:
        templates = _EN_PARTICIPLE_PHRASES if participle else _EN_SENTENCES
        clause = _pick(rng, templates).format(s=subject, v=verb)
        if rng.random() < 0.4:
            text = f"{lighting}{_pick(rng, (',', ''))} {clause}"
        else:
            text = f"{clause} {lighting}"
    else:
        text = f"{_pick(rng, _EN_HEADINGS).format(s=subject, v=verb)} {lighting}"
    return _english_case(text, rng) + _pick(rng, ("", "", ".", "!"))


def _english_case(text: str, rng: np.random.Generator) -> str:
    draw = rng.random()
    if draw < 0.5:
        return text
    if draw < 0.8:
        return text[0].upper() + text[1:]
    if draw < 0.95:
        return string.capwords(text)
    return text.upper()


def _chinese(scene: Scene, rng: np.random.Generator) -> str:
    subject = (
        _pick(rng, _ZH_MEASURES)
        + _pick(rng, ZH.colours[scene.colour])
        + _pick(rng, ("的", ""))
        + _pick(rng, ZH.shapes[scene.shape])
    )
    verb = _pick(rng, ZH.motions[scene.motion])
    if scene.motion != "still" and rng.random() < 0.3:
        verb = _pick(rng, _ZH_ADVERBS) + verb
    lighting = _pick(rng, ZH.lighting_options(scene))
    if rng.random() < 0.5:
        text = f"{lighting}{_pick(rng, ('，', '，', ' ', ''))}{subject}{verb}"
    else:
        text = f"{subject}{lighting}{verb}"
    return _pick(rng, _ZH_FRAMES).format(text) + _pick(rng, ("", "。", "。", "！"))


def _phrasebook(language: str) -> Phrasebook:
    if language not in PHRASEBOOKS:
        raise ValueError(f"{language!r} is not one of {', '.join(LANGUAGES)}")
    return PHRASEBOOKS[language]


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]
