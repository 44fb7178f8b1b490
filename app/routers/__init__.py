"""HTTP routers: parse, call one service, return. No business rules here."""
