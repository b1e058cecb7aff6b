"""The grid engine: locate, automatic assignment (SQL trigger), responsibility, evaluation grids and
sampling, topology check, census figures and sync versions. Codes themselves live in `gis.codes`."""
