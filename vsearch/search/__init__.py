"""Search: text query to ranked moments across the library."""
