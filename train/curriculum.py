"""Reading a built curriculum directory (``curriculum.json``), checked before anything is written.

The contract (written by ``datagen curriculum build``)::

    {"name", "template", "seq_length", "digits",
     "stages": [{"index", "name", "dir", "records", "mindrecord", "train", "conversation", "epochs"}],
     "heldout": [{"name", "path", "count"}]}

with paths relative to the curriculum directory.  A stage's MindRecord is one file or shards
``train.mindrecord0``, ``train.mindrecord1``, …; MindFormers is given the first file and finds
the rest itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from datagen.curricula.templates import TemplateError, get_template


class CurriculumError(ValueError):
    """The curriculum directory is missing something; the message names the file or field."""


@dataclass(frozen=True)
class Stage:
    index: int
    name: str
    dir: str
    records: int
    mindrecord: Path  # the file to hand to MindDataset (the first shard when sharded)
    mindrecord_rel: str  # as written in curriculum.json
    epochs: int | None
    shards: int = 1

    @property
    def label(self) -> str:
        return f"stage{self.index}_{self.name}"


@dataclass(frozen=True)
class Heldout:
    name: str
    path: Path
    count: int


@dataclass(frozen=True)
class Curriculum:
    root: Path
    name: str
    template: str
    seq_length: int
    digits: int
    stages: tuple[Stage, ...]
    heldout: tuple[Heldout, ...]


def resolve_mindrecord(path: Path) -> tuple[Path, int]:
    """(the file to open, shard count) for a MindRecord written as one file or as numbered shards."""
    if path.is_file():
        return path, 1
    first = path.with_name(path.name + "0")
    if first.is_file():
        shards = 1
        while path.with_name(f"{path.name}{shards}").is_file():
            shards += 1
        return first, shards
    raise FileNotFoundError(path)


def check_mindrecord(path: Path, what: str) -> tuple[Path, int]:
    try:
        first, shards = resolve_mindrecord(path)
    except FileNotFoundError:
        raise CurriculumError(
            f"{what}: MindRecord {path} is missing (neither the file nor its first shard "
            f"{path.name}0 exists); run `datagen export` for it"
        ) from None
    index = first.with_name(first.name + ".db")
    if not index.is_file():
        raise CurriculumError(f"{what}: MindRecord index {index} is missing (MindDataset needs it)")
    return first, shards


def _field(obj: dict, key: str, kind, where: str):
    if key not in obj:
        raise CurriculumError(f"{where}: field {key!r} is missing")
    value = obj[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise CurriculumError(f"{where}: field {key!r} must be an integer, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise CurriculumError(f"{where}: field {key!r} must be a string, got {value!r}")
    if kind is list and not isinstance(value, list):
        raise CurriculumError(f"{where}: field {key!r} must be a list")
    return value


def load_curriculum(directory: str | Path) -> Curriculum:
    """Read and check ``directory/curriculum.json``; every stage's MindRecord and held-out file must exist."""
    root = Path(directory)
    manifest = root / "curriculum.json"
    if not root.is_dir():
        raise CurriculumError(f"curriculum directory {root} does not exist")
    if not manifest.is_file():
        raise CurriculumError(
            f"{manifest} is missing: {root} is not a built curriculum "
            "(make one with `datagen curriculum build`)"
        )
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CurriculumError(f"{manifest}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise CurriculumError(f"{manifest}: must hold a JSON object")
    where = str(manifest)
    template = _field(data, "template", str, where)
    try:
        get_template(template)
    except TemplateError as exc:
        raise CurriculumError(f"{where}: {exc.args[0]}") from None
    seq_length = _field(data, "seq_length", int, where)
    if seq_length <= 0:
        raise CurriculumError(f"{where}: seq_length must be positive, got {seq_length}")
    stages = []
    raw_stages = _field(data, "stages", list, where)
    if not raw_stages:
        raise CurriculumError(f"{where}: no stages")
    for position, raw in enumerate(raw_stages, 1):
        at = f"{where}: stages[{position - 1}]"
        if not isinstance(raw, dict):
            raise CurriculumError(f"{at}: must be an object")
        name = _field(raw, "name", str, at)
        if raw.get("mindrecord", "") is None:
            raise CurriculumError(
                f"stage {raw.get('index', position)} ({name}): no MindRecord in {manifest} "
                "(built with --skip-mindrecord?); export one with `datagen export`"
            )
        rel = _field(raw, "mindrecord", str, at)
        index = raw.get("index", position)
        epochs = raw.get("epochs")
        if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0):
            raise CurriculumError(f"{at}: epochs must be a positive integer or null, got {epochs!r}")
        first, shards = check_mindrecord(root / rel, f"stage {index} ({name})")
        stages.append(
            Stage(
                index=int(index),
                name=name,
                dir=str(raw.get("dir", Path(rel).parent)),
                records=int(raw.get("records", 0)),
                mindrecord=first,
                mindrecord_rel=rel,
                epochs=epochs,
                shards=shards,
            )
        )
    if [s.index for s in stages] != sorted({s.index for s in stages}):
        raise CurriculumError(
            f"{where}: stage indexes must be distinct and increasing, got {[s.index for s in stages]}"
        )
    heldout = []
    for position, raw in enumerate(data.get("heldout") or []):
        at = f"{where}: heldout[{position}]"
        if not isinstance(raw, dict):
            raise CurriculumError(f"{at}: must be an object")
        name = _field(raw, "name", str, at)
        path = root / _field(raw, "path", str, at)
        if not path.is_file():
            raise CurriculumError(f"held-out set {name!r}: file {path} is missing")
        heldout.append(Heldout(name=name, path=path, count=int(raw.get("count", 0))))
    return Curriculum(
        root=root,
        name=str(data.get("name", root.name)),
        template=template,
        seq_length=seq_length,
        digits=int(data.get("digits", 3)),
        stages=tuple(stages),
        heldout=tuple(heldout),
    )


def read_heldout(heldout: Heldout, limit: int | None = None) -> list[dict]:
    """The held-out records (JSON Lines ``{"id", "problem", ...}``), at most ``limit``."""
    records = []
    with open(heldout.path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CurriculumError(f"{heldout.path}: line {number}: not valid JSON ({exc.msg})") from None
            if (
                not isinstance(record, dict)
                or not isinstance(record.get("problem"), str)
                or "id" not in record
            ):
                raise CurriculumError(f'{heldout.path}: line {number}: needs "id" and a "problem" string')
            records.append(record)
            if limit and len(records) >= limit:
                break
    return records
