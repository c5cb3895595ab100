"""Pages a person reads in a browser: the home page at `/` and the dashboard at `/__admin/ui`.

Served by the mock itself from strings and files in this package: no build step, no external assets.
"""
