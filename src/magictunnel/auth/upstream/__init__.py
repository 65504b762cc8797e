"""OAuth for remote MCP servers that require it: discovery, client registration, sign-in
(authorization code + PKCE, device code), background refresh, tokens kept in the vault."""
