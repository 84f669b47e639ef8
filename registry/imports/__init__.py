"""Outreach bulk import: CSV/XLSX files through the same rules as the web form."""
