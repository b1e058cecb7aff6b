"""Electronic fences (电子围栏): fence model and geometry, routes, the evaluation engine and its alarms.

Engines here know nothing of HTTP; the routers in `api/routers/` call them.
"""
