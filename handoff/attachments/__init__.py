"""Chat attachments, framework-free: content checks, virus scanning and encrypted storage.

:mod:`.content` checks and cleans a file, :mod:`.scanner` scans it (clamd),
:mod:`.store` keeps it encrypted. The routes, the database rows and retention
live elsewhere and use these.
"""
