"""gunicorn settings read from the project folder (``gunicorn wsgi:app``).

Request lines up to 8,190 characters reach the app, which refuses anything over 2,000 with
its own "Address too long" page rather than the server's bare one.
"""

limit_request_line = 8190
