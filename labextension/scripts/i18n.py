"""The sidebar's translations, with the standard library only: extract, check, convert.

The strings are the literal arguments of ``trans.__()`` / ``_n()`` / ``_p()`` / ``_np()`` in ``src/`` (the
sidebar) and in ``jupyter_trio/widgets/*.py`` (the notebook panels, whose ``Translator`` has the same
method names), and the schema's titles and descriptions; a catalog is a gettext ``.po`` under
``jupyter_trio/locale/<lang>/LC_MESSAGES/jupyter_trio.po``, and JupyterLab loads the Jed-format
``jupyter_trio.json`` next to it (what JupyterLab's language packs ship)::

    python labextension/scripts/i18n.py pot            # the template: every string, empty translations
    python labextension/scripts/i18n.py missing PO     # strings the catalog lacks or leaves empty
    python labextension/scripts/i18n.py json PO        # write the .json next to the .po
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

LABEXTENSION = Path(__file__).resolve().parent.parent
SRC = LABEXTENSION / "src"
SCHEMA = LABEXTENSION / "schema" / "plugin.json"
WIDGETS = LABEXTENSION.parent / "jupyter_trio" / "widgets"
DOMAIN = "jupyter_trio"

# the bundle's methods: how many leading arguments are message strings (context first for _p/_np)
STRING_ARGS = {"__": 1, "_n": 2, "_p": 2, "_np": 3}
CALL = re.compile(r"\.(__|_n|_p|_np)\(")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


@dataclass(frozen=True)
class Message:
    """One translatable string: its context ('' for none), the msgid and, for a plural, the msgid_plural."""

    context: str
    msgid: str
    plural: str | None = None


class ExtractionError(ValueError):
    """A translation call whose message is not a plain string literal (so no tool can extract it)."""


def _js_string(text: str, start: int) -> tuple[str, int]:
    """The JavaScript string literal at ``text[start]`` (a quote) and the index after it."""
    quote = text[start]
    out = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\n":
            break
        if c == "\\":
            nxt = text[i + 1]
            if nxt == "u" and text[i + 2] == "{":
                end = text.index("}", i)
                out.append(chr(int(text[i + 3 : end], 16)))
                i = end + 1
                continue
            if nxt == "u":
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt == "x":
                out.append(chr(int(text[i + 2 : i + 4], 16)))
                i += 4
                continue
            if nxt == "\n":  # a line continuation
                i += 2
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    raise ExtractionError(f"unterminated string at offset {start}")


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def extract_source(text: str, where: str = "<source>") -> list[Message]:
    """The messages of one TypeScript file; ExtractionError for a message that is not a string literal
    (a template string, a variable, a concatenation)."""
    found = []
    for m in CALL.finditer(text):
        method = m.group(1)
        i = m.end()
        strings = []
        for _ in range(STRING_ARGS[method]):
            while text[i].isspace():
                i += 1
            if text[i] not in "'\"":
                found_there = text[i : i + 20]
                raise ExtractionError(
                    f"{where}:{_line(text, i)}: {method}() needs a string literal here, not {found_there!r}"
                )
            value, i = _js_string(text, i)
            strings.append(value)
            while text[i].isspace():
                i += 1
            if text[i] not in ",)":
                raise ExtractionError(
                    f"{where}:{_line(text, i)}: {method}() message must be one string literal "
                    f"(no concatenation): {text[i : i + 20]!r}"
                )
            i += 1
            if text[i - 1] == ")" and len(strings) < STRING_ARGS[method]:
                raise ExtractionError(f"{where}:{_line(text, i)}: {method}() lacks a message argument")
        context = strings.pop(0) if method in ("_p", "_np") else ""
        found.append(Message(context, strings[0], strings[1] if len(strings) > 1 else None))
    return found


def extract_python(text: str, where: str = "<source>") -> list[Message]:
    """The messages of one Python file, the calls ``x.__(...)``, ``x._n(...)``, ``x._p(...)``, ``x._np(...)``
    read with Python's own parser (so every escape, prefix and implicit concatenation means what Python says);
    ExtractionError for a message that is not a plain string literal (an f-string, a variable, a ``+``)."""
    found: list[tuple[int, int, Message]] = []
    for node in ast.walk(ast.parse(text, where)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in STRING_ARGS
        ):
            continue
        method = node.func.attr
        wanted = node.args[: STRING_ARGS[method]]
        if len(wanted) < STRING_ARGS[method]:
            raise ExtractionError(f"{where}:{node.lineno}: {method}() lacks a message argument")
        strings = []
        for arg in wanted:
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                raise ExtractionError(
                    f"{where}:{arg.lineno}: {method}() needs a string literal here, not {ast.unparse(arg)!r}"
                )
            strings.append(arg.value)
        context = strings.pop(0) if method in ("_p", "_np") else ""
        message = Message(context, strings[0], strings[1] if len(strings) > 1 else None)
        found.append((node.lineno, node.col_offset, message))
    return [message for _, _, message in sorted(found, key=lambda f: f[:2])]  # ast.walk goes breadth first


def extract_file(path: Path, where: str | None = None) -> list[Message]:
    """The messages of one source file, TypeScript or Python."""
    text = path.read_text(encoding="utf-8")
    where = where or str(path)
    return extract_python(text, where) if path.suffix == ".py" else extract_source(text, where)


def source_files(src: Path = SRC, widgets: Path = WIDGETS) -> list[Path]:
    """The sidebar's sources (not its tests), then the notebook panels' modules."""
    sidebar = sorted(
        p
        for p in src.rglob("*")
        if p.suffix in (".ts", ".tsx") and "__tests__" not in p.parts and p.is_file()
    )
    return sidebar + sorted(widgets.glob("*.py"))


def schema_messages(schema: dict) -> list[Message]:
    """The schema strings JupyterLab translates (jupyterlab_server's default selectors): the schema's own
    title and description (context ``schema``), its properties' titles and descriptions and the setting
    icon's label (context ``settings``)."""
    found = [Message("schema", schema[key]) for key in ("title", "description") if key in schema]
    if "jupyter.lab.setting-icon-label" in schema:
        found.append(Message("settings", schema["jupyter.lab.setting-icon-label"]))
    for prop in schema.get("properties", {}).values():
        found += [Message("settings", prop[key]) for key in ("title", "description") if key in prop]
    return found


def extract_all(src: Path = SRC, schema: Path = SCHEMA, widgets: Path = WIDGETS) -> list[Message]:
    """Every message of the sources (sidebar, then panels) and the schema, each once, in order of first
    use."""
    found: dict[tuple[str, str], Message] = {}
    for path in source_files(src, widgets):
        for msg in extract_file(path, str(path.relative_to(src.parent.parent))):
            found.setdefault((msg.context, msg.msgid), msg)
    for msg in schema_messages(json.loads(schema.read_text(encoding="utf-8"))):
        found.setdefault((msg.context, msg.msgid), msg)
    return list(found.values())


# --- .po files ---------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One .po entry: msgstr holds one string, or one per plural form."""

    context: str
    msgid: str
    plural: str | None
    msgstr: list[str]


def _po_string(s: str) -> str:
    if not (s.startswith('"') and s.endswith('"')):
        raise ValueError(f"not a .po string: {s!r}")
    out, i, body = [], 0, s[1:-1]
    while i < len(body):
        if body[i] == "\\":
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def parse_po(text: str) -> tuple[dict[str, str], list[Entry]]:
    """The header (``Language``, ``Plural-Forms``...) and the entries of a .po file (fuzzy ones left out)."""
    entries: list[Entry] = []
    fields: dict[str, str] = {}
    key: str | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal fields, fuzzy
        if "msgid" in fields and not fuzzy:
            forms = sorted((k for k in fields if k.startswith("msgstr[")), key=lambda k: int(k[7:-1]))
            msgstr = [fields[k] for k in forms] if forms else [fields.get("msgstr", "")]
            entries.append(
                Entry(fields.get("msgctxt", ""), fields["msgid"], fields.get("msgid_plural"), msgstr)
            )
        fields, fuzzy = {}, False

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
            key = None
        elif line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
        elif line.startswith('"'):
            if key is None:
                raise ValueError(f"a continuation line with no keyword: {raw!r}")
            fields[key] += _po_string(line)
        else:
            keyword, _, rest = line.partition(" ")
            if keyword in ("msgid", "msgctxt") and "msgid" in fields:
                flush()
            key = keyword
            fields[key] = _po_string(rest.strip())
    flush()
    header: dict[str, str] = {}
    if entries and entries[0].msgid == "" and not entries[0].context:
        for line in entries.pop(0).msgstr[0].splitlines():
            name, _, value = line.partition(":")
            header[name.strip()] = value.strip()
    return header, entries


def po_to_jed(text: str, domain: str = DOMAIN) -> dict:
    """The Jed 2.x JSON JupyterLab's translation manager loads (the shape of a language pack's .json):
    ``""`` holds the metadata, every other key is ``msgid`` or ``context\\u0004msgid`` with its translations.
    Untranslated entries are left out, so the English shows."""
    header, entries = parse_po(text)
    plural_forms = header.get("Plural-Forms", "nplurals=2; plural=(n != 1);")
    nplurals = int(re.search(r"nplurals\s*=\s*(\d+)", plural_forms).group(1))
    data: dict = {
        "": {
            "domain": domain,
            "language": header["Language"].replace("_", "-"),
            "plural_forms": plural_forms,
            "version": header.get("Project-Id-Version", "").split()[-1],
        }
    }
    for e in entries:
        if not all(e.msgstr) or not e.msgstr:
            continue
        key = f"{e.context}\u0004{e.msgid}" if e.context else e.msgid
        if e.plural is None:
            data[key] = e.msgstr[:1]
        else:
            # JupyterLab's Gettext takes a plural entry for one only with two or more strings, even where
            # the language has one form (zh: nplurals=1): pad as the language packs do
            forms = e.msgstr[:nplurals]
            data[key] = forms + [""] * (2 - len(forms)) if len(forms) < 2 else forms
    return data


def write_json(po: Path, domain: str = DOMAIN) -> Path:
    out = po.with_suffix(".json")
    data = po_to_jed(po.read_text(encoding="utf-8"), domain)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out


def _po_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def pot(messages: list[Message]) -> str:
    """A .pot template of these messages."""
    lines = [
        'msgid ""',
        'msgstr ""',
        '"Project-Id-Version: jupyter-trio\\n"',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        "",
    ]
    for m in messages:
        if m.context:
            lines.append(f"msgctxt {_po_quote(m.context)}")
        lines.append(f"msgid {_po_quote(m.msgid)}")
        if m.plural is None:
            lines.append('msgstr ""')
        else:
            lines += [f"msgid_plural {_po_quote(m.plural)}", 'msgstr[0] ""']
        lines.append("")
    return "\n".join(lines)


def missing(messages: list[Message], po_text: str) -> list[Message]:
    """The messages the catalog lacks, or has with an empty translation or the wrong plural shape."""
    _, entries = parse_po(po_text)
    have = {(e.context, e.msgid): e for e in entries}
    out = []
    for m in messages:
        e = have.get((m.context, m.msgid))
        if e is None or not all(e.msgstr) or (e.plural is None) != (m.plural is None):
            out.append(m)
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["pot"]:
        sys.stdout.write(pot(extract_all()))
        return 0
    if argv[:1] == ["missing"] and len(argv) == 2:
        gaps = missing(extract_all(), Path(argv[1]).read_text(encoding="utf-8"))
        for m in gaps:
            print(f"{m.context + ' | ' if m.context else ''}{m.msgid}")
        return 1 if gaps else 0
    if argv[:1] == ["json"] and len(argv) == 2:
        print(write_json(Path(argv[1])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
