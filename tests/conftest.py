import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

# CI draws the same examples every run (a failure there reproduces); elsewhere hypothesis explores
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


@pytest.fixture
def readonly_dir(tmp_path):
    """A folder nobody may write into: mode 555, or for root (who ignores modes) the immutable flag."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(folder)], capture_output=True,
                                                   check=False).returncode:
        pytest.skip("running as root without `chattr +i`: no way to make a read-only folder")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=False)
