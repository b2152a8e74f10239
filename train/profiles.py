"""MindFormers version profiles: the names and entry points that differ between releases.

``train plan --mindformers VERSION`` picks one.  What differs (read in MindFormers' sources,
branches r1.1.0 … r1.8.0 and the 1.9.0 wheel; docs/train.md has the table):

* the checkpoint callback: r1.1.x registers only the misspelt ``CheckpointMointor``;
  ``CheckpointMonitor`` exists from r1.2.0;
* the optimizer: ``FP32StateAdamWeightDecay`` (``beta1``/``beta2``) exists r1.1–r1.5 and is gone
  from r1.6; from r1.6 ``AdamW`` takes ``betas``;
* ``Llama3Tokenizer``: the contest's ``mindformers.zip`` registers it inside the package; upstream
  r1.1–r1.4 define it only in ``research/llama3/llama3_tokenizer.py`` (which ``run_mindformer.py``
  does not import; ``--register_path`` exists from r1.3); r1.5.0 registers one inside the package
  (``mindformers/models/mllama/llama3_2_tokenizer.py``, imported by ``mllama_tokenizer.py``), which
  the entry then uses; r1.6+ keep it in ``research/llama3_1`` and the 1.9 wheel has none;
* the checkpoint callback's ``save_network_params`` defaults to True on r1.1–r1.5: an extra copy
  of the network under ``output/checkpoint_network/`` (counted in the plan's disk warning);
* one card: r1.5.0's ``scripts/msrun_launcher.sh`` (lines 146-150) and r1.8.0's (147-150) print
  "use python instead" and exit 0 for one worker, so a one-card stage runs ``python
  run_mindformer.py`` (its ``--config --run_mode --use_parallel --load_checkpoint
  --auto_trans_ckpt`` exist on r1.1.0, r1.5.0 and r1.8.0); several cards go through msrun.
  The plan's SQuAD entry (``mindformers_entry.py``) registers it
  (MindFormers' research module, or predict.py's tiktoken tokenizer with the same ids) and then
  runs MindFormers' own ``Trainer.evaluate``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from datagen.train.plan_yaml import PlanError

DEFAULT_VERSION = "1.1.0"  # the contest's mindformers.zip
CPU_DEFAULT_VERSION = "1.9.0"  # --device cpu when no mindformers is installed where the plan is rendered


@dataclass(frozen=True)
class Profile:
    name: str
    releases: str  # what it covers, as people say it
    checkpoint_callback: str
    optimizer: dict  # type and its moment settings; the plan adds the learning rate
    # how mindformers_entry.py gets Llama3Tokenizer into the registry:
    # "research" imports $MINDFORMERS_HOME/research/llama3/llama3_tokenizer.py when the package lacks it,
    # "datagen" registers predict.py's tiktoken tokenizer (same ids) when the package lacks it
    tokenizer_source: str
    contest_zip: str  # when the contest's mindformers.zip is needed, said plainly
    # the checkpoint callback's save_network_params default: True writes output/checkpoint_network/
    # beside the checkpoints (r1.1.0 callback.py:503, r1.5.0 :1114; False from r1.6.0 :1186)
    saves_network_copy: bool = False
    entry: str = "run_mindformer.py"

    @property
    def needs_research_tokenizer(self) -> bool:
        return self.tokenizer_source == "research"


FP32_STATE_ADAMW = {"type": "FP32StateAdamWeightDecay", "beta1": 0.9, "beta2": 0.95, "eps": 1.0e-8}
ADAMW = {"type": "AdamW", "betas": [0.9, 0.95], "eps": 1.0e-8}

PROFILES = {
    "r1.1": Profile(
        name="r1.1",
        releases="r1.1.x (the contest's mindformers.zip)",
        checkpoint_callback="CheckpointMointor",
        optimizer=FP32_STATE_ADAMW,
        tokenizer_source="research",
        saves_network_copy=True,
        contest_zip=(
            "made for the contest's mindformers.zip (r1.1.0 with changes; SQuAD base scores were "
            "measured with it); on upstream r1.1.0 the SQuAD entry imports "
            "research/llama3/llama3_tokenizer.py instead"
        ),
    ),
    "r1.2-r1.5": Profile(
        name="r1.2-r1.5",
        releases="r1.2.0 to r1.5.x",
        checkpoint_callback="CheckpointMonitor",
        optimizer=FP32_STATE_ADAMW,
        tokenizer_source="research",
        saves_network_copy=True,
        contest_zip=(
            "not needed: the SQuAD entry imports research/llama3/llama3_tokenizer.py on r1.2-r1.4; r1.5.0 "
            "registers its own Llama3Tokenizer (mindformers/models/mllama/llama3_2_tokenizer.py), which it uses"
        ),
    ),
    "1.6+": Profile(
        name="1.6+",
        releases="r1.6.0 and later 1.x (1.9.0 verified here)",
        checkpoint_callback="CheckpointMonitor",
        optimizer=ADAMW,
        tokenizer_source="datagen",
        contest_zip="not needed: the SQuAD entry registers predict.py's Llama3 tokenizer (same ids)",
    ),
}


def parse_version(text: str) -> tuple[int, int]:
    """``1.1.0``, ``r1.5``, ``v1.9.0``, ``1.6.0rc1`` → (major, minor)."""
    match = re.fullmatch(r"\s*[rv]?(\d+)\.(\d+)(?:[.\w-]*)\s*", text)
    if not match:
        raise PlanError(f"--mindformers {text}: not a version like 1.1.0, r1.5 or 1.9.0")
    return int(match.group(1)), int(match.group(2))


def profile_for(version: str) -> Profile:
    """The profile for MindFormers ``version``; anything outside 1.1 … 1.x is refused."""
    major, minor = parse_version(version)
    if major != 1 or minor < 1:
        raise PlanError(
            f"--mindformers {version}: profiles cover 1.1 (the contest's) to 1.x; "
            f"choose from {', '.join(p.releases for p in PROFILES.values())}"
        )
    if minor == 1:
        return PROFILES["r1.1"]
    if minor <= 5:
        return PROFILES["r1.2-r1.5"]
    return PROFILES["1.6+"]
