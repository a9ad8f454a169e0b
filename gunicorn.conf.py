"""gunicorn settings read from the project folder (``gunicorn wsgi:app``).

Request lines up to 8,190 characters reach the app, which refuses anything over 2,000 with
its own "Address too long" page. A longer request line, or headers larger than gunicorn
reads, never reaches the app: the worker (app/serving.py) then asks the app for the same
page (414, or 431 for the headers) instead of writing gunicorn's bare one.
"""

limit_request_line = 8190
worker_class = "app.serving.Worker"
