"""Test harness: a rendered stage (or the SQuAD check) through MindFormers' own code, on the CPU.

Run as ``python tests/mindformers_stage.py STAGE.yaml REPORT.json``.  It does what
``run_mindformer.py``'s ``main`` does for a finetune (``set_output_path``, ``build_context``,
``Trainer(config).train()``) on the config ``MindFormerConfig`` reads from the rendered yaml,
after these CPU-only overrides, made on the loaded config in memory (the yaml is not touched;
docs/train.md lists them):

* ``context.device_target: CPU``;
* ``num_parallel_workers: 1`` for the train dataset (the yaml's 8 is for an Ascend host);
* ``runner_config.sink_mode: False`` (dataset sinking needs a device queue);
* the train wrapper's overflow check reads ``IsFinite`` of the gradients: MindSpore 2.9 has no
  CPU kernel for the Ascend status ops (``NPUGetFloatStatusV2``) or the GPU one (``FloatStatus``).

The report records the overrides and, per ``load_param_into_net`` call into the network, the
LoRA weights it received (sha256 of their bytes) and the network parameters it did not load.

``python tests/mindformers_stage.py --eval RUN_DIR`` runs the plan's SQuAD entry
(``eval/squad_eval.py``) on a CPU copy of ``eval/squad_eval.yaml`` written beside it and removed
after (same overrides, plus ``use_past: False`` and a numpy argmax for ``generate``: no CPU
kernels for incremental inference or ``ArgMaxExt``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

import numpy as np

CPU_OVERRIDES = {
    "context.device_target": "CPU",
    "train_dataset.num_parallel_workers": 1,
    "train_dataset_task.dataset_config.num_parallel_workers": 1,
    "runner_config.sink_mode": False,
    "runner_wrapper overflow check": "IsFinite of the gradients",
}


def digest(value) -> str:
    array = value.asnumpy() if hasattr(value, "asnumpy") else np.asarray(value)
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def main(yaml_path: str, report_path: str) -> int:
    started = time.time()
    os.environ.setdefault("LOCAL_DEFAULT_PATH", os.path.join(os.path.dirname(yaml_path), "output"))
    from mindformers import MindFormerConfig
    from mindformers.core.context import build_context
    from mindformers.trainer import Trainer
    from mindformers.trainer import utils as trainer_utils
    from mindformers.utils import set_output_path
    from mindspore import nn
    from mindspore.nn.wrap.loss_scale import _ascend_grad_overflow

    def overflow_on_cpu(self, status, compute_output):
        return self._get_distributed_overflow_status_on_infnan_mode(_ascend_grad_overflow, compute_output)

    nn.TrainOneStepWithLossScaleCell.get_overflow_status = overflow_on_cpu

    loads = []
    original_load = trainer_utils.load_param_into_net

    def recording_load(target, parameters, *args, **kwargs):
        result = original_load(target, parameters, *args, **kwargs)
        if not type(target).__name__.endswith(("Optimizer", "AdamW", "AdamWeightDecay")):
            lora = {k: digest(v) for k, v in parameters.items() if "lora" in k and not k.startswith("adam")}
            not_loaded = list(result[0]) if isinstance(result, tuple) else list(result)
            loads.append({"target": type(target).__name__, "lora": lora, "not_loaded": not_loaded})
        return result

    trainer_utils.load_param_into_net = recording_load

    config = MindFormerConfig(os.path.realpath(yaml_path))
    config.context.device_target = "CPU"
    config.train_dataset.num_parallel_workers = 1
    config.train_dataset_task.dataset_config.num_parallel_workers = 1
    config.runner_config.sink_mode = False
    set_output_path(config.output_dir)
    build_context(config)
    Trainer(config).train()
    report = {
        "yaml": yaml_path,
        "load_checkpoint": config.load_checkpoint,
        "overrides": CPU_OVERRIDES,
        "loads": loads,
        "seconds": round(time.time() - started, 1),
    }
    with open(report_path, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)
    return 0


def evaluate(run_dir: str) -> int:
    import runpy

    import mindspore as ms
    import yaml

    os.environ.setdefault("LOCAL_DEFAULT_PATH", os.path.join(run_dir, "eval", "output"))
    from mindformers.generation import logits_process, text_generator

    def numpy_argmax(logits, axis=-1):
        return ms.Tensor(np.argmax(logits.asnumpy(), axis))

    def greedy_in_numpy(self, logits, sequence_ids, **kwargs):
        return numpy_argmax(logits)

    logits_process.GreedySearchLogitsProcessor.process_ms = greedy_in_numpy
    original_init = text_generator.GenerationMixin.__init__

    def init_with_numpy_argmax(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.argmax = numpy_argmax

    text_generator.GenerationMixin.__init__ = init_with_numpy_argmax
    with open(os.path.join(run_dir, "eval", "squad_eval.yaml"), encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    config["context"]["device_target"] = "CPU"
    for section in (config["eval_dataset"], config["eval_dataset_task"]["dataset_config"]):
        section["num_parallel_workers"] = 1
    config["model"]["model_config"]["use_past"] = False
    cpu_yaml = os.path.join(run_dir, "eval", f"cpu-{os.getpid()}.yaml")
    with open(cpu_yaml, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle)
    entry = os.path.join(run_dir, "eval", "squad_eval.py")
    sys.argv = [
        entry,
        "--config",
        cpu_yaml,
        "--datagen-tokenizer",
        os.path.join(run_dir, "predict", "predict.py"),
    ]
    try:
        runpy.run_path(entry, run_name="__main__")
    except SystemExit as exit_:
        return int(exit_.code or 0)
    finally:
        os.unlink(cpu_yaml)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--eval":
        sys.exit(evaluate(sys.argv[2]))
    sys.exit(main(*sys.argv[1:3]))
