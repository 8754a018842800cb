"""Session setup shared by every test file, and the fixtures of the cache tests.

Generated modules go to a temporary cache directory of this test session (removed at its
end), never to the user's own cache: the suite generates thousands of modules. Subprocesses
(the CLI tests, multiprocessing workers) inherit it through the environment."""
import importlib
import os
import shutil
import sys
import tempfile
import textwrap

import pytest

_SESSION_CACHE = tempfile.mkdtemp(prefix="tangent_src_test_cache_")
os.environ["TANGENT_SRC_CACHE"] = _SESSION_CACHE


def pytest_unconfigure(config):
    shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


@pytest.fixture
def fresh_cache():
    """An empty in-memory cache, and cache warnings that may be issued again (the cache
    tests use it for every test: `pytestmark = pytest.mark.usefixtures("fresh_cache")`)."""
    import tangent_src
    from tangent_src.backend import cache_dir
    tangent_src.clear_cache()
    cache_dir._WARNED.clear()
    yield
    tangent_src.clear_cache()
    cache_dir._WARNED.clear()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """$TANGENT_SRC_CACHE pointed at a directory of this test's own (not created)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(path))
    return path


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """Write importable modules into a fresh directory; forget them afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written = []

    def write(name: str, source: str):
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        # a later version of the file must look newer to linecache/importlib
        stamp = path.stat().st_mtime + len(written) + 1
        os.utime(path, (stamp, stamp))
        written.append(name)
        importlib.invalidate_caches()
        return path

    yield write
    for name in written:
        sys.modules.pop(name, None)
