"""OGC API – Features (Parts 1, 2, 3) and Tiles (MVT) over the published collections.

The hot paths are CityGrid's own async routers (see the module docstrings of `features` and
`tiles`); the collections are configuration (`collections.py`).
"""
