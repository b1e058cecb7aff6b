"""Batch work over large inputs on Dask distributed (issue 18): `citygrid batch locate|geocode|heat`."""
