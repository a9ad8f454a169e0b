"""Domain errors raised by use-cases; views turn them into messages at the right field."""


class DomainError(Exception):
    """A broken business rule. ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
