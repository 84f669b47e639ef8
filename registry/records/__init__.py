"""Staff working on registrations one at a time: search, the record page, its changes and
exports. Every path here finds a registration through `registry.actors.visibility.visible_actor` (on the web, `registry.actors.access.actor_or_404`), so a
province-limited account never reaches a registration of another province."""
