"""The wheel ships the JupyterLab extension prebuilt: built from this checkout, installed into a fresh venv,
``jupyter labextension list`` reports it enabled and OK — no ``jupyter lab build`` anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
PREFIX = "share/jupyter/labextensions/jupyter-trio"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if not (REPO / "jupyter_trio" / "labextension" / "package.json").is_file():
        pytest.fail("the labextension is not built: ./dev builds it (npm run build:prod in labextension/)")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [built] = out.glob("jupyter_trio-*.whl")
    return built


def test_wheel_holds_the_prebuilt_extension(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    data = [n.split(".data/data/", 1)[1] for n in names if ".data/data/" in n]
    assert f"{PREFIX}/package.json" in data
    assert f"{PREFIX}/install.json" in data
    assert f"{PREFIX}/schemas/jupyter-trio/plugin.json" in data
    assert any(n.startswith(f"{PREFIX}/static/remoteEntry.") for n in data)
    assert "etc/jupyter/jupyter_server_config.d/jupyter_trio.json" in data


def test_labextension_list_reports_it_ok_from_a_fresh_venv(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)  # ensurepip: offline
    python = env_dir / "bin" / "python"
    # the wheel goes into the fresh venv; its dependencies (jupyterlab...) are borrowed from ours through a
    # .pth file placed after the fresh site-packages, so nothing is downloaded and ours cannot shadow it
    fresh_site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    # the fresh venv's own pip (ours, even with --prefix, would first uninstall this checkout's install)
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True,
        timeout=300,
    )
    (fresh_site / "zz_borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH")}
    env.update(JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    where = subprocess.check_output(
        [python, "-c", "import jupyter_trio, sys; print(jupyter_trio.__file__); print(sys.prefix)"],
        text=True,
        env=env,
        cwd=tmp_path,
    ).split()
    assert where[0].startswith(str(env_dir)), where  # the wheel's copy, not this checkout

    def listed(module: str) -> str:  # what `jupyter <module> list` prints (both streams), in the fresh venv
        done = subprocess.run(
            [python, "-m", module, "list"], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path
        )
        return done.stdout + done.stderr

    text = listed("jupyterlab.labextensions")
    line = next((x for x in text.splitlines() if "jupyter-trio" in x), "")
    assert str(env_dir / "share" / "jupyter" / "labextensions") in text, text
    assert "enabled" in line and "OK" in line and "(python, jupyter-trio)" in line, text
    servers = listed("jupyter_server.extension.serverextension")
    assert "jupyter_trio" in servers and "enabled" in servers
