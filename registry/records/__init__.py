"""Staff working on registrations one at a time: search, the record page, its changes and
exports. Every path here finds a registration through `registry.actors.access.visible_actor`, so a
province-limited account never reaches a registration of another province."""
