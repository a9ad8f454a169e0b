"""Entry point for gunicorn and `flask --app wsgi`."""

import gc

from app import create_app

app = create_app()
# What the app loaded at start-up (modules, mappings, templates: ~230,000 objects) lives as
# long as the worker: kept out of the cycle collector's oldest generation, whose every pass
# would otherwise walk it all again (one every few hundred requests of a larger page).
gc.freeze()
