"""Export: highlight reels and editor timelines from stored results."""
