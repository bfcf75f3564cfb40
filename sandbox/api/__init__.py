"""The HighLevel API v2 emulator's HTTP side: dispatcher, gate calls, handlers."""
