"""A simulated Polygon: a deterministic synthetic market served over the vendor's REST API and
WebSocket protocol on one loopback port. Entry point: ``marketsim.server.MarketSimServer``."""
