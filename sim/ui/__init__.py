"""The browser UI: a Mesa SolaraViz app (``app``), its views, and how it is served offline.

Nothing here imports solara, so ``tierlab ui`` checks its inputs and the asset cache first.
"""
