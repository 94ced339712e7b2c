"""Stage 6, the fronts: the CLI, the shell, the HTTP server and web page, the MCP server, and the
application layer they all call."""
