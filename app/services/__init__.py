"""Services: the registry's behaviour, free of HTTP. Each raises ``app.errors`` on failure."""
