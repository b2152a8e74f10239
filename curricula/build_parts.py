"""``datagen curriculum build --shard K/N`` / ``--parts N``: a curriculum's exports in parts (datagen.shard).

Part K is a folder ``OUT.part-K-of-N`` holding, for every stage, lines ``shard.bounds`` of its
``train.jsonl``, the matching piece of its ``conversation.json`` and a standalone
``train.mindrecord``; part 0 also holds the held-out sets, ``curriculum.json``, ``spec.yaml`` and
the dataset card. Each stage file's pieces joined in part order are the one-process file byte for
byte. The stages themselves (generation, held-out filtering, mixing) are deterministic and made
whole in every part: the split pays off for the exports (tokenizing), not for generation, which
``datagen make --parts`` splits instead.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from datagen import shard
from datagen.output import scratch_dir, staged
from datagen.rows import LineSlice, count_lines

PART_OPTIONS = ("spec", "scale", "tokenizer", "skip_mindrecord", "overlong")
SHARED = ("heldout", "curriculum.json", "spec.yaml", "README.md")  # part 0 only


def write_part(options: dict, k: int, n: int, path: Path) -> dict:
    from datagen.curricula import export
    from datagen.curricula.build import build, quiet_steps
    from datagen.curricula.conversation import check_row
    from datagen.curricula.export_parts import conversations_before
    from datagen.curricula.spec import load_spec, scale_spec

    spec = scale_spec(load_spec(options["spec"]), options["scale"])
    items = 0
    with scratch_dir(path) as scratch:
        whole = scratch / "whole"
        index = build(spec, whole, options["data"], skip_mindrecord=True, steps=quiet_steps(),
                      overlong=options["overlong"])
        with staged(path, directory=True) as work:
            for stage in index["stages"]:
                source = whole / stage["train"]
                lo, hi = shard.bounds(count_lines(source), k, n)
                (work / stage["dir"]).mkdir()
                with open(source, "rb") as inp, open(work / stage["train"], "wb") as out:
                    for number, line in enumerate(inp):
                        if lo <= number < hi:
                            out.write(line)
                common = {"source": stage["train"], "manifest": False, "allow_empty": True, "force": True}
                earlier = conversations_before(source, lo, spec.template)
                export.export_conversation(LineSlice(source, lo, hi, check=check_row), work / stage["conversation"],
                                           spec.template, part=(k, n, earlier), **common)
                if not options["skip_mindrecord"]:
                    tokenizer = export.load_tokenizer(options["tokenizer"], digits=spec.digits)
                    export.export_mindrecord(LineSlice(source, lo, hi, check=check_row),
                                             work / stage["dir"] / "train.mindrecord", spec.template, spec.seq_length,
                                             tokenizer, 1, "truncate", workers=0, **common)
                items += hi - lo
            if k == 0:
                for name in SHARED:
                    if (whole / name).is_dir():
                        shutil.copytree(whole / name, work / name)
                    elif (whole / name).exists():
                        shutil.copy2(whole / name, work / name)
        files = sorted(p for p in path.rglob("*") if p.is_file())
    return {"files": files, "items": items, "stages": [s["dir"] for s in index["stages"]]}


def run_parts(args: argparse.Namespace, data_args: dict) -> int:
    from datagen.curricula.build import required_packages
    from datagen.curricula.spec import find_spec

    from datagen.extras import require

    # the extras, checked without importing them: the parts fork from this process
    require("datagen curriculum build", *required_packages(args.skip_mindrecord, args.tokenizer))
    options = {name: getattr(args, name) for name in PART_OPTIONS}
    options["spec"] = str(find_spec(args.spec).resolve())  # a path, or a shipped spec by name
    options["data"] = {name: str(Path(p).resolve()) for name, p in data_args.items()}
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    shard.run_command(args, "datagen.curricula.build_parts:write_part", options, args.out, log)
    return 0
