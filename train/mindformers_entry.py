"""The plan's MindFormers entry: a finetune where ``run_mindformer.py`` is missing, and the SQuAD check.

``datagen train plan`` copies this file verbatim to ``RUN_DIR/mindformers_entry.py``; it runs with
MindFormers, PyYAML and (for ``--datagen-tokenizer``) tiktoken.  It does what ``run_mindformer.py``'s
``main`` does (output path, context, ``Trainer(config)``), because the MindFormers wheels (1.7, 1.9)
ship no ``run_mindformer.py``:

* ``--run_mode finetune``: ``Trainer(config).train()`` on a stage yaml (the ``--device cpu`` route);
* ``--run_mode eval`` (the default): ``Trainer(config).evaluate`` with EmF1Metric, after registering
  ``Llama3Tokenizer`` where the installed MindFormers lacks it, which ``run_mindformer.py`` cannot do
  on every release (r1.2 has no ``--register_path``, 1.9 no Llama3 tokenizer at all): from
  ``research/llama3/llama3_tokenizer.py`` (``--tokenizer-module``, upstream r1.1) or from the plan's
  ``predict/predict.py`` (``--datagen-tokenizer``, r1.6+).  The tokenizer is built from the yaml's
  ``processor.tokenizer`` and handed to ``evaluate``, so the one registered here is used.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys


def import_file(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def tokenizer_section(config_path: str) -> dict:
    """The yaml's ``processor.tokenizer`` as written (1.9 flags ``processor`` as unused in eval configs)."""
    import yaml

    with open(config_path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    section = ((raw or {}).get("processor") or {}).get("tokenizer")
    if not section or "type" not in section:
        raise SystemExit(f"{config_path}: processor.tokenizer with a type is missing")
    return dict(section)


def register_tokenizer(name: str, tokenizer_module: str | None, datagen_tokenizer: str | None) -> str:
    """Make ``name`` resolvable in MindFormers' TOKENIZER registry; say where it came from."""
    from mindformers.tools.register import MindFormerModuleType, MindFormerRegister

    if MindFormerRegister.is_exist(MindFormerModuleType.TOKENIZER, name):
        return "the installed MindFormers"
    if tokenizer_module:
        directory = os.path.dirname(os.path.abspath(tokenizer_module))
        if directory not in sys.path:
            sys.path.insert(0, directory)  # research modules import their neighbours by name
        import_file(tokenizer_module, os.path.splitext(os.path.basename(tokenizer_module))[0])
        if MindFormerRegister.is_exist(MindFormerModuleType.TOKENIZER, name):
            return tokenizer_module
    if datagen_tokenizer:
        import_file(datagen_tokenizer, "datagen_predict").register_mindformers_tokenizer(name)
        return datagen_tokenizer
    raise SystemExit(
        f"tokenizer {name} is not registered by this MindFormers; pass --tokenizer-module "
        "research/llama3/llama3_tokenizer.py or --datagen-tokenizer predict/predict.py"
    )


def build_eval_tokenizer(config_path: str, tokenizer_module=None, datagen_tokenizer=None):
    """The tokenizer the yaml names, built through MindFormers' registry."""
    from mindformers.models import build_tokenizer

    section = tokenizer_section(config_path)
    source = register_tokenizer(section["type"], tokenizer_module, datagen_tokenizer)
    print(f"tokenizer {section['type']} from {source}", file=sys.stderr)
    return build_tokenizer(section)


def set_output_path(path: str) -> None:
    try:
        from mindformers.utils import set_output_path as setter  # 1.6+
    except ImportError:
        from mindformers.tools import set_output_path as setter  # r1.1-r1.5
    setter(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the stage or SQuAD eval yaml")
    parser.add_argument("--run_mode", choices=("finetune", "eval"), default="eval")
    parser.add_argument("--load_checkpoint", help="checkpoint file or folder (default: the yaml's)")
    parser.add_argument("--tokenizer-module", help="a .py that registers Llama3Tokenizer when imported")
    parser.add_argument("--datagen-tokenizer", help="the plan's predict.py, to register its tokenizer")
    args = parser.parse_args(argv)

    from mindformers import MindFormerConfig
    from mindformers.core.context import build_context
    from mindformers.trainer import Trainer

    config = MindFormerConfig(os.path.realpath(args.config))
    if args.load_checkpoint:
        config.load_checkpoint = args.load_checkpoint
    if args.run_mode == "finetune":
        set_output_path(config.output_dir)
        build_context(config)
        Trainer(config).train()
        return 0
    tokenizer = build_eval_tokenizer(args.config, args.tokenizer_module, args.datagen_tokenizer)
    set_output_path(config.output_dir)
    build_context(config)
    print(f"evaluating {config.load_checkpoint}", file=sys.stderr)
    Trainer(config).evaluate(eval_checkpoint=config.load_checkpoint, tokenizer=tokenizer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
