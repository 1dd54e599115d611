"""storage: document stores (embedded SQLite, MongoDB), catalog read-back, exporters.

Arrives with issue 5/7.
"""
