"""Every `datagen ...` command of README.md and docs/*.md runs as written: those of the fenced bash
blocks and those written inline in the prose (a backticked `datagen ...`).

The commands are read from the documents, so a new or changed command is covered without
touching this file. They run in order (README first, then docs/ by name) in one temporary
folder, the way a new user would type them in the checkout (`configs/` is linked in): later
commands use what earlier ones wrote (`runs/synthetic`, `score.json`). Inputs a user brings
(the contest's `train.json`, BELLE's `school_math_0.25M.json`) are the fixtures in
tests/fixtures/specs under the documented names;
files only an NPU run can make (MindFormers' predictions, training logs) are made by the test
before the command that reads them.

Three explicit lists below (keyed by the command exactly as documented, comments stripped):
REDUCED appends the smallest documented option that fits a command into CI time; XFAIL marks
commands that fail today for a reason another change is fixing (the lead empties it; a listed
command that passes fails the test, so a fixed entry cannot linger); NOT_COMMANDS are lines of a
bash block, or inline commands, that are a synopsis, not a command. Every entry must still match a
documented command. An inline command is skipped, with the reason ``inline_skip_reason`` gives,
when it only names a command (`datagen eval score`), shows a synopsis (a CAPITAL or `A.yaml`
placeholder, `a|b` alternatives, `…`) or quotes what a command prints (`datagen export: warning:`);
``test_inline_commands_are_run_or_skipped_for_a_reason`` lists every one of them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.walkthrough

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FIXTURES = Path(__file__).parent / "fixtures"
TIMEOUT_S = 300  # the slowest reduced command takes ~75 s on the shared 2-core machine
BASH_BLOCK = re.compile(r"^```(?:bash|sh|shell)[ \t]*\n(.*?)^```", re.M | re.S)

TINY_GGUF = ".tiny-llama.gguf"  # made by tests/gguf_factory.py when a reduced command names it
TINY_GGUF_OPTION = f"--gguf {TINY_GGUF}"

# command as documented -> (what is appended, why)
REDUCED = {
    "datagen curriculum build configs/curricula/arith_synthetic.yaml --out runs/synthetic":
        ("--scale 0.01", "90,000 records and three MindRecords; later commands only need its layout"),
    "datagen curriculum build configs/curricula/arith_staged.yaml "
    "--data contest=train.json --data belle=school_math_0.25M.json --out runs/staged":
        ("--scale 0.01", "130,000 records; the fixture BELLE file has 85 rows, the full spec asks 5,000+"),
    "datagen curriculum build configs/curricula/proxy_plain.yaml --out runs/plain":
        ("--scale 0.01", "48,000 records; the proxy run below only needs its layout"),
    "datagen train proxy runs/plain":
        ("--steps 4 --heldout-limit 20", "8,000 steps are ~5 min on 2 cores; 4 steps show the same path"),
    "datagen train smoke runs/synthetic":
        ("--steps 4", "80 CPU training steps per stage; 4 show the same path"),
    **{f"datagen train pretrained runs/smollm_arith --steps 40 --lr {lr}{out}":
       (f"{TINY_GGUF_OPTION} --steps 2 --batch-size 2 --heldout-limit 8 --greedy-sample 2",
        "SmolLM2-135M runs 40 steps in 10-25 min at ~15 GB; a tiny GGUF of the same architecture walks the "
        "same path (tests/test_pretrained_smollm2.py checks the real model)")
       for lr, out in (("5e-4", ""), ("5e-4", " --out runs/pre-lr5e-4"), ("2e-3", " --out runs/pre-lr2e-3"))},
    "datagen bench curricula configs/curricula/smollm_arith.yaml configs/curricula/proxy_plain.yaml "
    "--model smollm2-135m --seeds 2":
        (f"{TINY_GGUF_OPTION} --steps 2 --batch-size 2 --size 120",
         "4 SmolLM2 runs of 25 steps are over an hour on 2 cores"),
    **{"datagen bench curricula " + " ".join(f"configs/curricula/{name}.yaml" for name in names) + seeds:
       ("--steps 10 --size 480 --heldout-limit 20", "each run of 8,000 proxy steps is ~5 min on 2 cores")
       for names, seeds in ((("proxy_plain", "proxy_steps"), " --seeds 2 --steps 4000"),
                            (("proxy_mul_plain", "proxy_mul_reversed", "proxy_mul_steps"),
                             " --seed-list 0 --steps 4000"),
                            (("proxy_staged", "proxy_shuffled"), " --seed-list 0"))},
    **{"datagen bench curricula configs/curricula/proxy_plain.yaml configs/curricula/proxy_reversed.yaml" + steps:
       ("--seeds 2 --steps 10 --size 480 --heldout-limit 20",
        "6 seeds x 2 specs x 8,000 proxy steps is about an hour on 2 cores")
       for steps in ("", " --steps 4000 --out runs/bench-plain-vs-reversed-4k")},
}

# command as documented -> why it fails today (another change fixes it); strict: passing fails the test
XFAIL: dict[str, str] = {}

# lines of bash blocks, or inline commands, that show a command's synopsis, not a command to run
NOT_COMMANDS: dict[str, str] = {
    "datagen eval score --json": "names the report layout `eval score --json` writes (docs/proxy.md)",
}

INLINE_CODE = re.compile(r"`(datagen [^`]+)`")
FENCED_BLOCK = re.compile(r"^```.*?^```", re.M | re.S)
PLACEHOLDER = re.compile(r"(?:^|[=/])(?:[A-Z][A-Z_0-9]*)(?:\.[a-z0-9.]+)?$")  # DIR, CURRICULUM_DIR, A.yaml, R.json


@dataclass(frozen=True)
class Documented:
    doc: str  # path relative to the repository
    line: int
    text: str  # the command as written, continuation lines joined
    command: str  # the same without a trailing comment, whitespace normalised: the key of the lists above

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}:{' '.join(self.command.split()[:4])}"


def uncommented(text: str) -> str:
    """The command without a trailing `# comment` (# after a blank, outside quotes), whitespace normalised."""
    quote = None
    for k, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (k == 0 or text[k - 1].isspace()):
            text = text[:k]
            break
    return " ".join(text.split())


def documented_commands(docs: list[Path] = DOCS, root: Path = ROOT) -> list[Documented]:
    found = []
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        for block in BASH_BLOCK.finditer(text):
            first_line = text.count("\n", 0, block.start(1)) + 1
            logical, start = "", None
            for offset, raw in enumerate(block.group(1).splitlines()):
                if start is None:
                    start = first_line + offset
                if raw.rstrip().endswith("\\"):
                    logical += raw.rstrip()[:-1] + " "
                    continue
                logical += raw
                for part in logical.split(" && "):
                    part = part.strip()
                    if part.startswith("datagen "):
                        found.append(Documented(str(doc.relative_to(root)), start, part, uncommented(part)))
                logical, start = "", None
    return found


def inline_commands(docs: list[Path] = DOCS, root: Path = ROOT) -> list[Documented]:
    """Backticked `datagen ...` in the prose (outside fenced blocks), whitespace joined."""
    found = []
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        # fenced blocks blanked, line numbers kept
        prose = FENCED_BLOCK.sub(lambda m: "\n" * m.group().count("\n"), text)
        for m in INLINE_CODE.finditer(prose):
            command = " ".join(m.group(1).split())
            found.append(Documented(str(doc.relative_to(root)), prose.count("\n", 0, m.start()) + 1, command,
                                    command))
    return found


def inline_skip_reason(command: str) -> str | None:
    """Why an inline `datagen ...` is not run, or None: it is a command to run as written."""
    words = command.split()[1:]
    if words and words[0].endswith(":"):
        return "quotes what a command prints (an error or warning line), not a command"
    if all(re.fullmatch(r"[a-z]+", w) for w in words):
        return "names a command; its runnable forms are in the code blocks"
    if any("|" in w or w in ("…", "...") for w in words):
        return "a synopsis: alternatives or an ellipsis"
    if any(PLACEHOLDER.search(w) for w in words):
        return "a synopsis: a placeholder (a CAPITAL name or A.yaml) stands for the user's value"
    return None


def documents_in_order(block: list[Documented], inline: list[Documented]) -> list[Documented]:
    """Code-block and inline commands in reading order: README first, then docs/ by name, by line."""
    order = {str(doc.relative_to(ROOT)): k for k, doc in enumerate(DOCS)}
    return sorted(block + inline, key=lambda c: (order.get(c.doc, len(order)), c.line))


BLOCK_COMMANDS = documented_commands()
INLINE_COMMANDS = inline_commands()
COMMANDS = documents_in_order(BLOCK_COMMANDS, INLINE_COMMANDS)
RUNNABLE = [c for c in COMMANDS if c.command not in NOT_COMMANDS
            and not (c in INLINE_COMMANDS and inline_skip_reason(c.command))]


# --- inputs a user brings, and files only an NPU run makes ------------------------------------------


def copy_fixture(name: str):
    def make(cwd: Path, target: str) -> None:
        shutil.copyfile(FIXTURES / name, cwd / target)
    return make


def option(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command[:-1] else None


def make_predictions(cwd: Path, target: str, command: list[str]) -> None:
    """MindFormers' predictions as JSON Lines {id, output}: every other answer right, echo included."""
    gold_path = cwd / option(command, "--gold")
    gold = [json.loads(line) for line in gold_path.read_text(encoding="utf-8").splitlines()]
    with open(cwd / target, "w", encoding="utf-8") as handle:
        for k, record in enumerate(gold):
            answer = record["answer"] if k % 2 == 0 else "12345.6789"
            handle.write(json.dumps({"id": record["id"], "output": f"{record['problem']} 答案：{answer}"},
                                    ensure_ascii=False) + "\n")


def make_params(cwd: Path, target: str) -> None:
    """What `datagen train params --model llama3_8b --rank 12 --alpha 24 --targets '.*wq|.*wv'` counts."""
    from datagen.train.params import DEFAULT_ACCURACIES, count_lora
    from datagen.train.presets import load_preset

    count = count_lora(load_preset("llama3_8b"), 12, ".*wq|.*wv", 24)
    (cwd / target).write_text(json.dumps(count.as_dict(DEFAULT_ACCURACIES)), encoding="utf-8")


def make_squad_generations(cwd: Path, target: str) -> None:
    """MindFormers' SQuAD generations as JSON Lines {id, output}: each question's first answer (a PASS)."""
    squad = json.loads((FIXTURES / "eval" / "squad_mf.json").read_text(encoding="utf-8"))
    with open(cwd / target, "w", encoding="utf-8") as handle:
        for article in squad["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    handle.write(json.dumps({"id": qa["id"], "output": qa["answers"][0]["text"]},
                                            ensure_ascii=False) + "\n")


def make_squad(cwd: Path, target: str) -> None:
    """`datagen eval squad --json` of the SQuAD fixture (MindFormers' generations need an NPU)."""
    copy_fixture("eval/squad_mf.json")(cwd, ".squad_gold.json")
    make_squad_generations(cwd, ".squad_pred.jsonl")
    result = run_datagen(cwd, ["eval", "squad", "--pred", ".squad_pred.jsonl", "--gold", ".squad_gold.json",
                               "--json", target, "-q"])
    assert (cwd / target).exists(), f"making {target} failed:\n{result.stderr[-2000:]}"


def make_conversation(cwd: Path, target: str) -> None:
    """The contest converter's output: a conversation JSON list, the problem inside the Alpaca prompt."""
    prompt = ("Below is an instruction that describes a task. Write a response that appropriately completes "
              "the request.\n\n### Instruction:\n{}\n\n### Response:")
    text = (FIXTURES / "specs" / "train.json").read_text(encoding="utf-8")
    conversations = [
        {"id": str(k), "conversations": [{"from": "human", "value": prompt.format(row["problem"])},
                                         {"from": "gpt", "value": row["solution"]}]}
        for k, row in enumerate(json.loads(line) for line in text.splitlines()[:64])
    ]
    (cwd / target).write_text(json.dumps(conversations, ensure_ascii=False), encoding="utf-8")


def make_training_logs(cwd: Path, target: str) -> None:
    """MindFormers' rank-0 logs of a run: the fixture run's stage logs, one per planned stage."""
    run = cwd / target
    logs = sorted((FIXTURES / "train" / "two_stage_run").glob("stage*/output/msrun_log/worker_0.log"))
    stages = sorted(p for p in run.glob("stage*") if p.is_dir())
    for stage, log in zip(stages, logs):
        target = stage / "output" / "msrun_log" / "worker_0.log"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log, target)


def make_tiny_gguf(cwd: Path, target: str) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from gguf_factory import write_tiny_llama

    write_tiny_llama(cwd / target)


def inputs_for(command: list[str]) -> list[tuple[str, object]]:
    """(path, maker(cwd, path)) for the inputs of ``command`` that no documented command writes."""
    wanted = []
    if option(command, "--gguf") == TINY_GGUF:
        wanted.append((TINY_GGUF, make_tiny_gguf))
    tokens = command + [value.partition("=")[2] for value in command if "=" in value]
    for name, fixture in (("train.json", "specs/train.json"),
                          ("school_math_0.25M.json", "specs/school_math_0.25M.json")):
        if name in tokens:
            wanted.append((name, copy_fixture(fixture)))
    if command[:2] == ["eval", "score"] and option(command, "--pred"):
        wanted.append((option(command, "--pred"),
                       lambda cwd, target: make_predictions(cwd, target, command)))
    if command[:2] == ["eval", "squad"]:
        wanted += [(option(command, "--gold"), copy_fixture("eval/squad_mf.json")),
                   (option(command, "--pred"), make_squad_generations)]
    if command[:2] == ["eval", "report"]:
        wanted += [(option(command, "--params"), make_params), (option(command, "--squad"), make_squad)]
    if command[:1] == ["export"] and str(option(command, "--in")).endswith("conversation.json"):
        wanted.append((option(command, "--in"), make_conversation))
    if command[:2] == ["train", "logs"]:
        wanted.append((command[2], make_training_logs))  # always: the plan folder exists, its logs do not
    return [(path, make) for path, make in wanted if path]


# --- running ------------------------------------------------------------------------------------------


def run_datagen(cwd: Path, args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(cwd / ".bin" / "datagen"), *args], cwd=cwd, env=environment(cwd),
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def environment(cwd: Path) -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{cwd / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["MPLBACKEND"] = "Agg"
    return env


class Walkthrough:
    """Runs the documented commands in order, once each, in one folder."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.results: dict[int, subprocess.CompletedProcess] = {}
        shim = cwd / ".bin" / "datagen"
        shim.parent.mkdir(parents=True)
        # `datagen` on PATH runs this checkout with the test's interpreter
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m datagen.cli "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
        # the documents run from the checkout's root, where configs/ is
        (cwd / "configs").symlink_to(ROOT / "configs", target_is_directory=True)

    def through(self, position: int) -> tuple[str, subprocess.CompletedProcess]:
        for k in range(position + 1):
            if k not in self.results:
                # a command shown again (a doc repeating the README's step) is run once
                earlier = next((j for j in range(k) if RUNNABLE[j].command == RUNNABLE[k].command), None)
                self.results[k] = self.results[earlier] if earlier is not None else self.run(RUNNABLE[k])
        return self.line(RUNNABLE[position]), self.results[position]

    @staticmethod
    def line(documented: Documented) -> str:
        """As written; a REDUCED option goes after the command, before its comment would have started."""
        extra = REDUCED.get(documented.command)
        return f"{documented.command} {extra[0]}" if extra else documented.text

    def run(self, documented: Documented) -> subprocess.CompletedProcess:
        line = self.line(documented)
        args = shlex.split(line, comments=True)[1:]
        for path, make in inputs_for(args):
            try:
                if make is make_training_logs or not (self.cwd / path).exists():
                    make(self.cwd, path)
            except Exception as exc:  # an earlier command did not write what this input is made from
                return subprocess.CompletedProcess(line, -1, "", f"could not make the input {path}: {exc!r}")
        try:
            return subprocess.run(["bash", "-c", line], cwd=self.cwd, env=environment(self.cwd),
                                  capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            return subprocess.CompletedProcess(line, 124, exc.stdout or "", f"timed out after {TIMEOUT_S} s")


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory) -> Walkthrough:
    return Walkthrough(tmp_path_factory.mktemp("walkthrough"))


def test_the_documents_show_commands():
    assert len(RUNNABLE) >= 20
    assert {c.doc for c in RUNNABLE} >= {"README.md", "docs/proxy.md"}


def test_commands_are_read_from_bash_blocks_only_with_continuations_and_comments(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("```bash\npip install . && datagen make --n 5 \\\n    --seed 2   # five\n"
                   "echo hi\ndatagen audit 'a b.json' --out 'c#d'\n```\n"
                   "```\ndatagen export --in FILE\n```\n```python\ndatagen = 1\n```\n", encoding="utf-8")
    found = documented_commands([doc], tmp_path)
    assert [(c.line, c.command) for c in found] == [
        (2, "datagen make --n 5 --seed 2"), (5, "datagen audit 'a b.json' --out 'c#d'")]


def test_inline_commands_are_read_from_the_prose_outside_code_blocks(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("Run `datagen make --n 5\n  --seed 2` or `datagen eval score`.\n"
                   "```bash\ndatagen audit a.json --out b  # `datagen make --n 9`\n```\n"
                   "See `datagen train proxy CURRICULUM_DIR` and `--set a.b=c`.\n", encoding="utf-8")
    found = inline_commands([doc], tmp_path)
    assert [(c.line, c.command) for c in found] == [
        (1, "datagen make --n 5 --seed 2"), (2, "datagen eval score"), (6, "datagen train proxy CURRICULUM_DIR")]
    assert [inline_skip_reason(c.command) is None for c in found] == [True, False, False]


def test_inline_commands_are_run_or_skipped_for_a_reason():
    """Every inline command of the documents: run (in reading order) or skipped with its reason."""
    skipped = {c.command: inline_skip_reason(c.command) or NOT_COMMANDS.get(c.command) for c in INLINE_COMMANDS
               if c not in RUNNABLE}
    run = [c.command for c in INLINE_COMMANDS if c in RUNNABLE]
    assert all(skipped.values()), skipped
    # the README's family knobs (text values included) and the pretrained docs' count are run as written
    assert "datagen make --types mixed --set 'mixed.operators=+-*' --n 500" in run
    assert "datagen make --types unit --set unit.dimensions=time,currency --n 500" in run
    assert "datagen train params --model smollm2-135m" in run
    assert skipped["datagen audit train.json --out DIR"].startswith("a synopsis")
    assert skipped["datagen eval score"].startswith("names a command")


@pytest.mark.slow
def test_a_broken_documented_command_fails_its_test(tmp_path):
    walk = Walkthrough(tmp_path)
    broken = Documented("x.md", 1, "datagen make --n 0 --out x.jsonl", "datagen make --n 0 --out x.jsonl")
    result = walk.run(broken)
    assert result.returncode == 2 and "--n" in result.stderr
    text = "datagen make --n 3 --out x.jsonl -q  # three"
    good = Documented("x.md", 2, text, uncommented(text))
    assert walk.run(good).returncode == 0 and len((tmp_path / "x.jsonl").read_text().splitlines()) == 3


def test_every_listed_exception_is_still_documented():
    documented = {c.command for c in COMMANDS}
    stale = [key for key in (*REDUCED, *XFAIL) if key not in documented]
    stale += [key for key in NOT_COMMANDS if key not in documented]
    assert not stale, f"listed but no longer documented (remove or update): {stale}"


def params() -> list:
    out = []
    for position, documented in enumerate(RUNNABLE):
        marks = []
        if documented.command in XFAIL:
            marks.append(pytest.mark.xfail(reason=XFAIL[documented.command], strict=True))
        out.append(pytest.param(position, id=documented.id, marks=marks))
    return out


@pytest.mark.slow
@pytest.mark.mindspore  # the walkthrough's builds write MindRecord and its train commands run MindSpore
@pytest.mark.parametrize("position", params())
def test_documented_command_runs(walkthrough, position):
    line, result = walkthrough.through(position)
    tail = "\n".join((result.stderr or "").strip().splitlines()[-8:])
    assert result.returncode == 0, f"`{line}` exited {result.returncode}:\n{tail}"
    assert "Traceback (most recent call last)" not in (result.stderr or "")
