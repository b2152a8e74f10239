"""signals.held(): a signal inside a heavy import is acted on once the import is over."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HOLDER = textwrap.dedent("""
    import os, signal, sys
    from datagen import signals
    from datagen.errors import Terminated
    signals.install()
    done = []
    try:
        with signals.held():
            os.kill(os.getpid(), getattr(signal, sys.argv[1]))
            for _ in range(1000):  # a signal is acted on between bytecodes: give it many chances
                pass
            done.append("block finished")
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # what a library's import may do
    except KeyboardInterrupt:
        print(done, "KeyboardInterrupt", signal.getsignal(signal.SIGINT) is not signal.SIG_IGN)
    except Terminated:
        print(done, "Terminated", signal.getsignal(signal.SIGINT) is not signal.SIG_IGN)
""")


@pytest.mark.parametrize(("name", "raised"), [("SIGINT", "KeyboardInterrupt"), ("SIGTERM", "Terminated")])
def test_a_signal_inside_a_deferred_block_is_raised_after_it(name, raised):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", HOLDER, name], capture_output=True, text=True, env=env,
                            timeout=60, check=True)
    # the block ran to its end, then the signal came out, with the handlers put back
    assert result.stdout.strip() == f"['block finished'] {raised} True"


def test_without_our_handlers_the_hold_blocks_the_signal_until_the_block_ends():
    """A library caller that never installed the handlers: publish()'s renames still finish together."""
    code = textwrap.dedent("""
        import os, signal
        from datagen import signals
        done = []
        try:
            with signals.held():
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(1000):
                    pass
                done.append("block finished")
        except KeyboardInterrupt:
            print(done, "KeyboardInterrupt")
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            timeout=60, check=True)
    assert result.stdout.strip() == "['block finished'] KeyboardInterrupt"
