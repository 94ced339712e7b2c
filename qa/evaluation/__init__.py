"""Stage 5, measuring: the eval sets and their metrics."""
