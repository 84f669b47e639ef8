"""Documents the registry hands out as files (the PDF certificate; later the record export and the
verifiable certificate): plain functions over the bundled fonts, no Flask and no database."""
