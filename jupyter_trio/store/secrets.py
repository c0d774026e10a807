"""The workspace's secrets (signing keys), kept where no route serves them.

Every server of a workspace must sign and check with the same keys (run tokens survive a restart, archive
links stay valid until they expire), so the keys live in the workspace, in its private folder ``.trio/``
(mode 0700, each key 0600). The files API never serves a hidden path (any part starting with ``.``:
``services/file_preview.py``), and an upload never lands on one (``services/ingest.py``) — a rule, not a
list of names, so a new secret put here is covered without another check.

Keys from before this folder (``ingest.key``, ``archive.key`` at the workspace's top) are moved in.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

PRIVATE = ".trio"


def private_folder(root: Path) -> Path:
    folder = Path(root) / PRIVATE
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def workspace_secret(root: Path, name: str) -> bytes:
    """The secret ``name`` of the workspace at ``root``, made once (0600) by whichever server gets there
    first."""
    path = private_folder(root) / name
    legacy = Path(root) / name
    if legacy.is_file() and not path.exists():
        try:
            os.replace(legacy, path)  # keep its value: tokens and links signed with it stay valid
        except OSError:
            pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    os.chmod(path, 0o600)
    for _ in range(50):  # another server may have created it a moment ago and not written it yet
        key = path.read_text().strip()
        if key:
            return key.encode()
        time.sleep(0.02)
    raise RuntimeError(f"workspace key {path} is empty; delete it to make a new one")
