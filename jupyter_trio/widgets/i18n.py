"""The panels' words in the user's language: JupyterLab's language (its translation setting, which the
panels read from the server they talk to), through the catalog the sidebar uses
(``jupyter_trio/locale/<locale>/LC_MESSAGES/jupyter_trio.json``, Jed's JSON as JupyterLab loads it).

Runs in the kernel. A :class:`Translator` has the method names of JupyterLab's ``TranslationBundle``
(``__``, ``_n``, ``_p``, ``_np``), so ``labextension/scripts/i18n.py`` extracts the panels' messages with the
sidebar's; ``%1``, ``%2``... take arguments the way JupyterLab does (in ``_n``/``_np``, ``%1`` is ``n``).
An unknown locale, a missing catalog or a server that cannot say keeps the English the code is written in.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import weakref
from functools import cache
from pathlib import Path
from typing import Any

DOMAIN = "jupyter_trio"
LOCALES = Path(__file__).resolve().parent.parent / "locale"
SETTING = "lab/api/settings/@jupyterlab/translation-extension:plugin"
CONTEXT_DELIMITER = "\u0004"  # Jed's key of a message with a context: context + EOT + msgid
LOCALE_TTL_S = 30.0  # how long panels of one client trust the setting they read (a dashboard reads it once)
_ARG = re.compile(r"%(\d+)")
_NPLURALS = re.compile(r"nplurals\s*=\s*(\d+)")


def _format(text: str, args: tuple[Any, ...]) -> str:
    if not args:
        return text
    return _ARG.sub(lambda m: str(args[int(m[1]) - 1]) if 0 < int(m[1]) <= len(args) else m[0], text)


class Translator:
    """gettext over one Jed catalog with JupyterLab's method names; English where the catalog has none."""

    def __init__(self, catalog: dict[str, Any] | None = None, locale: str = "en"):
        self.catalog = catalog or {}
        self.locale = locale
        meta = self.catalog.get("") if isinstance(self.catalog.get(""), dict) else {}
        found = _NPLURALS.search(str(meta.get("plural_forms", "")))
        self.nplurals = int(found[1]) if found else 2

    def _lookup(self, key: str, plural: bool) -> list[str] | None:
        forms = self.catalog.get(key)
        # as JupyterLab's Gettext: a singular entry has one string, a plural one two or more
        if not isinstance(forms, list) or not forms or not forms[0] or (len(forms) > 1) != plural:
            return None
        return forms

    def _plural(self, key: str, singular: str, plural: str, n: int, args: tuple[Any, ...]) -> str:
        forms = self._lookup(key, plural=True)
        if forms is None:  # English: one or many
            return _format(singular if n == 1 else plural, (n, *args))
        # zh and the like have one form; two-form languages use the Germanic rule (the only other shipped)
        index = 0 if self.nplurals == 1 or n == 1 else 1
        return _format(forms[index] if index < len(forms) and forms[index] else forms[0], (n, *args))

    def __(self, msgid: str, *args: Any) -> str:
        """``msgid`` translated, ``%1``... replaced by ``args``."""
        forms = self._lookup(msgid, plural=False)
        return _format(forms[0] if forms else msgid, args)

    def _n(self, singular: str, plural: str, n: int, *args: Any) -> str:
        """The form for ``n``; ``%1`` is ``n``, ``%2``... are ``args``."""
        return self._plural(singular, singular, plural, n, args)

    def _p(self, context: str, msgid: str, *args: Any) -> str:
        """``msgid`` in ``context``: one English word that means several things, each with its own entry."""
        forms = self._lookup(f"{context}{CONTEXT_DELIMITER}{msgid}", plural=False)
        return _format(forms[0] if forms else msgid, args)

    def _np(self, context: str, singular: str, plural: str, n: int, *args: Any) -> str:
        """``_n`` in ``context``."""
        return self._plural(f"{context}{CONTEXT_DELIMITER}{singular}", singular, plural, n, args)


@cache
def catalog(locale: str) -> dict[str, Any]:
    """The catalog of ``locale`` (``zh_CN``, ``zh-CN`` and ``zh_cn`` alike; ``""`` holds its metadata), or {}
    when none is shipped."""
    wanted = locale.replace("-", "_").lower()
    if not LOCALES.is_dir():
        return {}
    for folder in LOCALES.iterdir():
        if folder.name.lower() == wanted:
            path = folder / "LC_MESSAGES" / f"{DOMAIN}.json"
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def jupyterlab_locale(client: Any) -> str:
    """JupyterLab's language as its translation setting says (``default``/missing: English). The
    ``TRIO_LOCALE`` variable, when set, wins (a kernel outside JupyterLab, a test)."""
    if os.environ.get("TRIO_LOCALE"):
        return os.environ["TRIO_LOCALE"]
    try:
        reply = client.call("GET", SETTING)
    except Exception:  # no JupyterLab on this server (a bare jupyter server), or the setting unreadable
        return "en"
    settings = (reply.get("settings") or {}) if isinstance(reply, dict) else {}
    locale = settings.get("locale") or "default"
    return "en" if locale in ("default", "en", "en_US", "en-US") else str(locale)


_seen: weakref.WeakKeyDictionary[Any, tuple[float, str]] = weakref.WeakKeyDictionary()
_seen_lock = threading.Lock()


def _client_locale(client: Any) -> str:
    """``jupyterlab_locale``, read once per client for ``LOCALE_TTL_S``: a dashboard's panels share one
    request, and a panel made after the language changed in JupyterLab follows it."""
    if os.environ.get("TRIO_LOCALE"):
        return os.environ["TRIO_LOCALE"]
    now = time.monotonic()
    try:
        with _seen_lock:
            seen = _seen.get(client)
    except TypeError:  # a client that cannot be weakly referenced: ask every time
        return jupyterlab_locale(client)
    if seen is not None and now - seen[0] < LOCALE_TTL_S:
        return seen[1]
    locale = jupyterlab_locale(client)
    with _seen_lock:
        _seen[client] = (now, locale)
    return locale


def translator_for(client: Any) -> Translator:
    """The translator of JupyterLab's language on ``client``'s server (see :func:`jupyterlab_locale`)."""
    locale = _client_locale(client)
    return Translator(catalog(locale), locale)
