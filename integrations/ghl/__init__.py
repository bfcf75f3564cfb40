"""Everything that speaks HighLevel: the one HTTP door, OAuth, errors, the rate limiter."""
