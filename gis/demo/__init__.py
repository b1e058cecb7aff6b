"""The demo district: a deterministic generator of 310113 宝山区 (real codes and town names, synthetic
geometry, labelled so in dataset_meta) at the real scale of a district, and its COPY loader.

lattice → roads → addresses (compounds, lanes, doorplates, POIs) → assets (components, waste facilities,
work grids) → fleet (vehicles, routes, one day of tracks) → events (cases, waste records); generate.py
assembles the tables, load.py writes them, export.py writes GeoJSON, cli.py registers `citygrid demo`.
"""
