"""MagicTunnel: an MCP gateway with smart tool discovery."""

__version__ = "0.1.0"
