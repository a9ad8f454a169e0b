"""Personal data: what the site holds about a person, a learner's download of all of it,
the anonymisation of a leaver, and the retention rule that applies both on a schedule.

Built like Moodle's Privacy API: each domain's piece is declared once, as a provider
(``providers/``), saying which tables hold rows about a person, which columns record what
a person did, and how to export and erase them; ``registry.py`` gathers them, and a test
walks the metadata so that a new table that names a person cannot be forgotten silently.
"""
