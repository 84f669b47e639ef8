"""The job queue: imports (and the search for duplicates after them) run by RQ workers on
any host when REGISTRY_REDIS_URL is set; in a thread of the starting process otherwise."""
