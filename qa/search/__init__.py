"""Stage 4, answering: the question, passage retrieval, the answering sentence and span, confidence."""
