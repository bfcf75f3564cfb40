"""HighLevel's OpenAPI specs as the sandbox reads them: registry, router, validation, generation."""
