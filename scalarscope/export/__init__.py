"""Desktop export and import: the geometry JSON that ScalarScope-Desktop opens (numpy + json, no torch)."""

from scalarscope.export.cli_validate import main_validate
from scalarscope.export.geometry_export import (
    DECIMATE_ABOVE,
    SCHEMA_VERSION,
    geometry_document,
    geometry_text,
    write_geometry,
)
from scalarscope.export.geometry_import import geometry_from_tree, load_geometry
from scalarscope.export.loaded import (
    AnisotropySeries,
    FailureEntry,
    GeometryFile,
    Reduction,
    RunMetadata,
    ScalarSeries,
    SpectrumSeries,
    Trajectory,
)
from scalarscope.export.records import CRITERIA, FailureEvent, Professor, RunGeometry
from scalarscope.export.samples import viewer_samples
from scalarscope.export.validate import validate_geometry
from scalarscope.export.violation import Violation

__all__ = [
    "CRITERIA",
    "DECIMATE_ABOVE",
    "SCHEMA_VERSION",
    "AnisotropySeries",
    "FailureEntry",
    "FailureEvent",
    "GeometryFile",
    "Professor",
    "Reduction",
    "RunGeometry",
    "RunMetadata",
    "ScalarSeries",
    "SpectrumSeries",
    "Trajectory",
    "Violation",
    "geometry_document",
    "geometry_from_tree",
    "geometry_text",
    "load_geometry",
    "main_validate",
    "validate_geometry",
    "viewer_samples",
    "write_geometry",
]
