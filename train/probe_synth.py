"""A procedurally generated bilingual reading probe: passages about invented people, questions whose
answers are exact spans of their passage.

``python -m datagen.train.probe_synth`` writes ``configs/probes/reading_synth_zh_en.json`` (the shipped
file; a test checks it equals what this generator makes with its fixed seed). Each passage describes
two people by city, job, pets and car colour; each question asks one fact of one of them, so the model
must read the passage (the other person's fact is a distractor) and copy a short span. The general
texts (loss per token) are the hand-written ones of ``retention_zh_en``.

Everything here is written for this project (names, cities and words are common nouns; no text is
taken from a dataset).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

NAME = "reading_synth_zh_en"
SEED = 20261208
PER_LANG = 160  # 320 reading items in all

EN = {
    "first": ["Anna", "Tom", "Lucy", "Omar", "Maria", "Jack", "Nina", "Peter", "Sara", "David", "Emma", "Leo",
              "Grace", "Ivan", "Clara", "Sam", "Julia", "Ben", "Rosa", "Felix"],
    "last": ["Park", "Reed", "Brown", "Khan", "Lopez", "Green", "Novak", "Hill", "Stone", "Wood", "Fox",
             "Gray", "Bell", "Moss", "Lane", "Ford"],
    "city": ["Lisbon", "Oslo", "Cairo", "Lima", "Dublin", "Vienna", "Madrid", "Prague", "Nairobi", "Seoul",
             "Boston", "Denver", "Quebec", "Milan", "Athens", "Bergen"],
    "job": ["baker", "doctor", "teacher", "pilot", "farmer", "nurse", "painter", "lawyer", "chef", "driver",
            "dentist", "tailor"],
    "pet": ["cats", "dogs", "rabbits", "goats", "horses", "parrots"],
    "colour": ["red", "blue", "green", "black", "white", "yellow", "silver", "orange"],
}
ZH = {
    "first": ["王芳", "李强", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴敏", "徐凯", "孙悦",
              "马超", "朱琳", "胡斌", "郭佳"],
    "city": ["杭州", "成都", "西安", "南京", "武汉", "青岛", "厦门", "长沙", "昆明", "大连", "苏州", "天津",
             "重庆", "广州", "沈阳", "济南"],
    "job": ["医生", "老师", "厨师", "司机", "农民", "护士", "画家", "律师", "记者", "工程师", "警察", "会计"],
    "pet": [("猫", "只"), ("狗", "条"), ("兔子", "只"), ("羊", "只"), ("马", "匹"), ("鹦鹉", "只")],
    "colour": ["红色", "蓝色", "绿色", "黑色", "白色", "黄色", "银色", "橙色"],
}
# counts are written as digits: a span the model copies token for token in both languages
COUNTS = range(2, 10)
FACTS = ("city", "job", "pets", "colour")

INSTRUCTIONS = {
    "en": "Read the passage and answer the question with a short phrase from the passage.\n\n"
          "Passage: {passage}\n\nQuestion: {question}",
    "zh": "用短文中的词语回答问题。\n\n短文：{passage}\n\n问题：{question}",
}


def _people(rng: random.Random, lang: str) -> list[dict]:
    words = EN if lang == "en" else ZH
    if lang == "en":
        firsts = rng.sample(words["first"], 2)
        names = [f"{f} {rng.choice(words['last'])}" for f in firsts]
        short = firsts
    else:
        names = short = rng.sample(words["first"], 2)
    # the two people differ in every fact, so a question has one right span
    cities, jobs, pets, colours = (rng.sample(words[k], 2) for k in ("city", "job", "pet", "colour"))
    counts = rng.sample(list(COUNTS), 2)
    return [{"name": names[k], "short": short[k], "city": cities[k], "job": jobs[k], "pet": pets[k],
             "count": counts[k], "colour": colours[k]} for k in range(2)]


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _passage_en(people: list[dict]) -> str:
    parts = []
    for p in people:
        # the short name, not a pronoun: an invented name's gender is no business of a reading probe
        parts.append(f"{p['name']} is {_a(p['job'])} who lives in {p['city']}. {p['short']} has {p['count']} "
                     f"{p['pet']} and drives {_a(p['colour'])} car.")
    return " ".join(parts)


def _passage_zh(people: list[dict]) -> str:
    parts = []
    for p in people:
        pet, unit = p["pet"]
        parts.append(f"{p['name']}是住在{p['city']}的一名{p['job']}。{p['name']}养了{p['count']}{unit}{pet}，"
                     f"开一辆{p['colour']}的车。")
    return "".join(parts)


def _question(p: dict, fact: str, lang: str) -> tuple[str, str]:
    if lang == "en":
        return {
            "city": (f"Where does {p['short']} live?", p["city"]),
            "job": (f"What is {p['short']}'s job?", p["job"]),
            "pets": (f"How many {p['pet']} does {p['short']} have?", str(p["count"])),
            "colour": (f"What colour is {p['short']}'s car?", p["colour"]),
        }[fact]
    pet, unit = p["pet"]
    return {
        "city": (f"{p['short']}住在哪个城市？", p["city"]),
        "job": (f"{p['short']}的职业是什么？", p["job"]),
        "pets": (f"{p['short']}养了几{unit}{pet}？", f"{p['count']}{unit}"),
        "colour": (f"{p['short']}开什么颜色的车？", p["colour"]),
    }[fact]


def _item(rng: random.Random, lang: str, fact: str, people_count: int = 2) -> dict:
    people = _people(rng, lang)[:people_count]
    passage = (_passage_en if lang == "en" else _passage_zh)(people)
    question, answer = _question(people[rng.randrange(len(people))], fact, lang)
    return {"passage": passage, "question": question, "answer": answer}


def generate(seed: int = SEED, per_lang: int = PER_LANG) -> dict:
    """The probe as a JSON-ready dict: ``per_lang`` reading items per language, the facts in turn."""
    from datagen.train.probe import load_probe

    rng = random.Random(seed)
    # one demonstration per language and fact (a small model copies the short form only for the kind of
    # question it was shown), each about one person, so the window stays short
    demonstration = {f"{lang}/{fact}": _item(rng, lang, fact, people_count=1) for lang in ("en", "zh")
                     for fact in FACTS}
    reading = []
    for lang in ("en", "zh"):
        for k in range(per_lang):
            fact = FACTS[k % len(FACTS)]
            reading.append({"id": f"syn-{lang}-{k + 1:03d}", "lang": lang, "fact": fact,
                            **_item(rng, lang, fact)})
    general = [{"id": t.id, "lang": t.lang, "text": t.text} for t in load_probe("retention_zh_en").general]
    return {
        "name": NAME,
        "description": (
            f"Generated by datagen.train.probe_synth (seed {seed}): {len(reading)} bilingual reading items "
            "about invented people, each answer an exact span of its passage (scored with MindFormers' "
            "EmF1Metric), and the general texts of retention_zh_en (loss per token)."
        ),
        "instructions": INSTRUCTIONS,
        "demonstration": demonstration,
        "general": general,
        "reading": reading,
    }


def write(path: Path) -> None:
    from datagen.output import atomic_open

    with atomic_open(path) as handle:
        json.dump(generate(), handle, ensure_ascii=False, indent=0)
        handle.write("\n")


def main(argv: list[str] | None = None) -> int:
    from datagen.train.presets import configs_dir

    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else configs_dir() / "probes" / f"{NAME}.json"
    write(path)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
