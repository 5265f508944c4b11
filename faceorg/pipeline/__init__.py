"""Face analysis for the scanner: detect, align and embed in batches."""
