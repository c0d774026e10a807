"""The JupyterLab sidebar and the notebook panels in the user's language (issue 36): the catalogs under
``jupyter_trio/locale``.

Every literal the extension passes to ``trans.__()`` / ``_n()`` / ``_p()`` (and every schema title and
description), and every literal the panels (``jupyter_trio/widgets``) pass to ``self.trans.__()`` / ``_n()`` /
``_p()``, has a translation in each catalog, so no untranslated string ships; the Jed ``.json`` that
JupyterLab loads is the conversion of the ``.po`` (``labextension/scripts/i18n.py``); no message is built
at run time (extraction must see it); and jupyterlab_server finds the catalog through the
``jupyterlab.locale`` entry point of the installed package.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "jupyter_trio" / "locale"
SCHEMA = ROOT / "labextension" / "schema" / "plugin.json"
CATALOGS = sorted(LOCALE.glob("*/LC_MESSAGES/jupyter_trio.po"))


def _load_i18n():
    spec = importlib.util.spec_from_file_location("trio_i18n", ROOT / "labextension" / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


i18n = _load_i18n()


def test_there_is_a_simplified_chinese_catalog():
    assert LOCALE / "zh_CN" / "LC_MESSAGES" / "jupyter_trio.po" in CATALOGS


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: p.parts[-3])
def test_every_message_has_a_translation(po):
    messages = i18n.extract_all()
    assert len(messages) > 100  # the extraction sees the sidebar, not nothing
    gaps = i18n.missing(messages, po.read_text(encoding="utf-8"))
    assert not gaps, f"untranslated in {po.relative_to(ROOT)}: " + "; ".join(
        f"{m.context + ' | ' if m.context else ''}{m.msgid}" for m in gaps
    )


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: p.parts[-3])
def test_the_json_is_the_conversion_of_the_po(po):
    committed = json.loads(po.with_suffix(".json").read_text(encoding="utf-8"))
    expected = i18n.po_to_jed(po.read_text(encoding="utf-8"))
    assert committed == expected, f"run: python labextension/scripts/i18n.py json {po.relative_to(ROOT)}"
    assert committed[""]["domain"] == "jupyter_trio"
    # JupyterLab's Gettext reads a plural entry only with two or more strings
    _, entries = i18n.parse_po(po.read_text(encoding="utf-8"))
    for e in entries:
        if e.plural is not None:
            assert len(committed[e.msgid]) >= 2


def test_no_catalog_keeps_a_message_the_code_no_longer_has():
    known = {(m.context, m.msgid) for m in i18n.extract_all()}
    for po in CATALOGS:
        _, entries = i18n.parse_po(po.read_text(encoding="utf-8"))
        stale = [e.msgid for e in entries if (e.context, e.msgid) not in known]
        assert not stale, f"{po.relative_to(ROOT)}: {stale}"


def test_messages_are_string_literals():
    for path in i18n.source_files():
        i18n.extract_file(path)  # raises on a non-literal


def test_the_extraction_covers_the_notebook_panels():
    files = i18n.source_files()
    assert {p.name for p in files} >= {"model.ts", "tasks.py", "datasets.py", "logs.py", "labels.py"}
    from_panels = [m for p in files if p.suffix == ".py" for m in i18n.extract_file(p)]
    assert i18n.Message("", "create batch") in from_panels
    assert i18n.Message("", "%1 task", "%1 tasks") in from_panels
    # the panels' task states are the sidebar's entries, not copies of them
    assert i18n.Message("task state", "running") in from_panels
    messages = i18n.extract_all()
    assert len(messages) == len({(m.context, m.msgid) for m in messages})


@pytest.mark.parametrize(
    "source",
    [
        "trans.__(`Log of ${name}`)",
        "trans.__(label)",
        "trans.__('Log of ' + name)",
        "this.trans._n('%1 line', plural, n)",
        "trans._p(context, 'running')",
    ],
)
def test_a_message_built_at_run_time_is_refused(source):
    with pytest.raises(i18n.ExtractionError):
        i18n.extract_source(source)


@pytest.mark.parametrize(
    "source",
    [
        'self.trans.__(f"created {name}")',
        "self.trans.__(label)",
        'trans.__("Log of " + name)',
        'trans._n("%1 line", plural, n)',
        'trans._p(context, "running")',
        'trans._p("task state")',
    ],
)
def test_a_python_message_built_at_run_time_is_refused(source):
    with pytest.raises(i18n.ExtractionError):
        i18n.extract_python(source)


def test_python_extraction_reads_escapes_contexts_and_plurals_in_source_order():
    source = (
        "def f(trans, n):\n"
        "    # trans.__(not_a_call_in_a_comment)\n"
        '    """trans.__(nor in a docstring)"""\n'
        "    trans._n(\n"
        '        "one line",\n'
        '        "%1 lines",\n'
        "        n,\n"
        "    )\n"
        '    a = trans.__("\\"%1\\" is not it\\tnow", n)\n'
        '    return a, trans._p("task state", "it\'s \\u00e9 \\x41\\n")\n'
        'trans.__(r"\\d+ " "joined")\n'
    )
    assert i18n.extract_python(source) == [
        i18n.Message("", "one line", "%1 lines"),
        i18n.Message("", '"%1" is not it\tnow'),
        i18n.Message("task state", "it's é A\n"),
        i18n.Message("", "\\d+ joined"),
    ]


def test_extraction_reads_escapes_contexts_and_plurals():
    found = i18n.extract_source(
        "trans.__('\"%1\" is not it', x); trans._n(\n  'one line',\n  \"%1 lines\", n);"
        " trans._p('task state', 'it\\'s \\u00e9')"
    )
    assert found == [
        i18n.Message("", '"%1" is not it'),
        i18n.Message("", "one line", "%1 lines"),
        i18n.Message("task state", "it's é"),
    ]


def test_the_schema_is_translated_in_our_domain():
    """jupyterlab_server translates a schema's strings in the domain it names, with these contexts."""
    from jupyterlab_server.translation_utils import translator

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["jupyter.lab.internationalization"]["domain"] == "jupyter_trio"

    class Recorder:
        def __init__(self):
            self.seen = set()

        def pgettext(self, context, msgid):
            self.seen.add((context, msgid))
            return msgid

    recorder = Recorder()
    translator._translate_schema_strings(recorder, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert recorder.seen == {(m.context, m.msgid) for m in i18n.schema_messages(schema)}


def test_jupyterlab_server_finds_the_catalog():
    points = {e.name: e.value for e in importlib.metadata.entry_points(group="jupyterlab.locale")}
    assert points.get("jupyter_trio") == "jupyter_trio", (
        "the jupyterlab.locale entry point is not installed: pip install -e . --no-deps"
    )
    from jupyterlab_server.translation_utils import get_installed_packages_locale

    data, message = get_installed_packages_locale("zh_CN")
    assert not message.strip(), message
    catalog = data["jupyter_trio"]
    assert catalog[""]["language"] == "zh-CN"
    assert catalog["Datasets"] == ["数据集"]
    assert catalog["task state\u0004running"] == ["运行中"]
