"""Services over the sandbox's stored resources."""
