"""Command-line tools: actv-encode, actv-decode, actv-info."""
