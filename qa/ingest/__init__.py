"""Stage 1, reading: report files (text, PDF, web page) → layout → the `Report` tree."""
