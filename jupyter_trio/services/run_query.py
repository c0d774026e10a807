"""The run table's query language, parsed (never evaluated) into the domain's ``Expr`` (runs in: server).

    lr < 1e-3 and acc.max > 0.9 and status = completed and task ~ "resnet"
    (optimizer.name = adam or optimizer.name = sgd) and not loss.last >= 1
    task in ("a", "b") and notes != "" and acc.at(3) > 0.5 and sweep is not null

- A column is a dotted name: a run's attribute (``status``, ``task``, ``duration``...), a parameter
  (``lr``, ``optimizer.lr``) or a series' aggregate (``acc.last|min|max|best|count``, ``acc.at(3)``: the
  value at the last step <= 3). A part with other characters is written in backticks: ```lr-max```.
- Operators: ``= != < <= > >=``, ``~`` / ``!~`` (contains / does not contain, case-insensitive),
  ``in (v, ...)``, ``is null`` / ``is not null``; ``and``, ``or``, ``not`` and parentheses. Keywords are
  case-insensitive.
- A value is a number, a string in single or double quotes (backslash escapes the quote), or a bare word
  (``completed``, ``adam``); ``true``, ``false`` and ``null`` are those values.

A query that cannot be parsed raises :class:`QueryError` naming the position (0-based) and what was
expected there; the dialects answer it with 422.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..domain import BoolOp, ColumnRef, Comparison, Expr, Not
from ..errors import QueryError

MAX_QUERY_CHARS = 4000
MAX_DEPTH = 50  # parentheses and nots inside one another
MAX_IN_VALUES = 1000
OPERATORS = ("!=", "<=", ">=", "!~", "==", "=", "<", ">", "~")
KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false"}

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<quoted>`[^`]*`)
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*)
  | (?P<op>!=|<=|>=|!~|==|=|<|>|~)
  | (?P<punct>[().,])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number | string | word | op | punct | end
    text: str
    position: int

    @property
    def shown(self) -> str:
        return "the end of the query" if self.kind == "end" else repr(self.text)


def tokenize(text: str, what: str = "where") -> list[Token]:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(what, MAX_QUERY_CHARS, f"at most {MAX_QUERY_CHARS} characters", "more")
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] in "\"'`":
                raise QueryError(what, pos, f"a closing {text[pos]}", "the end of the query")
            raise QueryError(what, pos, "a name, a value or an operator", repr(text[pos]))
        kind = match.lastgroup or ""
        if kind == "quoted":  # a name part in backticks: any characters but the backtick
            if match.group() == "``":
                raise QueryError(what, pos, "a name between the backticks", "``")
            tokens.append(Token("name", match.group()[1:-1], pos))
        elif kind != "space":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, what: str):
        self.what = what
        self.tokens = tokenize(text, what)
        self.i = 0
        self.depth = 0

    # ---- tokens
    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def keyword(self, word: str) -> bool:
        return self.token.kind == "word" and self.token.text.lower() == word

    def take(self) -> Token:
        token = self.token
        self.i += 1
        return token

    def fail(self, expected: str) -> QueryError:
        return QueryError(self.what, self.token.position, expected, self.token.shown)

    def expect_punct(self, char: str) -> None:
        if self.token.kind != "punct" or self.token.text != char:
            raise self.fail(f"{char!r}")
        self.take()

    # ---- grammar
    def query(self) -> Expr:
        expr = self.or_expr()
        if self.token.kind != "end":
            raise self.fail("'and', 'or' or the end of the query")
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.keyword("or"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.keyword("and"):
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def not_expr(self) -> Expr:
        if self.keyword("not"):
            self.nest()
            self.take()
            item = self.not_expr()
            self.depth -= 1
            return Not(item)
        if self.token.kind == "punct" and self.token.text == "(":
            self.nest()
            self.take()
            expr = self.or_expr()
            self.expect_punct(")")
            self.depth -= 1
            return expr
        return self.comparison()

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"at most {MAX_DEPTH} nested parentheses or nots")

    def comparison(self) -> Comparison:
        column = self.column()
        if self.keyword("is"):
            self.take()
            negated = self.keyword("not")
            if negated:
                self.take()
            if not self.keyword("null"):
                raise self.fail("'null'" if negated else "'null' or 'not null'")
            self.take()
            return Comparison(column, "!=" if negated else "=", None)
        if self.keyword("in"):
            self.take()
            self.expect_punct("(")
            values = [self.value()]
            while self.token.kind == "punct" and self.token.text == ",":
                self.take()
                values.append(self.value())
                if len(values) > MAX_IN_VALUES:
                    raise self.fail(f"at most {MAX_IN_VALUES} values in 'in (...)'")
            self.expect_punct(")")
            return Comparison(column, "in", tuple(values))
        if self.token.kind != "op":
            raise self.fail("an operator (= != < <= > >= ~ !~ in is)")
        op = self.take().text
        op = "=" if op == "==" else op
        at = self.token
        value = self.value()
        if value is None and op not in ("=", "!="):
            raise QueryError(self.what, at.position, f"a value to compare with {op!r}", "null")
        if op in ("~", "!~") and not isinstance(value, str):
            raise QueryError(self.what, at.position, f"a text after {op!r}", at.shown)
        return Comparison(column, op, value)

    def column(self) -> ColumnRef:
        parts = [self.part()]
        at = None
        while self.token.kind == "punct" and self.token.text == ".":
            self.take()
            if self.keyword("at") and self.tokens[self.i + 1].text == "(":
                self.take()
                self.take()
                step = self.token
                if step.kind != "number" or not re.fullmatch(r"[-+]?\d+", step.text):
                    raise self.fail("a whole step number in at(...)")
                self.take()
                self.expect_punct(")")
                at = int(step.text)
                break
            parts.append(self.part())
        return ColumnRef(tuple(parts), at)

    def part(self) -> str:
        token = self.token
        if token.kind == "name" or (token.kind == "word" and token.text.lower() not in KEYWORDS):
            self.take()
            return token.text
        raise self.fail("a column name")

    def value(self) -> float | int | str | bool | None:
        token = self.token
        if token.kind == "number":
            self.take()
            number = float(token.text)
            return int(number) if re.fullmatch(r"[-+]?\d+", token.text) and abs(number) < 2**63 else number
        if token.kind == "string":
            self.take()
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "word":
            word = token.text.lower()
            if word in ("true", "false"):
                self.take()
                return word == "true"
            if word == "null":
                self.take()
                return None
            if word not in KEYWORDS:
                self.take()
                return token.text
        raise self.fail("a value (a number, a quoted text or a word)")


def parse_where(text: str) -> Expr | None:
    """``where`` parsed; ``None`` for an empty query (every run)."""
    if not text.strip():
        return None
    return _Parser(text, "where").query()


def parse_column(text: str, what: str = "sort") -> ColumnRef:
    """One column name (``sort=``), as the query language writes it."""
    parser = _Parser(text, what)
    column = parser.column()
    if parser.token.kind != "end":
        raise parser.fail("the end of the column name")
    return column


def parse_columns(text: str) -> tuple[ColumnRef, ...] | None:
    """``columns=a,b.max,c`` (commas between names); ``None`` when empty (every column)."""
    if not text.strip():
        return None
    parser = _Parser(text, "columns")
    columns = [parser.column()]
    while parser.token.kind == "punct" and parser.token.text == ",":
        parser.take()
        columns.append(parser.column())
    if parser.token.kind != "end":
        raise parser.fail("',' or the end of the column list")
    return tuple(columns)
