"""Data in, data out, and its quality: templates, imports, exports, duplicates, scorecard."""
