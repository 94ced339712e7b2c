"""kzqa: cited question answering over a Country Report on Human Rights Practices."""

__version__ = "0.1.0"
