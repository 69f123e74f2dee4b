"""Data quality: duplicates and the scorecard (imports and exports: :mod:`crmlib.transfer`)."""
