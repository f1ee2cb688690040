"""What the map builders draw: plain, immutable data (the services decide who sees what)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from shapely.geometry.base import BaseGeometry

Value = float | int | None


@dataclass(frozen=True)
class AreaShape:
    """A gemeente, wijk or buurt with its geometry in RD New (EPSG:28992)."""

    code: str
    name: str
    level: str
    gemeente_code: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class Measure:
    """One choropleth: a value per area, or one value per projection month (``monthly``)."""

    key: str
    title: str
    values: Mapping[str, Value | Sequence[Value]]
    higher_is_worse: bool = False
    monthly: bool = False
    # what an area without a value says (on the map, in its legend and in the table): small-cell
    # protected measures say that the figure is hidden, not missing
    none_label: str = "geen gegevens"


@dataclass(frozen=True)
class OptionPoint:
    """A housing option as a marker (RD New coordinates); ``lines`` are its popup, as text."""

    code: str
    type_name: str
    x: float
    y: float
    lines: tuple[str, ...]
    colour: str = "#0b5cad"


@dataclass(frozen=True)
class NoGoShape:
    """A young person's no-go area (RD New). Only the own regisseur's map may carry these."""

    label: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class Anchor:
    label: str
    x: float
    y: float


@dataclass(frozen=True)
class SupplyMapData:
    """A supply map for one scenario at one level (gemeente, wijk or buurt)."""

    title: str
    level: str
    areas: tuple[AreaShape, ...]
    measures: tuple[Measure, ...]
    months: tuple[date, ...] = ()
    options: tuple[OptionPoint, ...] = ()
    outlines: tuple[AreaShape, ...] = ()  # gemeente borders drawn over wijken or buurten
    notes: tuple[str, ...] = field(default=())
    scenario: str = ""  # the scenario's Dutch name (column heads of the comparison table)
    # a light base drawn under everything (real gemeente polygons around the areas; no tiles)
    background: tuple[AreaShape, ...] = ()
    attribution: tuple[str, ...] = ()  # sources of the boundaries, shown on the map


@dataclass(frozen=True)
class OptionsMapData:
    """The regisseur's map: candidate options around the young person's anchors."""

    title: str
    areas: tuple[AreaShape, ...]
    options: tuple[OptionPoint, ...]
    anchors: tuple[Anchor, ...] = ()
    no_go: tuple[NoGoShape, ...] = ()
    background: tuple[AreaShape, ...] = ()
    attribution: tuple[str, ...] = ()
