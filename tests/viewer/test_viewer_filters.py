"""The viewer's filter grammar: what it accepts, the SQL it makes, and what it refuses."""

from __future__ import annotations

import pytest

from workbench.errors import InvalidRequest
from workbench.viewer.filters import parse_orderby, parse_where

COLUMNS = ["id", "text", "score", "label", "my col", 'we"ird', "select"]


@pytest.mark.parametrize(
    ("where", "sql", "params"),
    [
        ("id = 3", '"id" = ?', [3]),
        ("score >= -1.5e2", '"score" >= ?', [-150.0]),
        ("label != 'it''s'", '"label" != ?', ["it's"]),
        ("label <> 'a'", '"label" != ?', ["a"]),
        ("id == 1", '"id" = ?', [1]),
        ("id < score", '"id" < "score"', []),
        ("text IS NULL", '"text" IS NULL', []),
        ("text is not null", '"text" IS NOT NULL', []),
        ("text like '%a_b%'", '"text" LIKE ?', ["%a_b%"]),
        ("text not ilike 'X%'", '"text" NOT ILIKE ?', ["X%"]),
        ("label in ('pos', 'neg')", '"label" IN (?, ?)', ["pos", "neg"]),
        ("id not in (1, 2.5, true)", '"id" NOT IN (?, ?, ?)', [1, 2.5, True]),
        ('"my col" = 1 and "we""ird" = 2', '("my col" = ? AND "we""ird" = ?)', [1, 2]),
        ('"select" = 1', '"select" = ?', [1]),
        (
            "not id = 1 or (score > 0 and not (label = 'x'))",
            '((NOT "id" = ?) OR ("score" > ? AND (NOT "label" = ?)))',
            [1, 0, "x"],
        ),
        (
            "id = 1 and score = 2 and label = 'c' or text is null",
            '(("id" = ? AND "score" = ? AND "label" = ?) OR "text" IS NULL)',
            [1, 2, "c"],
        ),
    ],
)
def test_accepted_filters_become_bound_sql(where: str, sql: str, params: list[object]) -> None:
    f = parse_where(where, columns=COLUMNS)
    assert f.sql == sql
    assert f.params == params
    assert type(f.params[0]) is type(params[0]) if params else True


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("1=1; DROP TABLE jobs", "position"),
        ("id = 1; DROP TABLE jobs", "statement separator"),
        ("id = 1 -- the rest", "comment"),
        ("id = 1 /* hidden */", "comment"),
        ("lower(text) = 'a'", "Function calls"),
        ("id = (select 1)", "Expected a literal"),
        ("id in (select id from jobs)", "Expected a literal"),
        ("id = 1 union select * from jobs", "'*'"),
        ("select = 1", "SQL keyword"),
        ("nope = 1", "Unknown column 'nope'"),
        ('"nope" = 1', "Unknown column 'nope'"),
        ("id = 'open", "unterminated string"),
        ('"id = 1', "unterminated quoted name"),
        ("id", "Expected a comparison"),
        ("id = ", "Expected a literal"),
        ("'a' = text", "column name on the left"),
        ("(id = 1", "Expected ')'"),
        ("id = 1)", "Expected 'and', 'or'"),
        ("text like 3", "pattern"),
        ("text is 3", "Expected 'null'"),
        ("", "empty"),
        ("id = 1 and", "Expected a column name"),
        ("id = 0x10", "The text '0x10'"),
        ("id = $1", "The text '$1'"),
        ("id = ?", "The text '?'"),
        ("text = \\'a\\'", "The text"),
        ("id = 1 union all", "Expected 'and', 'or'"),
        ("(" * 40 + "id = 1" + ")" * 40, "nests deeper"),
        ("id = 1 or " * 500 + "id = 1", "longer than"),
    ],
)
def test_rejected_filters_say_what_is_allowed(where: str, says: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        parse_where(where, columns=COLUMNS)
    assert err.value.code == "InvalidFilter"
    assert says in err.value.message
    if "Unknown column" not in says:
        assert "Allowed:" in err.value.message


def test_orderby() -> None:
    assert parse_orderby("score desc, id", columns=COLUMNS) == '"score" DESC NULLS LAST, "id" ASC NULLS LAST'
    assert parse_orderby('"my col" ASC', columns=COLUMNS) == '"my col" ASC NULLS LAST'
    for bad in ("random()", "id; drop table jobs", "id desc, (select 1)", "nope", "id sideways", "1", ""):
        with pytest.raises(InvalidRequest) as err:
            parse_orderby(bad, columns=COLUMNS)
        assert err.value.code == "InvalidFilter"
