"""Stage 2, representing text: the tokeniser and BM25, the sentence encoder, late interaction."""
