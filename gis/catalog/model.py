"""The shape of a catalog entry: a published table, its fields, and what each consumer needs of it.

One `Layer` says everything the rest of the code needs to know about a table it publishes: the OGC API
reads its titles, properties and tile settings; the heat layers its `heat` entry; the importer its `io`
rules and the file names of its fields; the H3 maintenance its `h3` flag; the change counters its
`tables`. Consumers derive their views from here and never restate a table's facts.

SQL fragments here (`expr`, `where`, `source`, `select`) are trusted configuration, never user input:
user values always travel as query parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

#: Stored value types (the importer's vocabulary): `code` is a digit string (leading zeros matter),
#: `textarr` a text[] written in files as `{a/b/c}` (GB/T 30428.3 Alias/OldName), `json` a jsonb
#: object, `wkt` a second geometry given as WKT.
FIELD_TYPES = ("text", "code", "int", "float", "bool", "date", "timestamp", "textarr", "json", "wkt")

#: Stored type -> (JSON type published by the OGC API, SQL type literals compared with it take).
JSON_TYPES: dict[str, tuple[str, str | None]] = {
    "text": ("string", "text"), "code": ("string", "text"), "int": ("integer", "numeric"),
    "float": ("number", "numeric"), "bool": ("boolean", "boolean"), "date": ("date", "date"),
    "timestamp": ("date-time", "timestamptz"), "textarr": ("array", None), "json": ("object", None),
    "wkt": ("object", None),
}

#: Stored type -> PostgreSQL type of the importer's staging columns.
PG_TYPES = {
    "text": "text", "code": "text", "int": "bigint", "float": "double precision", "bool": "boolean",
    "date": "date", "timestamp": "timestamptz", "textarr": "text[]", "json": "jsonb", "wkt": "geometry",
}


@dataclass(frozen=True)
class Term:
    """One value of a kind vocabulary: the stored value, its Chinese label, other names files use."""

    value: str
    label: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocab:
    """A closed list of values (kinds, levels, classes) with their Chinese labels."""

    terms: tuple[Term, ...]
    #: An open vocabulary labels the values it knows but the importer accepts any value (case sources:
    #: other systems send their own channel names, which must not be refused).
    open: bool = False

    @cached_property
    def labels(self) -> dict[str, str]:
        return {t.value: t.label for t in self.terms}

    @cached_property
    def choices(self) -> dict[str, tuple[str, ...]]:
        """value -> names accepted on import (the label and the synonyms)."""
        return {t.value: tuple(dict.fromkeys((t.label, *t.synonyms))) for t in self.terms}

    def label_sql(self, column: str) -> str:
        """A CASE expression giving the label of `column` (values and labels are configuration)."""
        whens = " ".join(f"WHEN '{t.value}' THEN '{t.label}'" for t in self.terms)
        return f"CASE {column} {whens} END"


def vocab(*terms: tuple[str, ...], open: bool = False) -> Vocab:
    """`vocab(("drop_point", "垃圾投放点", "投放点"), …)`: value, label, synonyms."""
    return Vocab(tuple(Term(t[0], t[1], tuple(t[2:])) for t in terms), open)


@dataclass(frozen=True)
class Field:
    """One column of a layer: how it is published, imported, exported and checked.

    `names` are the names a file may give it (matched ignoring case, `_`, `-` and spaces), the export
    name first; the GB/T 30428.3 layers list the standard's property names there.
    """

    name: str
    title: str
    type: str = "text"
    names: tuple[str, ...] = ()
    required: bool = False
    vocab: Vocab | None = None
    #: Computed: a SQL expression over the row alias `t` (published, never imported).
    expr: str = ""
    publish: bool = True
    queryable: bool = True
    imported: bool = True
    #: Named import checks of this field's values (see gis.io.checks.FIELD_CHECKS), in order.
    checks: tuple[str, ...] = ()
    #: How the importer fills the field when a file leaves it out (see gis.io.mapping.DERIVATIONS).
    derive: tuple | None = None
    #: What error messages call the field (default: its name with spaces).
    label: str = ""
    #: SQL literal the importer stores when a row leaves the field empty (NOT NULL columns with a default).
    default: str | None = None

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}")
        if self.expr:
            object.__setattr__(self, "imported", False)
        if self.type in ("textarr", "json", "wkt"):
            object.__setattr__(self, "queryable", False)

    # -- the OGC view ---------------------------------------------------------------------------

    @property
    def json_type(self) -> str:
        return JSON_TYPES[self.type][0]

    @property
    def sql(self) -> str:
        return self.expr or f"t.{self.name}"

    @property
    def sql_type(self) -> str | None:
        return JSON_TYPES[self.type][1]

    @property
    def filterable(self) -> bool:
        return self.queryable and self.sql_type is not None

    # -- the import/export view -----------------------------------------------------------------

    @property
    def column(self) -> str:
        return self.name

    @property
    def sources(self) -> tuple[str, ...]:
        return self.names

    @property
    def choices(self) -> dict[str, tuple[str, ...]] | None:
        return self.vocab.choices if self.vocab and not self.vocab.open else None

    @property
    def export_name(self) -> str:
        return self.names[0] if self.names else self.name

    def accepted_names(self) -> tuple[str, ...]:
        return (*self.names, self.name)

    @property
    def message_label(self) -> str:
        return self.label or self.name.replace("_", " ")


@dataclass(frozen=True)
class Rollup:
    """The monthly resolution-8 rollup of a table (migration 0007; its triggers must agree)."""

    part: str    # column stored as `part`
    weight: str  # column summed into `w`
    time: str    # column bucketed into `period`


@dataclass(frozen=True)
class Heat:
    """A layer as a heat source (`/api/layers/heat?source=<layer id>`)."""

    title: str = ""
    time: str | None = None
    #: How `category=` filters: "class" (大类/小类 columns `major`, `minor`) or a text column.
    category: str | None = None
    #: Weight names accepted by `weight=` -> SQL column.
    weights: dict[str, str] = field(default_factory=dict)
    default_weight: str | None = None
    #: For sources that are not a plain table: a SELECT yielding key, geom and the columns above.
    select: str | None = None
    #: The source's condition as values of the rollup's part column (when it is one).
    parts: tuple[str, ...] | None = None
    rollup: Rollup | None = None
    #: Position in the list of sources the web map offers (lower first).
    rank: int = 100


@dataclass(frozen=True)
class Import:
    """How files load into the layer (`citygrid import <layer id or alias>`)."""

    key: tuple[str, ...]                     # columns identifying a feature (duplicate checks)
    geometry: str | None = "Point"           # Point, LineString, MultiPolygon, or None (attribute table)
    aliases: tuple[str, ...] = ()
    gbt: bool = False                        # a GB/T 30428.3 geocoding layer: export uses those names
    extra_json: str | None = None            # unmapped file fields go into this jsonb column
    fixed: dict[str, str] = field(default_factory=dict)   # constant columns (components.kind)
    order: str = "row_no"                    # insert order (parents before children)
    #: Named checks over whole rows (see gis.io.checks.LAYER_CHECKS), after the field checks.
    checks: tuple[str, ...] = ()
    #: Checked against the loaded districts' extent (a wrong --crs shows there).
    in_district: bool = True
    #: Rows of a file whose key code has this many digits belong to another layer: (digits, layer id).
    #: GB/T 30428.3's 区域 files hold unit grids (15 digits) besides regions; they load into unit_grids.
    route: tuple[int, str] | None = None
    #: Named reports over the rows just inserted (see gis.io.checks.AFTER_INSERT), as warnings.
    after: tuple[str, ...] = ()
    #: Rows without a geometry are placed by this placer (gis.io.place; "address": the geocoder) reading
    #: this field; where it cannot place a row, the row is rejected with the placer's reason.
    place: tuple[str, str] | None = None


@dataclass(frozen=True)
class Scope:
    """How a layer is limited to a principal's area (gis/security/scope.py builds the condition).

    `code`: a column holding a hierarchical region code (9 street, 12 community or 15 unit-grid digits,
    `digits`): a row is in an area whose region code is a prefix of it. Rows whose code is empty, and
    areas the column cannot decide (a community against a street column, a work grid), fall back to
    the geometry (ST_Intersects with the area). `vehicle`: a column holding a vehicle id: the row belongs
    to the areas of the vehicle's fleet (`fleet_areas`, migration 0013). The default: geometry only.
    """

    code: str | None = None
    digits: int = 0
    vehicle: str | None = None


@dataclass(frozen=True, eq=False)
class Layer:
    """One published table, or a published view of one (compared and hashed by identity)."""

    id: str
    title: str
    title_en: str
    description: str
    table: str
    geometry_type: str                   # Point, LineString, MultiPolygon, Geometry
    fields: tuple[Field, ...]
    id_column: str = "id"
    id_type: str = "string"              # string or integer
    geometry: str = "geom"
    #: Rows come from this parenthesised SELECT instead of the table (e.g. vehicles' last position).
    source: str | None = None
    where: str | None = None             # fixed filter (per-kind views)
    #: LEFT JOINs of look-up tables (one row per row of `t`) whose columns properties read, e.g. the
    #: category names: one join per page costs PostgreSQL a quarter less than a sub-select per property.
    joins: str = ""
    temporal: tuple[str, str | None] | None = None   # (start column, end column or None)
    #: Tables whose change counters version the layer (default: its table).
    depends: tuple[str, ...] = ()
    cacheable: bool = True               # False when a source table has no change counter
    keywords: tuple[str, ...] = ()
    publish: bool = True                 # an OGC API collection
    tiles: bool = True
    min_zoom: int = 0
    max_zoom: int = 22
    #: Properties that tiles below `tile_detail_zoom` carry (empty: all of them at every zoom).
    tile_summary: tuple[str, ...] = ()
    tile_detail_zoom: int = 14
    #: Point layers too dense to draw one by one at low zoom: tiles asked with `?cluster=Z` are, below
    #: zoom Z, clusters per cell counting the points by these properties (api/ogc/tiles.py).
    tile_cluster_by: tuple[str, ...] = ()
    heat: Heat | None = None
    #: The table keeps a resolution-15 H3 cell per point (`h3_cell`), filled by whoever loads it.
    h3: bool = False
    io: Import | None = None
    #: How messages name one feature, and the column that identifies it there.
    noun: str = "feature"
    label_column: str = ""
    #: OGC API – Features Part 4: the role that may create, replace, update and delete features
    #: (None: read-only). Writes reuse the `io` rules (conversion and named checks), so a writable
    #: layer must have them.
    write: str | None = None
    #: How reads and writes are limited to a principal's area (default: by geometry).
    scope: Scope = Scope()
    #: Reads of this collection need a key or session (None: as CITYGRID_READ_REQUIRES_KEY says).
    read_requires_key: bool | None = None

    # -- derived --------------------------------------------------------------------------------

    def __post_init__(self) -> None:
        if self.write is not None and self.io is None:
            raise ValueError(f"layer {self.id}: a writable layer needs import rules (io) for its validation")

    @property
    def tables(self) -> tuple[str, ...]:
        return self.depends or (self.table,)

    @cached_property
    def properties(self) -> tuple[Field, ...]:
        """The published properties, in publication order."""
        return tuple(f for f in self.fields if f.publish)

    @cached_property
    def _by_name(self) -> dict[str, Field]:
        return {p.name: p for p in self.properties}

    def prop(self, name: str) -> Field | None:
        return self._by_name.get(name)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def id_sql(self) -> str:
        return f"t.{self.id_column}"

    @property
    def geom_sql(self) -> str:
        return f"t.{self.geometry}"

    @property
    def etag_sql(self) -> str:
        """The ETag of a stored row (GET answers it, Part 4's If-Match compares it). For a table, the
        row version `xmin`: every write of the row, a trigger's included, gives it a new one, and
        reading it costs nothing (a digest of the row's text cost PostgreSQL ~40 % more CPU per
        single-item read). A derived source has no row version: a digest of its text."""
        return "md5(t::text)" if self.source else "t.xmin::text"

    @property
    def from_sql(self) -> str:
        return f"{self.source or self.table} AS t{self.joins_sql}"

    @property
    def joins_sql(self) -> str:
        """The look-up joins (with a leading space), for SQL that renames a subset of rows to `t`."""
        return f" {self.joins}" if self.joins else ""

    @property
    def base_where(self) -> str:
        return self.where or "TRUE"

    @cached_property
    def tile_properties(self) -> tuple[Field, ...]:
        return tuple(p for p in self.properties if p.json_type not in ("array", "object"))

    def tile_properties_at(self, z: int) -> tuple[Field, ...]:
        """The properties a tile of zoom `z` carries."""
        if self.tile_summary and z < self.tile_detail_zoom:
            return tuple(p for p in self.tile_properties if p.name in self.tile_summary)
        return self.tile_properties

    @property
    def key_sql_type(self) -> str:
        return "bigint" if self.id_type == "integer" else "text"

    @cached_property
    def vocabularies(self) -> dict[str, dict[str, str]]:
        """field -> {value: Chinese label}, for every field with a kind vocabulary."""
        return {f.name: f.vocab.labels for f in self.fields if f.vocab}
