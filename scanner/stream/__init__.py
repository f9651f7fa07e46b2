"""The stream consumer: live prices from the vendor's WebSocket -> move trigger -> scan_ticker(…, "move").

One process per vendor key (the vendor allows one connection per cluster), a standby waiting on a
Redis leader lock. Entry points: ``manage.py stream`` and :func:`scanner.stream.service.run_stream`.
"""
