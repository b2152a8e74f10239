"""The retention probe: does a finetune keep the model's general abilities?

A probe file (JSON, ``configs/probes/retention_zh_en.json`` by default) holds short general
texts in Chinese and English, scored by the model's loss per token, and reading-comprehension
items (passage, question, a short answer taken from the passage), scored teacher-forced with
the contest gate's metric: MindFormers' ``EmF1Metric`` per-pair functions (jieba mixed
segmentation, F1 from the longest common substring, EM after stripping its punctuation list).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from datagen.train.presets import configs_dir

from datagen.errors import InputError

DEFAULT_PROBE = "retention_zh_en"
LANGS = ("en", "zh")


class ProbeError(InputError):
    """The probe file is missing or malformed; the message names the file and the field."""


@dataclass(frozen=True)
class GeneralText:
    id: str
    lang: str
    text: str


@dataclass(frozen=True)
class ReadingItem:
    id: str
    lang: str
    passage: str
    question: str
    answer: str


@dataclass(frozen=True)
class Probe:
    name: str
    path: Path
    instructions: dict
    general: tuple[GeneralText, ...]
    reading: tuple[ReadingItem, ...]
    demonstrations: dict  # lang -> ReadingItem shown answered before the question (one-shot)

    def question_turn(self, item: ReadingItem) -> str:
        """The user turn asking ``item``'s question about its passage."""
        return self.instructions[item.lang].format(passage=item.passage, question=item.question)

    def turns(self, item: ReadingItem) -> list[str]:
        """The conversation up to ``item``'s question: its language's answered demonstration first, if any.

        A small instruct model answers in whole sentences unless shown a short answer once.
        """
        demo = self.demonstrations.get(item.lang)
        head = [self.question_turn(demo), demo.answer] if demo else []
        return [*head, self.question_turn(item)]


def probe_path(name_or_path: str | None) -> Path:
    path = Path(name_or_path or DEFAULT_PROBE)
    if path.suffix == ".json" and path.is_file():
        return path
    shipped = configs_dir() / "probes" / f"{path.name}.json"
    if shipped.is_file():
        return shipped
    raise ProbeError("no such probe file or shipped probe", path=path)


def load_probe(name_or_path: str | None = None) -> Probe:
    path = probe_path(name_or_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProbeError(f"not valid JSON ({exc.msg})", path=path, line=exc.lineno) from None
    if not isinstance(data, dict):
        raise ProbeError("must hold a JSON object", path=path)

    def strings(obj, keys: tuple[str, ...], where: str) -> dict:
        if not isinstance(obj, dict):
            raise ProbeError("must be an object", path=path, field=where)
        for key in keys:
            if not isinstance(obj.get(key), str) or not obj[key].strip():
                raise ProbeError("must be a non-empty string", path=path, field=f"{where}.{key}")
        if obj["lang"] not in LANGS:
            raise ProbeError(f"must be one of {', '.join(LANGS)}", path=path, field=f"{where}.lang")
        return obj

    instructions = data.get("instructions")
    if not isinstance(instructions, dict) or any(
        not isinstance(instructions.get(lang), str)
        or "{passage}" not in instructions[lang]
        or "{question}" not in instructions[lang]
        for lang in LANGS
    ):
        raise ProbeError(
            "needs an en and a zh text holding {passage} and {question}", path=path, field="instructions"
        )
    general = tuple(
        GeneralText(**{k: r[k] for k in ("id", "lang", "text")})
        for k, r in enumerate(data.get("general") or [])
        if strings(r, ("id", "lang", "text"), f"general[{k}]")
    )
    fields = ("id", "lang", "passage", "question", "answer")
    reading = tuple(
        ReadingItem(**{f: r[f] for f in fields})
        for k, r in enumerate(data.get("reading") or [])
        if strings(r, fields, f"reading[{k}]")
    )
    if not general or not reading:
        raise ProbeError("needs at least one general text and one reading item", path=path)
    demos = data.get("demonstration") or {}
    if not isinstance(demos, dict):
        raise ProbeError(
            "must map a language to a passage, question and answer", path=path, field="demonstration"
        )
    demonstrations = {}
    for lang, raw in demos.items():
        merged = {"id": f"demo-{lang}", "lang": lang, **(raw if isinstance(raw, dict) else {})}
        strings(merged, fields, f"demonstration.{lang}")
        demonstrations[lang] = ReadingItem(**{f: merged[f] for f in fields})
    return Probe(str(data.get("name", path.stem)), path, instructions, general, reading, demonstrations)


def gate_scores(prediction: str, answer: str) -> tuple[float, float]:
    """(F1, EM) in [0, 1] of one answer with MindFormers' EmF1Metric rules (the SQuAD gate's metric)."""
    from mindformers.core.metric.metric import EmF1Metric

    metric = _METRIC.get("m")
    if metric is None:
        metric = _METRIC["m"] = EmF1Metric()
    # the metric reads the first line of a generation, stripped (EmF1Metric.update does this)
    first = prediction.strip().split("\n")[0]
    return float(metric.calc_f1_score([answer], first)), float(metric.calc_em_score([answer], first))


_METRIC: dict = {}
