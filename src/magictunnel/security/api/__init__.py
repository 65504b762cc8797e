"""REST API of the security services, one router per service, all under /api/security."""
