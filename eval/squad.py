"""SQuAD v1.1 F1 / EM: MindFormers' EmF1Metric (the contest's gate), the official semantics and a
CJK-aware variant (diagnostics), and the retention gate.

MindFormers (the gate): ``mindformers.core.metric.EmF1Metric``'s own per-pair functions on its
protocol: the first line of each generation (``strip().split("\n")[0]``), one question per
paragraph (``qas[0]``) scored against its first answer (``answers[0]``), jieba mixed segmentation,
F1 from the longest common substring, EM after removing its punctuation list. Its ``update()`` is
not used: it re-scores the whole history on every call (quadratic over a dataset).

Official (``evaluate-v1.1.py``): lowercase, drop ASCII punctuation, drop the articles
a/an/the, collapse whitespace; F1 over whitespace tokens by multiset overlap; EM after
normalisation; the best over a question's ground truths; averaged × 100 over the questions
(an unanswered question scores 0).

The CJK variant keeps that shape but reads Chinese: NFKC (full-width forms), every Unicode
punctuation mark removed (。，《》 too), one token per CJK character, and a number's decimal
point kept (the official rule makes ``1.5`` equal ``15``).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

BASE_F1 = 59.870
BASE_EM = 44.170
GATE = 0.90

ARTICLES = re.compile(r"\b(a|an|the)\b")
ASCII_PUNCTUATION = str.maketrans("", "", string.punctuation)

CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
CJK_TOKEN = re.compile(rf"[0-9]+(?:\.[0-9]+)+|[{CJK_RANGES}]|[^\s{CJK_RANGES}]+")
DECIMAL_POINT = re.compile(r"(?<=[0-9])\.(?=[0-9])")
POINT = "\x00"  # stands for a decimal point while punctuation is removed


def normalize_answer(text: str) -> str:
    """The official normalisation."""
    text = text.lower().translate(ASCII_PUNCTUATION)
    text = ARTICLES.sub(" ", text)
    return " ".join(text.split())


def official_tokens(text: str) -> list[str]:
    return normalize_answer(text).split()


def _strip_punctuation(text: str) -> str:
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "S")))


def cjk_tokens(text: str) -> list[str]:
    """CJK-aware tokens: per-character Chinese, whitespace words otherwise, decimals intact."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = DECIMAL_POINT.sub(POINT, text)
    text = _strip_punctuation(text).replace(POINT, ".")
    text = ARTICLES.sub(" ", text)
    return CJK_TOKEN.findall(text)


def generation_answer(output: str) -> str:
    """What MindFormers scores of a generation: the echoed prompt and anything after an end token
    removed (MindFormers decodes only the new tokens, up to the end of text), then its first line.
    """
    from datagen.eval.score import END_TOKENS, RESPONSE

    response = RESPONSE.search(output)
    if response is not None and not any(token in output[:response.start()] for token in END_TOKENS):
        output = output[response.end():]
    for token in END_TOKENS:
        at = output.find(token)
        if at != -1:
            output = output[:at]
    return output.strip().split("\n")[0].strip()


def f1_tokens(prediction: list[str], truth: list[str]) -> float:
    common = Counter(prediction) & Counter(truth)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(prediction)
    recall = same / len(truth)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class Variant:
    name: str
    tokens: Callable[[str], list[str]]
    exact_key: Callable[[str], object]


OFFICIAL = Variant("official", official_tokens, normalize_answer)
CJK = Variant("cjk", cjk_tokens, lambda text: tuple(cjk_tokens(text)))
VARIANTS = (OFFICIAL, CJK)


def score_one(prediction: str, truths: Iterable[str], variant: Variant = OFFICIAL) -> tuple[float, float]:
    """(F1, EM) of one answer: the best over the ground truths, each in [0, 1]."""
    pred_tokens = variant.tokens(prediction)
    pred_key = variant.exact_key(prediction)
    best_f1 = best_em = 0.0
    for truth in truths:
        best_f1 = max(best_f1, f1_tokens(pred_tokens, variant.tokens(truth)))
        best_em = max(best_em, float(pred_key == variant.exact_key(truth)))
    return best_f1, best_em


@dataclass(frozen=True)
class SquadScore:
    variant: str
    f1: float  # × 100, like the official script and MindFormers
    em: float
    total: int
    answered: int

    def as_dict(self) -> dict:
        return {"f1": self.f1, "em": self.em, "count": self.total, "answered": self.answered}


class Question(NamedTuple):
    qid: str
    truths: list[str]  # every ground-truth text (the official semantics)


def questions(dataset: dict) -> Iterable[tuple[str, list[str]]]:
    """(qid, ground-truth texts) for every question of a SQuAD v1.1 ``{"data": [...]}``."""
    for article in dataset["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                yield str(qa["id"]), [answer["text"] for answer in qa["answers"]]


def protocol_questions(dataset: dict) -> list[Question]:
    """MindFormers' SQuAD protocol: ``qas[0]`` of each paragraph (its label: ``truths[0]``)."""
    picked = []
    for article in dataset["data"]:
        for paragraph in article["paragraphs"]:
            qas = paragraph["qas"]
            if qas:
                qa = qas[0]
                picked.append(Question(str(qa["id"]), [answer["text"] for answer in qa["answers"]]))
    return picked


def evaluate(dataset: dict, predictions: dict[str, str], variant: Variant = OFFICIAL,
             among: Iterable[tuple[str, list[str]]] | None = None) -> SquadScore:
    """Official-style F1/EM over ``among`` (default: every question of ``dataset``)."""
    f1 = em = 0.0
    total = answered = 0
    for qid, truths in (questions(dataset) if among is None else among):
        total += 1
        if qid not in predictions:
            continue
        answered += 1
        one_f1, one_em = score_one(predictions[qid], truths, variant)
        f1 += one_f1
        em += one_em
    scale = 100.0 / total if total else 0.0
    return SquadScore(variant.name, f1 * scale, em * scale, total, answered)


def emf1_metric():
    """A MindFormers ``EmF1Metric`` (imported here: the import takes ~10 s and needs the extra)."""
    import contextlib
    import io
    import logging
    import os
    import tempfile

    # MindFormers writes its logs under LOCAL_DEFAULT_PATH (default ./output): keep them out of the cwd
    os.environ.setdefault("LOCAL_DEFAULT_PATH", os.path.join(tempfile.gettempdir(), "datagen-mindformers"))
    os.environ.setdefault("GLOG_v", "3")
    try:
        # its import prints model-registry warnings that are no concern of a metric
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            from mindformers.core.metric.metric import EmF1Metric
    except ImportError as exc:
        from datagen.errors import MissingExtraError

        package = (exc.name or "mindformers").split(".")[0]
        error = MissingExtraError("the retention gate (MindFormers' EmF1Metric)", package,
                                  "mindspore")
        error.hint += " (or pass --gate-metric official to gate on the official SQuAD numbers instead)"
        raise error from None
    finally:
        from datagen import signals

        signals.install()  # MindSpore may install its own handlers on import
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return EmF1Metric()


def mindformers_pair(generation: str, label: str, metric=None) -> tuple[float, float]:
    """(F1, EM) in [0, 1] of one generation against its label, as EmF1Metric scores it: its first line,
    stripped (what ``update()`` keeps), then its own ``calc_f1_score`` / ``calc_em_score``."""
    metric = metric if metric is not None else _shared_metric()
    prediction = generation.strip().split("\n")[0]
    return metric.calc_f1_score([label], prediction), metric.calc_em_score([label], prediction)


_METRIC: list = []


def _shared_metric():
    if not _METRIC:
        _METRIC.append(emf1_metric())
    return _METRIC[0]


def mindformers_score(pairs: Sequence[tuple[str, str]], metric=None, answered: int | None = None) -> SquadScore:
    """EmF1Metric's F1/EM over (generation, label) pairs, with its own functions and arithmetic.

    Equal to ``update(generations, labels)`` then ``eval()``, without re-scoring the history.
    """
    metric = metric if metric is not None else emf1_metric()
    f1 = em = 0
    for generation, label in pairs:
        one_f1, one_em = mindformers_pair(generation, label, metric)
        f1 += one_f1
        em += one_em
    total = len(pairs)
    if not total:
        return SquadScore("mindformers", 0.0, 0.0, 0, 0)
    return SquadScore("mindformers", 100.0 * f1 / total, 100.0 * em / total, total,
                      total if answered is None else answered)


@dataclass(frozen=True)
class Retention:
    f1: float
    em: float
    base_f1: float = BASE_F1
    base_em: float = BASE_EM
    gate: float = GATE

    @property
    def f1_gate(self) -> float:
        return self.base_f1 * self.gate

    @property
    def em_gate(self) -> float:
        return self.base_em * self.gate

    @property
    def f1_margin(self) -> float:
        return self.f1 - self.f1_gate

    @property
    def em_margin(self) -> float:
        return self.em - self.em_gate

    @property
    def passed(self) -> bool:
        return self.f1_margin >= 0 and self.em_margin >= 0

    def as_dict(self, metric: str = "mindformers") -> dict:
        """The gate as ``--json`` writes it: verdict, margins, the base it is a fraction of."""
        return {
            "pass": self.passed, "f1_margin": self.f1_margin, "em_margin": self.em_margin,
            "base": {"f1": self.base_f1, "em": self.base_em}, "fraction": self.gate, "metric": metric,
            "f1": self.f1, "em": self.em, "f1_gate": self.f1_gate, "em_gate": self.em_gate,
        }

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (f"retention {verdict}: F1 {self.f1:.3f} vs gate {self.f1_gate:.3f} ({self.f1_margin:+.3f}), "
                f"EM {self.em:.3f} vs gate {self.em_gate:.3f} ({self.em_margin:+.3f}); "
                f"gate = {100 * self.gate:g} % of base F1 {self.base_f1:.3f} / EM {self.base_em:.3f}")
