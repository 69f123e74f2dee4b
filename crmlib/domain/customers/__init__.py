"""Customer files: the customers themselves, their stored values, lifecycle refresh and
search."""
