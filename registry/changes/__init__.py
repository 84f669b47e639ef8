"""Staff pages that change a registration: correct (or record a change of circumstances),
deactivate, reactivate, merge. Thin over registry.actors.lifecycle, like the `actors` CLI."""
