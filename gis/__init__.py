"""CityGrid core: settings, database, models, CRS, codes, grid engine, import/export, demo data, CLI.

Nothing in this package imports from `geocoder`, `layers` or `api`: dependencies point down.
"""
