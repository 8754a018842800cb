"""Session setup shared by every test file.

Generated modules go to a temporary cache directory of this test session (removed at its
end), never to the user's own cache: the suite generates thousands of modules. Subprocesses
(the CLI tests, multiprocessing workers) inherit it through the environment."""
import os
import shutil
import tempfile

_SESSION_CACHE = tempfile.mkdtemp(prefix="tangent_src_test_cache_")
os.environ["TANGENT_SRC_CACHE"] = _SESSION_CACHE


def pytest_unconfigure(config):
    shutil.rmtree(_SESSION_CACHE, ignore_errors=True)
