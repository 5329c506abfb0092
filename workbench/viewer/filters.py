"""The dataset viewer's filter grammar: ``where`` and ``orderby`` parsed into DuckDB SQL.

User text never reaches DuckDB as SQL. A hand-written tokenizer and recursive-descent parser
accept only column comparisons joined by ``and``/``or``/``not``; identifiers are checked
against the split's columns and re-quoted, literals become bound parameters. Anything else
(semicolons, comments, function calls, subqueries, unknown columns) is an ``InvalidFilter``.

Grammar (keywords are case-insensitive)::

    where      := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | predicate
    predicate  := column ( cmp_op operand
                         | "is" ["not"] "null"
                         | ["not"] ("like" | "ilike") string
                         | ["not"] "in" "(" literal ("," literal)* ")" )
    cmp_op     := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    operand    := literal | column
    literal    := string | number | "true" | "false"
    column     := name | '"' quoted name '"'
    orderby    := column ["asc" | "desc"] ("," column ["asc" | "desc"])*

>>> f = parse_where("label = 'pos' and (score >= 0.5 or text like '%good%')",
...                 columns=["label", "score", "text"])
>>> f.sql
'("label" = ? AND ("score" >= ? OR "text" LIKE ?))'
>>> f.params
['pos', 0.5, '%good%']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from workbench.errors import InvalidRequest

MAX_LENGTH = 4000
MAX_DEPTH = 32
MAX_IN_VALUES = 1000

WHERE_HELP = (
    "Allowed: comparisons of a column with a literal or another column (= != < <= > >=), "
    "'is null', 'is not null', 'like', 'ilike', 'in (...)', combined with and, or, not "
    "and parentheses; strings in single quotes, column names bare or in double quotes, "
    "numbers, true and false."
)
ORDER_HELP = "Allowed: a comma-separated list of column names, each optionally followed by asc or desc."

KEYWORDS = {"and", "or", "not", "is", "null", "like", "ilike", "in", "true", "false", "asc", "desc"}
# Words that only make sense as SQL: reject them by name rather than as unknown columns.
SQL_WORDS = {
    "select",
    "from",
    "where",
    "union",
    "drop",
    "delete",
    "insert",
    "update",
    "create",
    "alter",
    "attach",
    "copy",
    "pragma",
    "install",
    "load",
    "exec",
    "execute",
    "call",
    "with",
    "join",
    "limit",
    "offset",
    "having",
    "group",
    "order",
    "set",
    "case",
    "cast",
    "exists",
    "between",
}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_0-9.]))
  | (?P<string>'(?:[^']|'')*')
  | (?P<qident>"(?:[^"]|"")+")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|<>|!=|==|=|<|>)
  | (?P<punct>[(),])
""",
    re.VERBOSE,
)


_WORD = re.compile(r"[^\s(),]+|.")


def invalid(message: str, *, help: str = WHERE_HELP) -> InvalidRequest:
    return InvalidRequest(f"{message} {help}", code="InvalidFilter")


@dataclass(frozen=True)
class Token:
    kind: str  # number | string | ident | keyword | op | punct | end
    value: str
    pos: int


@dataclass
class Filter:
    """A parsed ``where``: DuckDB SQL with ``?`` placeholders, and their values in order."""

    sql: str
    params: list[object] = field(default_factory=list)


def tokenize(text: str, *, help: str = WHERE_HELP) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise invalid(f"The expression is longer than {MAX_LENGTH} characters.", help=help)
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            rest = text[pos : pos + 2]
            what = (
                "A comment"
                if rest in ("--", "/*")
                else "A statement separator (;)"
                if rest.startswith(";")
                else "An unterminated string"
                if rest.startswith("'")
                else "An unterminated quoted name"
                if rest.startswith('"')
                else f"The text {_WORD.match(text, pos).group()!r}"  # type: ignore[union-attr]
            )
            raise invalid(f"{what} at position {pos} is not allowed.", help=help)
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "name":
            lower = value.lower()
            if lower in KEYWORDS:
                tokens.append(Token("keyword", lower, pos))
            else:
                tokens.append(Token("ident", value, pos))
        elif kind == "qident":
            tokens.append(Token("qident", value[1:-1].replace('""', '"'), pos))
        elif kind == "string":
            tokens.append(Token("string", value[1:-1].replace("''", "'"), pos))
        elif kind != "ws":
            tokens.append(Token(kind, value, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Parser:
    def __init__(self, text: str, columns: Sequence[str], help: str) -> None:
        self.help = help
        self.tokens = tokenize(text, help=help)
        self.i = 0
        self.columns = list(columns)
        self.params: list[object] = []

    # -- helpers ----------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at_keyword(self, *words: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.value in words

    def expect_punct(self, value: str) -> None:
        if self.tok.kind != "punct" or self.tok.value != value:
            raise self.error(f"Expected {value!r}")
        self.advance()

    def describe(self, tok: Token) -> str:
        if tok.kind == "end":
            return "the end of the expression"
        if tok.kind == "string":
            return f"the string '{tok.value}'"
        return f"{tok.value!r}"

    def error(self, expected: str, tok: Token | None = None) -> InvalidRequest:
        tok = tok or self.tok
        return invalid(f"{expected}, found {self.describe(tok)} at position {tok.pos}.", help=self.help)

    def column(self) -> str:
        tok = self.tok
        if tok.kind not in ("ident", "qident"):
            raise self.error("Expected a column name")
        if tok.kind == "ident" and tok.value.lower() in SQL_WORDS:
            raise invalid(f"SQL keyword {tok.value!r} at position {tok.pos} is not allowed.", help=self.help)
        self.advance()
        if self.tok.kind == "punct" and self.tok.value == "(":
            raise invalid(
                f"Function calls such as {tok.value}(...) at position {tok.pos} are not allowed.",
                help=self.help,
            )
        if tok.value not in self.columns:
            names = ", ".join(self.columns[:50]) + (", ..." if len(self.columns) > 50 else "")
            raise InvalidRequest(
                f"Unknown column {tok.value!r} at position {tok.pos}; the "
                f"columns are: {names}. Quote names with spaces or capitals "
                'in double quotes ("My Column").',
                code="InvalidFilter",
            )
        return quote_identifier(tok.value)

    def literal(self) -> object:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return tok.value
        if tok.kind == "number":
            self.advance()
            text = tok.value
            if re.fullmatch(r"[-+]?\d+", text):
                return int(text)
            return float(text)
        if tok.kind == "keyword" and tok.value in ("true", "false"):
            self.advance()
            return tok.value == "true"
        raise self.error("Expected a literal (a 'string', a number, true or false)")

    def bind(self, value: object) -> str:
        self.params.append(value)
        return "?"

    # -- grammar ----------------------------------------------------------------------------
    def where(self) -> Filter:
        if self.tok.kind == "end":
            raise invalid("The filter is empty.", help=self.help)
        sql = self.or_expr(0)
        if self.tok.kind != "end":
            raise self.error("Expected 'and', 'or' or the end of the expression")
        return Filter(sql, self.params)

    def or_expr(self, depth: int) -> str:
        parts = [self.and_expr(depth)]
        while self.at_keyword("or"):
            self.advance()
            parts.append(self.and_expr(depth))
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def and_expr(self, depth: int) -> str:
        parts = [self.not_expr(depth)]
        while self.at_keyword("and"):
            self.advance()
            parts.append(self.not_expr(depth))
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def not_expr(self, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise invalid(f"The expression nests deeper than {MAX_DEPTH} levels.", help=self.help)
        if self.at_keyword("not"):
            self.advance()
            return f"(NOT {self.not_expr(depth + 1)})"
        if self.tok.kind == "punct" and self.tok.value == "(":
            self.advance()
            inner = self.or_expr(depth + 1)
            self.expect_punct(")")
            return inner
        return self.predicate()

    def predicate(self) -> str:
        if self.tok.kind in ("number", "string") or self.at_keyword("true", "false", "null"):
            raise self.error("Expected a column name on the left of a comparison")
        left = self.column()
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            op = {"==": "=", "<>": "!="}.get(tok.value, tok.value)
            if self.tok.kind in ("ident", "qident"):
                right = self.column()
            else:
                right = self.bind(self.literal())
            return f"{left} {op} {right}"
        if self.at_keyword("is"):
            self.advance()
            negate = self.at_keyword("not")
            if negate:
                self.advance()
            if not self.at_keyword("null"):
                raise self.error("Expected 'null' after 'is'")
            self.advance()
            return f"{left} IS {'NOT ' if negate else ''}NULL"
        negate = self.at_keyword("not")
        if negate:
            self.advance()
        if self.at_keyword("like", "ilike"):
            word = self.advance().value.upper()
            if self.tok.kind != "string":
                raise self.error(f"Expected a 'pattern' in single quotes after {word.lower()}")
            pattern = self.advance().value
            return f"{left} {'NOT ' if negate else ''}{word} {self.bind(pattern)}"
        if self.at_keyword("in"):
            self.advance()
            self.expect_punct("(")
            values = [self.bind(self.literal())]
            while self.tok.kind == "punct" and self.tok.value == ",":
                self.advance()
                values.append(self.bind(self.literal()))
                if len(values) > MAX_IN_VALUES:
                    raise invalid(f"More than {MAX_IN_VALUES} values in 'in (...)'.", help=self.help)
            self.expect_punct(")")
            return f"{left} {'NOT ' if negate else ''}IN ({', '.join(values)})"
        raise self.error("Expected a comparison (=, !=, <, <=, >, >=), 'is null', 'like' or 'in'")


def parse_where(text: str, *, columns: Sequence[str]) -> Filter:
    """Parse a ``where`` expression over ``columns``; raise ``InvalidRequest(InvalidFilter)``."""
    return _Parser(text, columns, WHERE_HELP).where()


def parse_orderby(text: str, *, columns: Sequence[str]) -> str:
    """Parse ``col [asc|desc], ...`` into DuckDB SQL (identifiers checked and quoted).

    >>> parse_orderby('score desc, "Name"', columns=["score", "Name"])
    '"score" DESC NULLS LAST, "Name" ASC NULLS LAST'
    """
    p = _Parser(text, columns, ORDER_HELP)
    if p.tok.kind == "end":
        raise invalid("The ordering is empty.", help=ORDER_HELP)
    parts = []
    while True:
        col = p.column()
        direction = "ASC"
        if p.at_keyword("asc", "desc"):
            direction = p.advance().value.upper()
        parts.append(f"{col} {direction} NULLS LAST")
        if p.tok.kind == "punct" and p.tok.value == ",":
            p.advance()
            continue
        if p.tok.kind != "end":
            raise p.error("Expected ',', 'asc', 'desc' or the end of the ordering")
        return ", ".join(parts)
