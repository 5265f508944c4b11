"""The incremental scanner: walks library folders, catalogues photos, hands new ones to face analysis."""
