"""Operations: the request id and the line per request (`requests`), and `/metrics` for
Prometheus (`views`: who may read it; `figures`: from the database; `counters`: every serving
process's request counters). The log format itself is registry/logs.py."""
