"""``datagen export --shard K/N`` / ``--shards N``: the export of a JSON Lines file in parts (datagen.shard).

Part K takes the input's lines by index (``shard.bounds`` over the line count). Conversation JSON
parts joined in order are the one-process list byte for byte (part 0 opens it, the last closes
it). MindRecord parts are standalone MindRecord files (each with its ``.db``), listed in order in
``OUT.index.json``, which ``mindrecord_dataset`` opens as one MindSpore ``MindDataset``; with
``--data-parallel D --batch-size B`` the index makes the total a multiple of D x B: ``--fit trim``
reads only that many records (``num_samples``), ``--fit pad`` adds copies of the first record
(``padded_sample`` / ``num_padded``, read with ``num_shards``), and the command says which.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from datagen import card, shard
from datagen.errors import InputError, UsageError
from datagen.output import write_json
from datagen.rows import LineSlice, count_lines

FITS = ("trim", "pad")
# the options that decide a part's bytes (a rerun with others is refused)
PART_OPTIONS = ("input", "to", "template", "seq_length", "tokenizer", "tokenizer_sha256", "overlong", "strict")


def index_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".index.json")


def write_part(options: dict, k: int, n: int, path: Path) -> dict:
    """Part k of n of ``datagen export`` (see datagen.shard)."""
    from datagen.curricula import export

    total = count_lines(options["input"])
    lo, hi = shard.bounds(total, k, n)
    reader = LineSlice(options["input"], lo, hi, check=export.check_row)
    if reader.sniff() != "jsonl":
        raise UsageError("parts are cut by line: give JSON Lines records, not a JSON list", field="--in")
    common = {"source": options["input"], "strict": options["strict"], "force": True, "allow_empty": True,
              "manifest": False}
    template = options["template"] or "raw"
    if options["to"] == "conversation":
        earlier = conversations_before(options["input"], lo, template)
        summary = export.export_conversation(reader, path, template, part=(k, n, earlier), **common)
        files = [path]
    else:
        tokenizer = export.get_tokenizer("llama3", options["tokenizer"], split_digits=options["split_digits"],
                                         sha256=options["tokenizer_sha256"])
        summary = export.export_mindrecord(reader, path, template, options["seq_length"], tokenizer, 1,
                                           options["overlong"], workers=0, **common)
        files = [path, path.with_name(path.name + ".db")]
    rejects = path.with_name(path.name + ".rejects.jsonl")
    keep = ("rows", "blank", "records", "rejected", "truncated", "dropped", "fully_masked", "tokens")
    return {"files": files + ([rejects] if rejects.exists() else []), "items": summary["records"],
            "lines": [lo + 1, hi], **{key: summary[key] for key in keep if key in summary}}


def conversations_before(path: str | Path, lo: int, template: str) -> bool:
    """Whether lines 1 … lo hold a conversation (it decides the separator of this part's first one).

    Read until the first good row: one block when the file starts well.
    """
    from datagen.curricula import export

    for block in LineSlice(path, 0, lo, check=export.check_row).blocks():
        if export.unit_conversations(block, template, Path(path).stem)[0]:
            return True
    return False


def fit(records: int, data_parallel: int, batch_size: int, how: str) -> dict:
    """The record count MindDataset should give: a multiple of data-parallel x batch, trimmed or padded."""
    multiple = data_parallel * batch_size
    if how == "trim":
        total = records // multiple * multiple
        return {"multiple": multiple, "fit": how, "num_samples": total, "num_padded": 0, "trimmed": records - total}
    total = -(-records // multiple) * multiple
    return {"multiple": multiple, "fit": how, "num_samples": total, "num_padded": total - records, "trimmed": 0}


def first_record(path: Path) -> dict:
    from mindspore.mindrecord import FileReader

    reader = FileReader(str(path))
    try:
        row = next(reader.get_next())
    finally:
        reader.close()
    return {key: [int(x) for x in row[key]] for key in ("input_ids", "labels")}


def write_index(out: Path, manifests: list[dict], args: argparse.Namespace) -> dict:
    records = sum(m["items"] for m in manifests)
    sizing = fit(records, args.data_parallel, args.batch_size, args.fit)
    parts = [shard.part_path(out, m["part"], m["parts"]) for m in manifests]
    index = {"format": "mindrecord", "dataset_files": [p.name for p in parts], "records": records,
             "per_file": [m["items"] for m in manifests], "data_parallel": args.data_parallel,
             "batch_size": args.batch_size, **sizing,
             "columns_list": ["input_ids", "labels"]}
    if sizing["num_padded"]:
        index["padded_sample"] = first_record(parts[0])
    write_json(index_path(out), index)
    return index


def mindrecord_dataset(index: str | Path, *, shard_id: int | None = None, num_shards: int | None = None,
                       shuffle: bool = False):
    """A MindSpore ``MindDataset`` over every part an index lists, fitted as the index says."""
    import numpy as np
    from mindspore.dataset import MindDataset

    index = Path(index)
    data = json.loads(index.read_text(encoding="utf-8"))
    files = [str(index.parent / name) for name in data["dataset_files"]]
    kwargs: dict = {"columns_list": data["columns_list"], "shuffle": shuffle}
    if data["num_padded"]:
        if num_shards is None:
            num_shards, shard_id = data["data_parallel"], shard_id or 0
        kwargs.update(padded_sample={k: np.array(v, dtype=np.int32) for k, v in data["padded_sample"].items()},
                      num_padded=data["num_padded"])
    elif data["trimmed"]:
        kwargs["num_samples"] = data["num_samples"]
    if num_shards is not None:
        kwargs.update(num_shards=num_shards, shard_id=shard_id)
    return MindDataset(files, **kwargs)


def run_parts(args: argparse.Namespace, split_digits: int) -> int:
    if args.out == "-":
        raise UsageError("parts are files named after --out; give a path, not '-'", field="--out")
    if args.data_parallel < 1 or args.batch_size < 1:
        raise UsageError("--data-parallel and --batch-size must be at least 1", field="--data-parallel")
    source = Path(args.input)
    if args.input == "-" or not source.is_file():
        raise InputError("parts need a JSON Lines file (not standard input)" if args.input == "-"
                         else "no such file", path=args.input)
    if args.to == "mindrecord":
        from datagen.curricula.mindrecord import require_mindspore

        require_mindspore()
    options = {name: getattr(args, name) for name in PART_OPTIONS}
    options["split_digits"] = split_digits
    options["input_sha256"] = shard.sha256_file(source)  # a changed input is another run
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    manifests = shard.run_command(args, "datagen.curricula.export_parts:write_part", options, args.out, log)
    if args.to == "mindrecord" and len(manifests) == manifests[0]["parts"]:
        index = write_index(Path(args.out), manifests, args)
        if index["multiple"] > 1:
            how = (f"trimmed {index['trimmed']:,}" if args.fit == "trim" else f"padded {index['num_padded']:,}")
            log(f"{index['records']:,} records {how} to {index['num_samples']:,}, a multiple of data-parallel "
                f"{args.data_parallel} x batch {args.batch_size}; read {index_path(args.out).name} with "
                "datagen.curricula.export_parts.mindrecord_dataset")
    if len(manifests) == manifests[0]["parts"]:
        text = card.for_export(args, sum(m["items"] for m in manifests),
                               [entry for m in manifests for entry in m["files"]])
        card.write_card(Path(args.out).with_name(Path(args.out).name + ".README.md"), text)
        if args.card:
            card.write_card(args.card, text)
    if args.json:
        write_json(args.json, {"out": args.out, "parts": [{k: m[k] for k in ("part", "items", "files", "skipped")}
                                                         for m in manifests]})
    return 0


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--card", metavar="PATH", help="also write a dataset card (README.md form: version, "
                        "command, options, the input's rows, families and sha256, every output's sha256) to PATH")
    shard.add_options(parser)
    parser.add_argument("--data-parallel", type=int, default=1, metavar="D",
                        help="with MindRecord parts: make the total a multiple of D x --batch-size (default 1)")
    parser.add_argument("--batch-size", type=int, default=1, metavar="B", help="see --data-parallel (default 1)")
    parser.add_argument("--fit", choices=FITS, default="trim",
                        help="a total that is not a multiple: trim the last records (default) or pad with "
                             "copies of the first")
