"""Statistics of channel live codes (B2, E1): reads aggregated in the database
(``selectors.py``), their console pages (``views.py``) and CSV/XLSX export (``export.py``)."""
