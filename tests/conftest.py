import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

# MindFormers opens its log folder when imported, under $LOCAL_DEFAULT_PATH (default ./output, i.e. the
# checkout): one folder for the whole session, set before any test module imports it (subprocesses
# inherit it) and removed when the session ends, so the suite leaves neither ./output nor temp folders
_MINDFORMERS_LOGS = None
if "LOCAL_DEFAULT_PATH" not in os.environ:
    _MINDFORMERS_LOGS = tempfile.mkdtemp(prefix="datagen-mf-")
    os.environ["LOCAL_DEFAULT_PATH"] = _MINDFORMERS_LOGS


def pytest_unconfigure(config):
    if _MINDFORMERS_LOGS is not None:
        shutil.rmtree(_MINDFORMERS_LOGS, ignore_errors=True)


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


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Runs keep base probe measurements under $DATAGEN_CACHE: the tests' go to a folder of their own."""
    saved = os.environ.get("DATAGEN_CACHE")
    os.environ["DATAGEN_CACHE"] = str(tmp_path_factory.mktemp("datagen-cache"))
    yield
    if saved is None:
        os.environ.pop("DATAGEN_CACHE", None)
    else:
        os.environ["DATAGEN_CACHE"] = saved
