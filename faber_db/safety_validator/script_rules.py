"""Rules that need the whole script: new tables, table rebuilds, mixed DDL/DML.

* A table created earlier in the same script (without IF NOT EXISTS) holds no
  old data: findings about it are dropped (an index on a brand-new table
  locks nobody). A table filled by ``INSERT ... SELECT`` from an existing one
  stops counting as new.
* The SQLite rebuild pattern (CREATE new_x; INSERT INTO new_x SELECT ... FROM
  x; DROP x; ALTER TABLE new_x RENAME TO x) is one ``table_rebuild`` (info)
  instead of a drop_table, a rename_table and a data change.
* ``mixed_ddl_dml``: one warning per script that changes rows and schema.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from sqlglot import exp

from faber_db.safety_validator.findings import Hit
from faber_db.safety_validator.parsing import parse_statement
from faber_db.safety_validator.rules.base import kind_of
from faber_db.safety_validator.sqlnames import identifier_name, same_table, table_name


@dataclass
class Analysed:
    """One executed statement (top level, or inside a DO block) and its hits."""

    index: int  # position of the outer statement in the script
    text: str
    expr: exp.Expression | None  # None once analysed: the facts below keep what is needed
    hits: list[Hit]
    category: str  # ddl | dml | other
    in_routine: bool = False
    facts: Facts | None = None


@dataclass
class Facts:
    """What a statement does to table identity, for the script-level rules."""

    created: str | None = None
    filled: tuple[str, tuple[str, ...]] | None = None  # (target, source tables)
    dropped: list[str] = field(default_factory=list)
    renamed: tuple[str, str] | None = None
    writes: str | None = None  # table whose rows an INSERT/UPDATE/DELETE changes
    column_types: dict[tuple[str, str], str] = field(default_factory=dict)
    # The fast path (fastpath.py) leaves column_types to sqlglot: the dialect to parse
    # the statement with, only when a later type change needs them.
    deferred: str | None = None


def facts_of(expr: exp.Expression | None, dialect: str) -> Facts:
    """Facts of a parsed statement (unparsed statements have none)."""
    facts = Facts()
    if isinstance(expr, (exp.Insert, exp.Update, exp.Delete)) and isinstance(
        expr.this, (exp.Table, exp.Schema)
    ):
        facts.writes = table_name(expr.this, dialect)
    if isinstance(expr, exp.Create) and kind_of(expr) == "TABLE" and not expr.args.get("exists"):
        facts.created = table_name(expr.this, dialect)
    elif isinstance(expr, exp.Insert) and isinstance(expr.expression, exp.Query):
        sources = tuple(table_name(t, dialect) for t in expr.expression.find_all(exp.Table))
        facts.filled = (table_name(expr.this, dialect), sources)
    elif isinstance(expr, exp.Drop) and kind_of(expr) == "TABLE":
        facts.dropped = [table_name(t, dialect) for t in expr.args.get("tables") or []]
    elif isinstance(expr, exp.Alter) and kind_of(expr) == "TABLE":
        for action in expr.args.get("actions") or []:
            if isinstance(action, exp.AlterRename) and not expr.args.get("options"):
                facts.renamed = (table_name(expr.this, dialect), table_name(action.this, dialect))
    facts.column_types = _column_types(expr, dialect) if expr is not None else {}
    return facts


def _column_types(expr: exp.Expression, dialect: str) -> dict[tuple[str, str], str]:
    """(table, column) -> type, for every column this statement defines or retypes."""
    if isinstance(expr, exp.Create) and isinstance(expr.this, exp.Schema):
        table, definitions = expr.this.this, expr.this.expressions
    elif isinstance(expr, exp.Alter) and kind_of(expr) == "TABLE":
        table, definitions = expr.this, expr.args.get("actions") or []
    else:
        return {}
    name = table_name(table, dialect).rsplit(".", 1)[-1]
    types = {}
    for item in definitions:
        column = item.this if isinstance(item, exp.ModifyColumn) else item
        dtype = column.args.get("kind") if isinstance(column, exp.ColumnDef) else None
        if isinstance(item, exp.AlterColumn):
            dtype = item.args.get("dtype")
        if isinstance(dtype, exp.DataType) and not item.args.get("rename_from"):
            types[(name, identifier_name(column.this, dialect))] = dtype.sql().upper()
    return types


def apply_script_rules(units: list[Analysed]) -> None:
    """Run the script-level rules, editing the units' hits in place."""
    top = [unit for unit in units if not unit.in_routine]
    quiet_dml = _mark_rebuilds(top)
    quiet_dml |= _drop_new_table_hits(top)
    _drop_unchanged_types(top)
    _mixed_ddl_dml(top, quiet_dml)


def _mark_rebuilds(units: list[Analysed]) -> set[int]:
    """Replace rebuild drops/renames by table_rebuild; return the copy statements' ids."""
    copies: set[int] = set()
    index = _RebuildIndex(units)
    for i, unit in enumerate(units):
        new = unit.facts.created if unit.facts else None
        found = index.rebuild_after(i, new) if new else None
        if found is None:
            continue
        copy, drop, rename, old = found
        copies.add(id(copy))
        drop.hits = [
            h for h in drop.hits if not (h.rule == "drop_table" and same_table(h.table, old))
        ]
        rename.hits = [h for h in rename.hits if h.rule != "rename_table"]
        drop.hits.append(_rebuild_hit(old, new))
    return copies


class _RebuildIndex:
    """Positions of the units that fill, drop or rename a table, by unqualified name.

    same_table() only matches names with the same last part, so each search looks
    at the few units about that name instead of every later unit of the script.
    """

    def __init__(self, units: list[Analysed]) -> None:
        self.units = units
        self.fills: dict[str, list[int]] = {}
        self.drops: dict[str, list[int]] = {}
        self.renames: dict[str, list[int]] = {}
        for position, unit in enumerate(units):
            facts = unit.facts or Facts()
            if facts.filled and facts.filled[1]:
                self.fills.setdefault(_last(facts.filled[0]), []).append(position)
            for name in dict.fromkeys(_last(d) for d in facts.dropped):
                self.drops.setdefault(name, []).append(position)
            if facts.renamed:
                self.renames.setdefault(_last(facts.renamed[0]), []).append(position)

    def rebuild_after(self, i: int, new: str) -> tuple | None:
        """(copy, drop, rename, old) of a rebuild of new after unit i, or None."""
        copy = self._first(self.fills, new, i, lambda f: same_table(f.filled[0], new))
        if copy is None:
            return None
        old = self.units[copy].facts.filled[1][0]
        drop = self._first(
            self.drops, old, copy, lambda f: any(same_table(d, old) for d in f.dropped)
        )
        if drop is None:
            return None
        rename = self._first(self.renames, new, drop, lambda f: same_table(f.renamed[0], new))
        if rename is None or not same_table(self.units[rename].facts.renamed[1], old):
            return None
        return self.units[copy], self.units[drop], self.units[rename], old

    def _first(self, by_name: dict, name: str, after: int, matches) -> int | None:
        positions = by_name.get(_last(name), [])
        for position in positions[bisect.bisect_right(positions, after) :]:
            if matches(self.units[position].facts):
                return position
        return None


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _rebuild_hit(old: str, new: str) -> Hit:
    message = (
        f"table {old} is rebuilt: its rows are copied into {new}, {old} is dropped and {new} renamed "
        f"to {old}; columns the copy leaves out are lost, and triggers or grants on {old} must be recreated"
    )
    return Hit("table_rebuild", "info", message, old, old)


def _drop_new_table_hits(units: list[Analysed]) -> set[int]:
    """Drop hits on tables created earlier; return ids of units that only seed new tables."""
    created = _CreatedTables()
    seeding: set[int] = set()
    for unit in units:
        if unit.hits:
            unit.hits = [h for h in unit.hits if not created.holds(h.table)]
        facts = unit.facts or Facts()
        _track_created(created, facts)
        if facts.writes and created.holds(facts.writes):
            seeding.add(id(unit))
    return seeding


def _drop_unchanged_types(units: list[Analysed]) -> None:
    """A MODIFY that repeats the type this script gave the column is no type change."""
    if not any(hit.rule == "alter_column_type" for unit in units for hit in unit.hits):
        return
    known: dict[tuple[str, str], str] = {}
    for unit in units:
        types = _column_types_of(unit)
        unit.hits = [h for h in unit.hits if not _same_type(h, types, known)]
        known.update(types)


def _column_types_of(unit: Analysed) -> dict[tuple[str, str], str]:
    """The unit's column types, parsing a fast-path statement now if it was deferred."""
    facts = unit.facts
    if facts is None:
        return {}
    if facts.deferred:
        expr = parse_statement(unit.text, facts.deferred)
        facts.column_types = _column_types(expr, facts.deferred) if expr is not None else {}
        facts.deferred = None
    return facts.column_types


def _same_type(hit: Hit, types: dict, known: dict) -> bool:
    if hit.rule != "alter_column_type" or not hit.table or not hit.columns:
        return False
    key = (hit.table.rsplit(".", 1)[-1], hit.columns[0])
    return key in known and types.get(key) == known[key]


class _CreatedTables:
    """Tables created earlier in the script, grouped by unqualified name for same_table()."""

    def __init__(self) -> None:
        self.by_last: dict[str, list[str]] = {}

    def holds(self, name: str | None) -> bool:
        """True when name can denote a table created earlier."""
        if not name:
            return False
        return any(same_table(name, t) for t in self.by_last.get(_last(name), ()))

    def add(self, name: str) -> None:
        """Count name as created."""
        self.by_last.setdefault(_last(name), []).append(name)

    def discard(self, name: str) -> None:
        """Stop counting every created table that name can denote."""
        bucket = self.by_last.get(_last(name))
        if bucket:
            bucket[:] = [t for t in bucket if not same_table(t, name)]


def _track_created(created: _CreatedTables, facts: Facts) -> None:
    if facts.created:
        created.add(facts.created)
    if facts.filled and any(not created.holds(s) for s in facts.filled[1]):
        created.discard(facts.filled[0])
    for dropped in facts.dropped:
        created.discard(dropped)
    if facts.renamed and created.holds(facts.renamed[0]):
        created.discard(facts.renamed[0])
        created.add(facts.renamed[1])


def _mixed_ddl_dml(units: list[Analysed], quiet_dml: set[int]) -> None:
    dml = [u for u in units if u.category == "dml" and id(u) not in quiet_dml]
    ddl = [u for u in units if u.category == "ddl"]
    if not dml or not ddl:
        return
    message = (
        f"{len(dml)} data change(s) mixed with {len(ddl)} schema change(s) in one migration: on MySQL "
        "each DDL commits on its own, so a failure leaves the data half-migrated; on PostgreSQL the "
        "data change runs while the DDL locks are held"
    )
    dml[0].hits.append(Hit("mixed_ddl_dml", "warning", message))
