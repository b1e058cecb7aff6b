"""Import and export of layers: GeoJSON, GeoPackage, Shapefile and CSV in; GeoJSON and GeoPackage out.

Engine entry points: `gis.io.load.import_file` and `gis.io.export.export_layer`.
"""
