"""The directory generated modules are written to: where it is, who may write it, and what
happens when it cannot be used.

Another local user must not be able to make this process run their code (a module or a
numba cache file planted in the cache, a symbolic link under a predictable name) or read
the generated code; an unusable cache (another user's, group/world-writable, a symbolic
link, a file, read-only, full) means the code is kept in memory after one CacheWarning,
never a raw OSError. Every gradient here is checked against central finite differences.
CI runs as root, so "another user" is simulated with os.chown to uid 12345.
"""
from __future__ import annotations

import errno
import os
import stat
import warnings

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src as ts
from tangent_src import cli
from tangent_src.backend import cache_dir
from tangent_src.errors import CacheWarning

OTHER_UID = 12345
GAIN = 1.5


def bump(x):
    return np.tanh(x) * GAIN + x * x


def loss(x):
    total = 0.0
    for k in range(3):
        total = total + bump(x * (k + 1.0)) / (k + 1.0)
    return total


def second(x):
    """d2/dx2 of loss by central differences of central differences."""
    return numerical_grad(lambda t: numerical_grad(loss, (t,), eps=1e-5), (x,), eps=1e-4)


def run_gradients() -> None:
    """First and second derivatives (the second re-reads the first's generated source)."""
    for x in (0.3, -0.8):
        np.testing.assert_allclose(ts.grad(loss)(x), numerical_grad(loss, (x,)), rtol=1e-6)
        np.testing.assert_allclose(ts.grad(ts.grad(loss))(x), second(x), rtol=1e-4)


pytestmark = pytest.mark.usefixtures("fresh_cache")


def cache_warnings(record) -> list:
    return [w for w in record if issubclass(w.category, CacheWarning)]


def generated_files(path) -> list:
    return sorted(p.name for p in path.iterdir() if p.name.endswith(".py"))


def expected_file_names(tmp_path, monkeypatch) -> list:
    """The names the generated modules get (learned in a directory of their own)."""
    probe = tmp_path / "probe"
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(probe))
    run_gradients()
    ts.clear_cache()
    return generated_files(probe)


# --------------------------------------------------------------------------- location


def test_default_is_per_user_under_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv("TANGENT_SRC_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir.location() == str(tmp_path / "xdg" / "tangent_src")
    old = os.umask(0)  # the modes must not depend on the umask
    try:
        run_gradients()
    finally:
        os.umask(old)
    path = tmp_path / "xdg" / "tangent_src"
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert generated_files(path)
    for file in path.iterdir():
        assert stat.S_IMODE(file.lstat().st_mode) == 0o600, file
    assert (path / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172")


def test_default_without_xdg_is_home_dot_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("TANGENT_SRC_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the spec: absolute only
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir.location() == str(tmp_path / "home" / ".cache" / "tangent_src")
    run_gradients()
    assert generated_files(tmp_path / "home" / ".cache" / "tangent_src")
    assert stat.S_IMODE((tmp_path / "home" / ".cache").stat().st_mode) == 0o700


def test_tangent_src_cache_is_honoured(cache):
    run_gradients()
    assert generated_files(cache)
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]


def test_generated_module_is_in_the_cache(cache):
    df = ts.grad(loss)
    df(0.3)
    assert os.path.dirname(df._last.path) == str(cache)


# --------------------------------------------------------------------------- refusals


def refuse(cache, prepare, tmp_path, monkeypatch, planted: bool = True) -> list:
    """Make `cache` unusable with `prepare`, plant malicious modules under the names the
    generated code gets, then differentiate: the values must be right, the planted code
    must not run, nothing may be written there, and exactly one CacheWarning is issued."""
    names = expected_file_names(tmp_path, monkeypatch)
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(cache))
    marker = tmp_path / "planted_code_ran"
    cache.mkdir(exist_ok=True)
    if planted:
        evil = (f"open({str(marker)!r}, 'w').close()\n"
                "def dloss(x, dloss_out=1.0):\n    return 1000.0\n"
                "def ddloss(x, *args, **kwargs):\n    return 1000.0\n")
        for name in names:
            (cache / name).write_text(evil)
        pycache = cache / "__pycache__"
        pycache.mkdir()
        (pycache / "planted.nbi").write_bytes(b"not a real pickle")
    before = {p.name: p.read_bytes() for p in cache.iterdir() if p.is_file()}
    prepare(cache)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run_gradients()
    found = cache_warnings(record)
    assert len(found) == 1, [str(w.message) for w in found]
    assert not marker.exists()
    after = {p.name: p.read_bytes() for p in cache.iterdir() if p.is_file()}
    assert after == before
    return found


def test_another_users_directory_is_not_used(cache, tmp_path, monkeypatch):
    found = refuse(cache, lambda p: os.chown(p, OTHER_UID, -1), tmp_path, monkeypatch)
    assert f"owned by uid {OTHER_UID}" in str(found[0].message)
    assert str(cache) in str(found[0].message)


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702, 0o1777])
def test_group_or_world_writable_directory_is_not_used(cache, tmp_path, monkeypatch, mode):
    found = refuse(cache, lambda p: os.chmod(p, mode), tmp_path, monkeypatch)
    assert "writable by group or others" in str(found[0].message)


def test_symbolic_link_to_a_directory_is_not_used(cache, tmp_path, monkeypatch):
    """Even a link to a directory of the user's own: it could be re-pointed."""
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)

    def link(path):
        for item in path.iterdir():
            if item.is_dir():
                item.rename(target / item.name)
            else:
                item.rename(target / item.name)
        path.rmdir()
        path.symlink_to(target)
    found = refuse(cache, link, tmp_path, monkeypatch)
    assert "symbolic link" in str(found[0].message)


def test_symbolic_link_to_another_users_directory_is_not_used(cache, tmp_path, monkeypatch):
    target = tmp_path / "theirs"
    target.mkdir(mode=0o755)
    os.chown(target, OTHER_UID, -1)
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(cache))
    cache.symlink_to(target)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run_gradients()
    assert len(cache_warnings(record)) == 1
    assert list(target.iterdir()) == []


def test_directory_under_another_users_parent_is_not_used(tmp_path, monkeypatch):
    """They could rename the user's own directory away and put theirs in its place."""
    parent = tmp_path / "theirs"
    parent.mkdir(mode=0o755)
    cache = parent / "cache"
    cache.mkdir(mode=0o700)
    os.chown(parent, OTHER_UID, -1)
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(cache))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run_gradients()
    found = cache_warnings(record)
    assert len(found) == 1 and f"parent {parent}" in str(found[0].message)
    assert list(cache.iterdir()) == []


def test_directory_through_another_users_symbolic_link_is_not_used(tmp_path, monkeypatch):
    """A link they own (in a sticky directory, say) can be re-pointed at their directory."""
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    os.lchown(link, OTHER_UID, -1)
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(link / "cache"))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run_gradients()
    found = cache_warnings(record)
    assert len(found) == 1 and "symbolic link owned by uid" in str(found[0].message)
    assert not (real / "cache").exists() or list((real / "cache").iterdir()) == []


def test_sticky_world_writable_parent_is_fine(tmp_path, monkeypatch):
    """Like /tmp: others can write there, but not rename the user's entries."""
    parent = tmp_path / "shared"
    parent.mkdir()
    os.chmod(parent, 0o1777)
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(parent / "mine"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        run_gradients()
    assert generated_files(parent / "mine")


@pytest.mark.parametrize("layout", ["file", "under a file"])
def test_cache_path_that_is_a_file(tmp_path, monkeypatch, layout):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory\n")
    path = blocker if layout == "file" else blocker / "cache"
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(path))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run_gradients()
    assert len(cache_warnings(record)) == 1
    assert blocker.read_text() == "not a directory\n"


def test_warned_once_for_many_gradients(cache, tmp_path, monkeypatch):
    cache.mkdir(mode=0o700)
    os.chown(cache, OTHER_UID, -1)

    def other(x):
        return np.cos(x) * x
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run_gradients()
        np.testing.assert_allclose(ts.grad(other)(0.2), numerical_grad(other, (0.2,)),
                                   rtol=1e-6)
        np.testing.assert_allclose(ts.value_and_grad(other)(0.5)[1],
                                   numerical_grad(other, (0.5,)), rtol=1e-6)
    found = cache_warnings(record)
    assert len(found) == 1
    assert found[0].filename == __file__  # shown at the user's line, not inside tangent_src


# --------------------------------------------------------------------------- planted files


def test_symlinks_on_predictable_temporary_names_are_not_followed(cache, tmp_path,
                                                                  monkeypatch):
    """The old code wrote `<module>.py.<pid>.tmp` with open(): a symbolic link planted under
    that name made it overwrite any file the user owns."""
    names = expected_file_names(tmp_path, monkeypatch)
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(cache))
    cache.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    for name in names:
        for pid in {os.getpid(), os.getppid()}:
            (cache / f"{name}.{pid}.tmp").symlink_to(victim)
            (cache / f".{name}.{pid}.tmp").symlink_to(victim)
    run_gradients()
    assert victim.read_text() == "precious\n"
    for name in names:
        assert stat.S_ISREG((cache / name).lstat().st_mode)


def test_symlink_under_the_module_name_is_replaced_not_followed(cache, tmp_path,
                                                                 monkeypatch):
    """A link named like the generated module, pointing at code elsewhere: that code must
    neither run nor be differentiated (the old code found the name taken and read the
    link's target back as the module's source), and the target stays untouched."""
    names = expected_file_names(tmp_path, monkeypatch)
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(cache))
    cache.mkdir(mode=0o700)
    marker = tmp_path / "planted_code_ran"
    victim = tmp_path / "their_code.py"
    victim.write_text(f"open({str(marker)!r}, 'w').close()\n"
                      "def dloss(x, dloss_out=1.0):\n    return 1000.0 * x\n")
    before = victim.read_text()
    for name in names:
        (cache / name).symlink_to(victim)
    run_gradients()
    assert victim.read_text() == before and not marker.exists()
    for name in names:
        assert stat.S_ISREG((cache / name).lstat().st_mode)


def test_generated_source_is_never_read_back_from_the_file(cache):
    """Replacing a generated file after it was loaded (another process, an editor) does not
    change what a higher derivative differentiates."""
    df = ts.grad(loss)
    np.testing.assert_allclose(ts.grad(df)(0.3), second(0.3), rtol=1e-4)
    for name in generated_files(cache):
        text = (cache / name).read_text()
        (cache / name).write_text(text.replace("return ", "return 1000.0 * ") + "\n")
    # the inlined first derivative (already generated) is differentiated again, in
    # forward mode this time: its source comes from memory, not from the edited file
    forward = ts.autodiff(df, mode="forward")
    np.testing.assert_allclose(forward(0.3, 1.0), second(0.3), rtol=1e-4)


def test_a_corrupted_cache_file_is_rewritten(cache):
    run_gradients()
    names = generated_files(cache)
    for name in names:
        (cache / name).write_text("garbage\n")
    ts.clear_cache()
    run_gradients()
    for name in names:
        assert (cache / name).read_text() != "garbage\n"
        compile((cache / name).read_text(), name, "exec")


# --------------------------------------------------------------------------- faults


def _fail_in(directory, error: int):
    """A replacement for os.write failing with `error` on files inside `directory`."""
    real_write = os.write

    def write(fd, data):
        try:
            where = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            where = ""
        if where.startswith(str(directory)):
            raise OSError(error, os.strerror(error))
        return real_write(fd, data)
    return write


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
def test_full_disk_falls_back_to_memory_and_leaves_no_file(cache, monkeypatch, error):
    cache.mkdir(mode=0o700)
    monkeypatch.setattr(os, "write", _fail_in(cache, error))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run_gradients()
    found = cache_warnings(record)
    assert len(found) == 1 and os.strerror(error) in str(found[0].message)
    assert list(cache.iterdir()) == []  # no temporary file, no empty module


@pytest.mark.parametrize("error", [errno.EACCES, errno.EROFS, errno.ENOSPC])
def test_unwritable_directory_falls_back_to_memory(cache, monkeypatch, error):
    """Read-only or full (as root, permissions do not stop writes: simulated in mkstemp
    and in os.replace)."""
    import tempfile
    cache.mkdir(mode=0o700)

    def refuse(*args, **kwargs):
        raise OSError(error, os.strerror(error))
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run_gradients()
    assert len(cache_warnings(record)) == 1
    assert list(cache.iterdir()) == []


def test_failing_rename_leaves_no_temporary_file(cache, monkeypatch):
    cache.mkdir(mode=0o700)

    def refuse(src, dst, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "replace", refuse)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run_gradients()
    assert len(cache_warnings(record)) == 1
    assert list(cache.iterdir()) == []


def test_directory_cannot_be_created(tmp_path, monkeypatch):
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(tmp_path / "cache"))

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    monkeypatch.setattr(os, "mkdir", refuse)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run_gradients()
    assert len(cache_warnings(record)) == 1
    assert not (tmp_path / "cache").exists()


# --------------------------------------------------------------------------- size bound


def test_cache_is_pruned_to_its_bound(cache, monkeypatch):
    monkeypatch.setattr(cache_dir, "MAX_FILES", 12)
    monkeypatch.setattr(cache_dir, "PRUNE_EVERY", 1)
    cache.mkdir(mode=0o700)
    (cache / "notes.txt").write_text("the user's own file\n")
    (cache / "keep_me.py").write_text("x = 1\n")
    gradients = []
    for k in range(30):
        scale = 1.0 + k / 10.0

        def scaled(x, scale=scale):
            return np.sin(scale * x) * x
        df = ts.grad(scaled)
        np.testing.assert_allclose(df(0.4), numerical_grad(scaled, (0.4,)), rtol=1e-6)
        gradients.append((scaled, df))
    ours = [p for p in cache.iterdir() if cache_dir._OWN_FILE.match(p.name)]
    assert len(ours) <= 12
    assert (cache / "notes.txt").exists() and (cache / "keep_me.py").exists()
    # pruned modules still work, and can still be differentiated again (kept in memory)
    for scaled, df in gradients[:3]:
        np.testing.assert_allclose(df(-0.7), numerical_grad(scaled, (-0.7,)), rtol=1e-6)
        d2 = numerical_grad(lambda t, f=scaled: numerical_grad(f, (t,), eps=1e-5), (0.2,),
                            eps=1e-4)
        np.testing.assert_allclose(ts.grad(df)(0.2), d2, rtol=1e-4)


def test_prune_by_size(tmp_path):
    for k in range(10):
        path = tmp_path / f"f_{k:012x}.py"
        path.write_bytes(b"#" * 1000)
        os.utime(path, (1000 + k, 1000 + k))
    assert cache_dir.prune(str(tmp_path), max_files=100, max_bytes=4000) == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"f_{k:012x}.py" for k in (7, 8, 9)]


# --------------------------------------------------------------------------- CLI


def test_cli_cache_info_and_clear(cache, capsys):
    run_gradients()
    cache.joinpath("notes.txt").write_text("mine\n")
    count = len([p for p in cache.iterdir() if cache_dir._OWN_FILE.match(p.name)])
    assert count >= 2
    assert cli.main(["cache", "--info"]) == 0
    out = capsys.readouterr().out
    assert str(cache) in out and "usable" in out and f"files: {count}" in out
    assert cli.main(["cache", "--clear"]) == 0
    assert f"removed {count} file(s)" in capsys.readouterr().out
    assert [p.name for p in cache.iterdir()] == ["notes.txt", "CACHEDIR.TAG"] or \
        sorted(p.name for p in cache.iterdir()) == ["CACHEDIR.TAG", "notes.txt"]
    run_gradients()  # regenerated after clearing


def test_cli_refuses_to_clear_another_users_directory(cache, capsys):
    cache.mkdir(mode=0o755)
    planted = cache / "dloss_0123456789ab.py"
    planted.write_text("x = 1\n")
    os.chown(cache, OTHER_UID, -1)
    assert cli.main(["cache", "--clear"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tangent-src: error: not clearing") and err.count("\n") == 1
    assert planted.exists()
    assert cli.main(["cache", "--info"]) == 0
    assert f"not used: it is owned by uid {OTHER_UID}" in capsys.readouterr().out


def test_cli_second_order_with_an_unusable_cache_warns_on_one_line(cache, tmp_path, capsys):
    cache.mkdir(mode=0o777)
    os.chmod(cache, 0o777)
    module = tmp_path / "model.py"
    module.write_text("import numpy as np\n\ndef f(x):\n    return np.sin(x) * x\n")
    out = tmp_path / "ddf.py"
    assert cli.main(["grad", f"{module}:f", "--order", "2", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("tangent-src: warning: tangent_src cache") and err.count("\n") == 1
    namespace: dict = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)
    x = 0.6
    expected = numerical_grad(lambda t: numerical_grad(lambda s: np.sin(s) * s, (t,),
                                                       eps=1e-5), (x,), eps=1e-4)
    np.testing.assert_allclose(namespace["ddf"](x), expected, rtol=1e-4)
    assert list(cache.iterdir()) == []


def test_cli_output_is_never_half_written(tmp_path, monkeypatch, capsys):
    module = tmp_path / "model.py"
    module.write_text("import numpy as np\n\ndef f(x):\n    return np.sin(x) * x\n")
    out = tmp_path / "df.py"
    out.write_text("previous\n")
    real_replace = os.replace

    def full(src, dst, **kwargs):
        if str(dst) == str(out):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(src, dst, **kwargs)
    monkeypatch.setattr(os, "replace", full)
    assert cli.main(["grad", f"{module}:f", "-o", str(out)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["df.py", "model.py"]


# --------------------------------------------------------------------------- numba


def test_numba_cache_stays_in_the_checked_directory(cache, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)

    def cubic(x):
        return x * x * x + np.sin(x)
    df = ts.grad(cubic, backend="numba")
    np.testing.assert_allclose(df(0.7), numerical_grad(cubic, (0.7,)), rtol=1e-6)
    pycache = cache / "__pycache__"
    assert stat.S_IMODE(pycache.stat().st_mode) == 0o700
    assert any(p.name.endswith(".nbi") for p in pycache.iterdir())


def test_numba_with_an_unusable_cache_compiles_in_memory(cache, monkeypatch):
    cache.mkdir(mode=0o700)
    os.chown(cache, OTHER_UID, -1)

    def quartic(x):
        return x * x * x * x - np.cos(x)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        df = ts.grad(quartic, backend="numba")
        np.testing.assert_allclose(df(0.7), numerical_grad(quartic, (0.7,)), rtol=1e-6)
    assert len(cache_warnings(record)) == 1
    assert list(cache.iterdir()) == []
