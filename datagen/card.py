"""Provenance: a dataset card (Hugging Face form) for what a command made, and a ``datasets`` copy on disk.

The card is ``README.md`` with YAML front matter: the Hub's own keys (``pretty_name``, ``license``,
``language``, ``size_categories``, ``task_categories``, ``tags``, ``configs``) and, under
``datagen``, the record of the run: version, command and options, seed, families and counts,
each source with its licence, rows and sha256, and the sha256 of every input and output.
``save_rows`` writes the rows as a ``datasets`` dataset (``save_to_disk``) with that card in it;
``load_rows`` reads them back exactly (nested fields travel as JSON text columns).
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path

import yaml

from datagen import __version__
from datagen.errors import MissingExtraError
from datagen.output import atomic_open, staged

# the Hub's size buckets
SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
         (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"))


def size_category(rows: int) -> str:
    return next((name for limit, name in SIZES if rows < limit), "n>1B")


def command_line(args=None) -> str:
    """The command as typed: ``datagen.cli`` keeps it in ``args.argv``."""
    argv = getattr(args, "argv", None)
    return shlex.join(["datagen", *(sys.argv[1:] if argv is None else argv)])


def card_text(*, title: str, rows: int, command: str, options: dict, seed, sources: list[dict],
              families: dict, inputs: list[dict] = (), outputs: list[dict] = (), languages=("zh", "en"),
              data_files: str | None = None) -> str:
    """The card: front matter, then the same facts as tables a reader sees on the Hub."""
    licences = sorted({s["licence"] for s in sources})
    front = {
        "pretty_name": title,
        "license": "other",
        "license_name": "; ".join(licences),
        "language": list(languages),
        "size_categories": [size_category(rows)],
        "task_categories": ["question-answering", "text-generation"],
        "tags": ["math", "arithmetic", "synthetic", "datagen"],
    }
    if data_files:
        front["configs"] = [{"config_name": "default", "data_files": data_files}]
    front["datagen"] = {
        "version": __version__, "command": command, "options": options, "seed": seed, "rows": rows,
        "families": families, "sources": sources, "inputs": list(inputs), "outputs": list(outputs),
    }
    lines = ["---", yaml.safe_dump(front, allow_unicode=True, sort_keys=False).rstrip(), "---", "",
             f"# {title}", "", f"{rows:,} rows made by datagen {__version__}:", "", f"    {command}", "",
             "## Sources", "", "| source | licence | rows | sha256 |", "|---|---|---:|---|"]
    for s in sources:
        lines.append(f"| {s['name']} | {s['licence']} | {s['rows']:,} | {s.get('sha256') or '-'} |")
    if families:
        lines += ["", "## Families", "", "| family | rows |", "|---|---:|"]
        lines += [f"| {name} | {count:,} |" for name, count in families.items()]
    if outputs:
        lines += ["", "## Files", "", "| file | bytes | sha256 |", "|---|---:|---|"]
        lines += [f"| {o['path']} | {o.get('bytes', 0):,} | {o['sha256']} |" for o in outputs]
    return "\n".join(lines) + "\n"


def write_card(path: str | Path, text: str) -> Path:
    with atomic_open(path) as handle:
        handle.write(text)
    return Path(path)


def read_card(path: str | Path) -> dict:
    """The front matter of a card."""
    text = Path(path).read_text(encoding="utf-8")
    _, front, _ = text.split("---\n", 2)
    return yaml.safe_load(front)


def _require_datasets():
    try:
        import datasets
    except ImportError:
        raise MissingExtraError("--save-to-disk", "datasets", "data") from None
    datasets.disable_progress_bars()
    return datasets


def _table(datasets, rows: list[dict]):
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    # a column of strings stays one; any other (numbers, lists, dicts, null) travels as JSON text
    text_columns = [n for n in names if all(isinstance(r[n], str) for r in rows if n in r)]
    columns = {n: [(r[n] if n in text_columns else json.dumps(r[n], ensure_ascii=False)) if n in r else None
                   for r in rows] for n in names}
    info = datasets.DatasetInfo(
        features=datasets.Features({n: datasets.Value("string") for n in names}),
        description=json.dumps({"datagen_json_columns": [n for n in names if n not in text_columns]}))
    return datasets.Dataset.from_dict(columns, info=info)


def save_rows(rows: Iterable[dict] | dict[str, Iterable[dict]], folder: str | Path, card: str | None = None) -> Path:
    """``rows`` (or splits of rows: a DatasetDict) as a ``datasets`` dataset in ``folder``
    (``save_to_disk``), the card as its README.md."""
    datasets = _require_datasets()
    if isinstance(rows, dict):
        dataset = datasets.DatasetDict({name: _table(datasets, list(split)) for name, split in rows.items()})
    else:
        dataset = _table(datasets, list(rows))
    with staged(folder, directory=True) as work:
        dataset.save_to_disk(str(work))
        if card is not None:
            (work / "README.md").write_text(card, encoding="utf-8")
    return Path(folder)


def load_rows(folder: str | Path) -> list[dict] | dict[str, list[dict]]:
    """The rows (or splits) ``save_rows`` wrote, as they were (``load_from_disk``)."""
    datasets = _require_datasets()
    dataset = datasets.load_from_disk(str(folder))
    if isinstance(dataset, datasets.DatasetDict):
        return {name: _rows(split) for name, split in dataset.items()}
    return _rows(dataset)


def _rows(dataset) -> list[dict]:
    json_columns = set(json.loads(dataset.info.description or "{}").get("datagen_json_columns", []))
    return [{k: (json.loads(v) if k in json_columns else v) for k, v in row.items() if v is not None}
            for row in dataset]


def _file(path: Path, shown: str | None = None) -> dict:
    from datagen.shard import sha256_file

    return {"path": shown or path.name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def for_make(args, options: dict, by_type: dict, outputs: list[dict], title: str) -> str:
    """The card of a ``datagen make`` run (one file or a set of parts)."""
    from datagen.curricula.sources import LICENCES

    rows = sum(v["zh"] + v["en"] for v in by_type.values())
    families = {t: v["zh"] + v["en"] for t, v in by_type.items()}
    return card_text(title=title, rows=rows, command=command_line(args), options=options, seed=options.get("seed"),
                     sources=[{"name": "synthetic", "kind": "synthetic", "licence": LICENCES["synthetic"],
                               "rows": rows}],
                     families=families, outputs=outputs)


def after_make(args, out: str, counts, types, options: dict) -> None:
    """``datagen make --card PATH`` / ``--save-to-disk DIR``: the card and the datasets copy."""
    if not (getattr(args, "card", None) or getattr(args, "save_to_disk", None)) or out == "-":
        return
    by_type = {t: {"zh": counts[(t, "zh")], "en": counts[(t, "en")]} for t in types}
    text = for_make(args, options, by_type, [_file(Path(out))], Path(out).name)
    if args.card:
        write_card(args.card, text)
    if args.save_to_disk:
        with open(out, encoding="utf-8") as handle:
            save_rows((json.loads(line) for line in handle), args.save_to_disk, text)


def add_options(parser) -> None:
    parser.add_argument("--card", metavar="PATH", help="also write a dataset card (README.md form: version, "
                        "command, options, seed, sources and licences, counts, hashes) to PATH")
    parser.add_argument("--save-to-disk", metavar="DIR", help="also save the rows as a Hugging Face datasets "
                        "dataset in DIR (load_from_disk reads it), with the card as its README.md")


def for_curriculum(spec, work: Path, index: dict, stages: list[dict], inputs: dict[str, str],
                   command: str | None = None) -> str:
    """The card of a curriculum build: every source of every stage with its licence, rows and hash."""
    from datagen.curricula.sources import LICENCES

    sources, families = [], {}
    for stage, manifest in zip(spec.stages, stages):
        for source, rows in zip(stage.sources, manifest["source_counts"]):
            path = inputs.get(source.path or "")
            sources.append({
                "name": f"{stage.name}: {source.name or source.kind}"
                        + (f" ({', '.join(source.types)})" if source.types else ""),
                "kind": source.kind, "licence": LICENCES.get(source.kind, "unknown"), "rows": rows,
                "path": path, "sha256": _file(Path(path))["sha256"] if path else None,
            })
        for family, count in manifest["by_type"].items():
            families[family] = families.get(family, 0) + count
    outputs = [_file(p, str(p.relative_to(work))) for p in sorted(work.rglob("*")) if p.is_file()]
    input_files = [{"path": p, "sha256": _file(Path(p))["sha256"]} for p in sorted(set(inputs.values()))]
    return card_text(title=f"curriculum {spec.name}", rows=sum(s["records"] for s in stages),
                     command=command or command_line(), options={"spec": spec.raw, "scale": spec.scale}, seed=spec.seed,
                     sources=sources, families=families, inputs=input_files, outputs=outputs,
                     data_files=",".join(s["train"] for s in index["stages"]))


def after_parts(args, out: str, manifests: list[dict], options: dict) -> None:
    """A complete set of ``datagen make`` parts gets its card, ``OUT.README.md`` (and --card, --save-to-disk)."""
    from datagen import shard

    if not manifests or len(manifests) != manifests[0]["parts"]:
        return  # one part of several: the set is not whole here
    by_type: dict = {}
    for manifest in manifests:
        for family, langs in manifest["by_type"].items():
            into = by_type.setdefault(family, {"zh": 0, "en": 0})
            for lang, count in langs.items():
                into[lang] += count
    outputs = [entry for manifest in manifests for entry in manifest["files"]]
    text = for_make(args, options, by_type, outputs, Path(out).name)
    write_card(Path(out).with_name(Path(out).name + ".README.md"), text)
    if getattr(args, "card", None):
        write_card(args.card, text)
    if getattr(args, "save_to_disk", None):
        parts = [shard.part_path(out, m["part"], m["parts"]) for m in manifests]
        save_rows((json.loads(line) for path in parts for line in path.open(encoding="utf-8")),
                  args.save_to_disk, text)


def save_curriculum(folder: str | Path, out: Path, index: dict) -> Path:
    """``curriculum build --save-to-disk DIR``: every stage and held-out set as a split, the card with them."""
    def read(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    splits = {s["dir"]: read(out / s["train"]) for s in index["stages"]}
    splits.update({f"heldout_{h['name']}": read(out / h["path"]) for h in index["heldout"]})
    return save_rows(splits, folder, (out / "README.md").read_text(encoding="utf-8"))


def for_export(args, records: int, outputs: list[dict]) -> str:
    """The card of an export: its input (rows, families, sha256) and every file it wrote."""
    from datagen.rows import RowReader

    source = Path(args.input)
    families: dict[str, int] = {}
    for row in RowReader(source):
        if isinstance(row.data.get("type"), str):
            families[row.data["type"]] = families.get(row.data["type"], 0) + 1
    options = {k: getattr(args, k, None) for k in ("to", "template", "seq_length", "split_digits", "overlong",
                                                   "data_parallel", "batch_size", "fit")}
    return card_text(title=f"{args.to} export of {source.name}", rows=records, command=command_line(args),
                     options=options, seed=None, families=dict(sorted(families.items())),
                     sources=[{"name": source.name, "kind": "file", "licence": "the input's own (see its card)",
                               "rows": records, "sha256": _file(source)["sha256"]}],
                     inputs=[_file(source, str(source))], outputs=outputs)
